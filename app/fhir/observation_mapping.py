"""A posted FHIR Observation as the reading body `/v1` ingest takes. Pure: no I/O.

The inverse of `app/fhir/observations.py`: an Observation this server wrote maps back to the
reading it was written from. The rules on values (units, conversions, ranges, times) are not
here: the body goes through `/v1`'s validation and ingest unchanged, so a value is accepted,
converted or refused exactly as on `/v1`.

Invariants:
- the reading type follows the Observation's LOINC code alone, among the catalog's codes
  (`app/readings/catalog.py`): a glucose code names its specimen and an LDL code its method,
  the types' default codes name neither (as `/v1` reads a body without them); a code the
  catalog lacks is refused, never guessed;
- each Quantity's unit is its UCUM `code` (else its `unit` text), passed on as sent; an
  element that would change what the value means and that the reading cannot hold (a modifier
  extension, a comparator, a unit system other than UCUM, a component the panel does not
  have, a value of another type) is refused, never dropped, as `/v1` refuses unknown fields;
- `client_id` comes from the first identifier with both a system and a value, and is the same
  for the same system and value forever (a test pins it): the identifier `urn:uuid:<u>` in
  system `urn:ietf:rfc:3986`, which this server writes for a reading's `client_id`, is `<u>`
  itself; any other is the UUID v5 of `system|value` in `IDENTIFIER_NAMESPACE`;
- only `final` results are stored: a POST creates, and an amended or corrected result would
  have to change a stored reading, which ingest never does;
- every problem names the element it is about (a FHIRPath within the Observation).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from app.readings import catalog

LOINC: Final = "http://loinc.org"
UCUM: Final = "http://unitsofmeasure.org"
URI_SYSTEM: Final = "urn:ietf:rfc:3986"
# uuid5(NAMESPACE_URL, "http://access-rpm.example/fhir/Observation.identifier"): fixed forever,
# since stored client ids were derived in it.
IDENTIFIER_NAMESPACE: Final = uuid.UUID("5e6d89ab-836c-5d5e-bf93-412fd72ccd9b")
STORED_STATUS: Final = "final"
# Where a reading's source is not a device of the patient's: an EHR or a device cloud.
SOURCE_KIND: Final = "integration"
_URN_UUID = re.compile(r"^urn:uuid:([0-9a-fA-F-]{36})$")
_PATIENT = re.compile(r"^Patient/(?P<id>[^/\s]+)$")
_DEVICE = re.compile(r"^Device/(?P<id>[^/\s]+)$")
_EFFECTIVE = ("effectiveDateTime", "effectiveInstant", "effectivePeriod", "effectiveTiming")
_VALUES = (
    "valueQuantity",
    "valueCodeableConcept",
    "valueString",
    "valueBoolean",
    "valueInteger",
    "valueRange",
    "valueRatio",
    "valueSampledData",
    "valueTime",
    "valueDateTime",
    "valuePeriod",
)


@dataclass(frozen=True, slots=True)
class Problem:
    """Why an Observation cannot be stored: a sentence, the element (a FHIRPath within the
    Observation, "" for the whole) and the issue type (http://hl7.org/fhir/issue-type)."""

    message: str
    element: str = ""
    code: str = "value"


@dataclass(slots=True)
class Mapped:
    """A reading body for `/v1`'s validation, and the element each of its fields came from."""

    body: dict[str, Any] = field(default_factory=dict)
    elements: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def put(self, name: str, value: Any, element: str) -> None:
        self.body[name] = value
        self.elements[name] = element

    def refuse(self, message: str, element: str = "", code: str = "value") -> None:
        self.problems.append(Problem(message, element, code))

    def element(self, path: str) -> str:
        """The element a `/v1` field path (`systolic`, `source.device_id`) came from."""
        return self.elements.get(path) or self.elements.get(path.split(".")[0], "")


def _code_table() -> dict[str, tuple[str, dict[str, str]]]:
    """LOINC code -> (reading type, the coded fields the code implies)."""
    table: dict[str, tuple[str, dict[str, str]]] = {
        spec.loinc: (name, {}) for name, spec in catalog.READING_TYPES.items()
    }
    implied = (
        ("glucose", "specimen", catalog.GLUCOSE_LOINC_BY_SPECIMEN),
        ("ldl", "method", catalog.LDL_LOINC_BY_METHOD),
    )
    for reading_type, name, codes in implied:
        default = catalog.READING_TYPES[reading_type].loinc
        for value, code in codes.items():
            if value is not None and code != default:
                table[code] = (reading_type, {name: value})
    return table


CODES: Final = _code_table()
_COMPONENTS: Final = {
    f.loinc: f for f in catalog.READING_TYPES["blood_pressure"].numeric if f.loinc is not None
}


def client_id(system: str, value: str) -> uuid.UUID:
    """The reading's `client_id` for the identifier `system|value` (the module's invariant)."""
    if system == URI_SYSTEM:
        match = _URN_UUID.fullmatch(value)
        if match is not None:
            return uuid.UUID(match.group(1))
    return uuid.uuid5(IDENTIFIER_NAMESPACE, f"{system}|{value}")


def subject_id(observation: Mapping[str, Any]) -> str | Problem:
    """The id of the Patient the Observation is about (`subject`: `Patient/<id>`)."""
    reference = (observation.get("subject") or {}).get("reference")
    if not isinstance(reference, str):
        return Problem("subject is required: a reference Patient/<id>", "subject", "required")
    match = _PATIENT.fullmatch(reference)
    if match is None:
        return Problem(
            f"subject must reference a Patient as Patient/<id>, not {reference[:100]!r}",
            "subject.reference",
        )
    return match.group("id")


def to_reading(observation: Mapping[str, Any]) -> Mapped:
    """The reading body of an Observation the FHIR models validated, or its problems."""
    mapped = Mapped()
    if observation.get("modifierExtension"):
        mapped.refuse(
            "modifierExtension is not understood by this server, so the Observation cannot be"
            " stored (FHIR R4 extensibility.html#modifierExtension)",
            "modifierExtension",
            "not-supported",
        )
    status = observation.get("status")
    if status != STORED_STATUS:
        mapped.refuse(
            f"status must be final, not {status!r}: only final results are stored, and an"
            " amended or corrected one would change a stored reading, which is never done",
            "status",
            "business-rule",
        )
    _identifier(observation, mapped)
    spec = _reading_type(observation, mapped)
    if spec is None:
        return mapped
    _effective(observation, spec, mapped)
    if spec.name == "blood_pressure":
        _components(observation, mapped)
    else:
        _value(observation, spec, mapped)
    device = (observation.get("device") or {}).get("reference")
    if device is None:
        mapped.put("source", {"kind": SOURCE_KIND}, "")
    elif (match := _DEVICE.fullmatch(str(device))) is not None:
        mapped.put("source", {"kind": "device", "device_id": match.group("id")}, "device")
    else:
        mapped.refuse("device must reference a Device as Device/<id>", "device.reference")
    return mapped


def key_identifier(observation: Mapping[str, Any]) -> tuple[int, str, str] | None:
    """(position, system, value) of the identifier that keys the reading: the first with both."""
    for index, identifier in enumerate(observation.get("identifier") or ()):
        system, value = identifier.get("system"), identifier.get("value")
        if system and value:
            return index, str(system), str(value)
    return None


def _identifier(observation: Mapping[str, Any], mapped: Mapped) -> None:
    key = key_identifier(observation)
    if key is not None:
        index, system, value = key
        if "|" in system:
            # `system|value` must name one identifier only (a URI has no bare '|').
            mapped.refuse(
                "identifier.system must be a URI, without '|'", f"identifier[{index}].system"
            )
            return
        mapped.put("client_id", str(client_id(system, value)), f"identifier[{index}]")
        return
    mapped.refuse(
        "identifier with a system and a value is required: it makes a resend a repeat,"
        " never a second reading",
        "identifier",
        "required",
    )


def _reading_type(observation: Mapping[str, Any], mapped: Mapped) -> catalog.ReadingTypeSpec | None:
    codings = (observation.get("code") or {}).get("coding") or ()
    found = {
        c["code"]: index
        for index, c in enumerate(codings)
        if c.get("system") == LOINC and c.get("code") in CODES
    }
    if len(found) != 1:
        sent = ", ".join(f"{c.get('system')}|{c.get('code')}" for c in codings) or "none"
        which = "more than one" if found else "no"
        mapped.refuse(
            f"code has {which} LOINC code of a reading this server stores (sent: {sent[:300]});"
            f" codes stored: {', '.join(sorted(CODES))}",
            "code",
            "code-invalid",
        )
        return None
    ((code, index),) = found.items()
    reading_type, implied = CODES[code]
    mapped.put("type", reading_type, f"code.coding[{index}]")
    for name, value in implied.items():
        mapped.put(name, value, f"code.coding[{index}]")
    return catalog.READING_TYPES[reading_type]


def _effective(
    observation: Mapping[str, Any], spec: catalog.ReadingTypeSpec, mapped: Mapped
) -> None:
    sent = [name for name in _EFFECTIVE if name in observation]
    interval = spec.name == "steps"
    if not sent:
        what = "effectivePeriod (start and end)" if interval else "effectiveDateTime"
        mapped.refuse(f"effective[x] is required: {what}", "effective", "required")
    elif sent[0] == "effectivePeriod" and interval:
        period = observation["effectivePeriod"]
        for name, part in (("effective_at", "start"), ("end_at", "end")):
            if part in period:
                mapped.put(name, period[part], f"effectivePeriod.{part}")
            else:
                mapped.refuse(f"effectivePeriod.{part} is required", "effectivePeriod", "required")
    elif sent[0] in ("effectiveDateTime", "effectiveInstant") and not interval:
        mapped.put("effective_at", observation[sent[0]], sent[0])
    else:
        what = (
            "a step count is counted over an interval: send effectivePeriod with start and end"
            if interval
            else f"a {spec.label} is measured at an instant: send effectiveDateTime"
        )
        mapped.refuse(f"{sent[0]} is not accepted here; {what}", sent[0], "not-supported")


def _quantity(
    quantity: Mapping[str, Any], element: str, mapped: Mapped
) -> tuple[Any, str | None, str]:
    """(value, unit, the element the unit came from) of a Quantity."""
    if "comparator" in quantity:
        mapped.refuse(
            f"a value with the comparator {quantity['comparator']!r} is not a measurement that"
            " can be stored",
            f"{element}.comparator",
        )
    system = quantity.get("system")
    if system is not None and system != UCUM:
        mapped.refuse(
            f"unit system must be UCUM ({UCUM}), not {str(system)[:100]!r}",
            f"{element}.system",
            "code-invalid",
        )
    unit_element = f"{element}.code" if "code" in quantity else f"{element}.unit"
    unit = quantity.get("code", quantity.get("unit"))
    return quantity.get("value"), unit, unit_element


def _other_values(observation: Mapping[str, Any], allowed: str | None) -> list[str]:
    return [name for name in _VALUES if name in observation and name != allowed]


def _value(observation: Mapping[str, Any], spec: catalog.ReadingTypeSpec, mapped: Mapped) -> None:
    numeric = spec.numeric[0]
    for name in _other_values(observation, "valueQuantity"):
        mapped.refuse(f"a {spec.label} is a valueQuantity, not {name}", name, "not-supported")
    if "component" in observation:
        mapped.refuse(f"a {spec.label} has no components", "component", "not-supported")
    quantity = observation.get("valueQuantity")
    if quantity is None:
        if not _other_values(observation, "valueQuantity"):
            mapped.refuse(
                f"valueQuantity is required: the {numeric.label} in {numeric.unit}",
                "valueQuantity",
                "required",
            )
        return
    value, unit, unit_element = _quantity(quantity, "valueQuantity", mapped)
    mapped.elements[numeric.name] = "valueQuantity.value"
    if value is not None:
        mapped.body[numeric.name] = value
    if spec.has_unit:
        if unit is not None:
            mapped.put(catalog.UNIT_FIELD, unit, unit_element)
    elif unit is not None and unit != numeric.unit:
        mapped.refuse(
            f"unit {unit!r} is not accepted for {numeric.label}; use {numeric.unit}",
            unit_element,
            "code-invalid",
        )


def _components(observation: Mapping[str, Any], mapped: Mapped) -> None:
    for name in _other_values(observation, None):
        mapped.refuse(
            f"a blood pressure panel has no value of its own ({name}): send its components",
            name,
            "not-supported",
        )
    components = observation.get("component") or ()
    for index, component in enumerate(components):
        element = f"component[{index}]"
        codes = [c.get("code") for c in (component.get("code") or {}).get("coding") or ()]
        known = [_COMPONENTS[c] for c in codes if c in _COMPONENTS]
        if not known:
            mapped.refuse(
                f"{element} is not a component of a blood pressure panel this server stores"
                f" (LOINC {', '.join(sorted(_COMPONENTS))})",
                f"{element}.code",
                "code-invalid",
            )
            continue
        numeric = known[0]
        if numeric.name in mapped.elements:
            mapped.refuse(f"{numeric.label} is sent twice", f"{element}.code", "duplicate")
            continue
        mapped.elements[numeric.name] = f"{element}.valueQuantity.value"
        quantity = component.get("valueQuantity")
        if quantity is None:
            mapped.refuse(f"{element}.valueQuantity is required", element, "required")
            continue
        value, unit, unit_element = _quantity(quantity, f"{element}.valueQuantity", mapped)
        if value is not None:
            mapped.body[numeric.name] = value
        if unit is not None and unit != numeric.unit:
            mapped.refuse(
                f"unit {unit!r} is not accepted for {numeric.label}; use {numeric.unit}",
                unit_element,
                "code-invalid",
            )
    for numeric in catalog.READING_TYPES["blood_pressure"].numeric:
        mapped.elements.setdefault(numeric.name, "component")
