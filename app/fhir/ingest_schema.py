"""The body POST /fhir takes, as the OpenAPI schema states it. Pure data.

Invariants (docs/api.md "Errors, refined": a body the schema admits is never refused for a
reason it does not state):
- a `batch` may hold any entries: each is answered on its own, so none fails the request;
- a `transaction` fails whole when one entry fails, so the schema states what an entry must be:
  a create (`POST Observation`) of an Observation with the elements the server reads, each
  narrowed to values the FHIR models accept (printable ASCII text, times with seconds and an
  offset FHIR allows, real calendar days, the LOINC codes of `observation_mapping.CODES`);
  what no JSON Schema can state (a value's range in the unit sent, a patient in the caller's
  reach, a time in the window of `/v1`) is the server's to answer, and docs/api.md says it;
- the server takes more than the schema states (other Observation elements, `ifNoneExist`,
  `effectiveInstant`), never less.
"""

from __future__ import annotations

from typing import Any, Final

from app.fhir import observation_mapping
from app.fhir.search import FHIR_ID
from app.fhir.transactions import MAX_ENTRIES
from app.readings import catalog
from app.schemas import CALENDAR_DAY, HOUR_MINUTE, SECONDS

# Printable ASCII without spaces (a FHIR uri or code), and with single inner spaces (a string).
_TOKEN: Final = {"type": "string", "pattern": "^[!-~]+$"}
# A URI as an identifier's system: no '|', which separates it from the value.
_SYSTEM: Final = {"type": "string", "pattern": "^[!-{}~]+$"}
_TEXT: Final = {"type": "string", "pattern": "^[!-~]+( [!-~]+)*$"}
# An offset FHIR's dateTime allows (-14:00 .. +14:00 at most).
_OFFSET: Final = r"(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
_TIME: Final = {"type": "string", "pattern": f"^{CALENDAR_DAY}T{HOUR_MINUTE}{SECONDS}{_OFFSET}$"}


def _object(required: list[str], **properties: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
    }
    if required:
        schema["required"] = required
    else:
        schema["minProperties"] = 1
    return schema


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "minItems": 1, "items": items}


def _reference(resource_type: str) -> dict[str, Any]:
    return _object(
        ["reference"],
        reference={"type": "string", "pattern": f"^{resource_type}/{FHIR_ID}$"},
    )


def _loinc(codes: list[str]) -> dict[str, Any]:
    coding = _object(
        ["system", "code"],
        system={"type": "string", "enum": [observation_mapping.LOINC]},
        # Named for client generators, which would otherwise number them (VALUE_0, ...).
        code={
            "type": "string",
            "enum": codes,
            "x-enum-varnames": ["LOINC_" + code.replace("-", "_") for code in codes],
        },
        display=_TEXT,
    )
    return _object(["coding"], coding=_array(coding), text=_TEXT)


_QUANTITY: Final = _object(
    ["value"],
    value={"type": "number"},
    unit=_TEXT,
    system={"type": "string", "enum": [observation_mapping.UCUM]},
    code={**_TOKEN, "description": 'The UCUM unit (docs/api.md "Readings").'},
)
_COMPONENT_CODES: Final = sorted(
    f.loinc for f in catalog.READING_TYPES["blood_pressure"].numeric if f.loinc
)
_CODEABLE: Final = _object([], coding=_array(_object([], system=_TOKEN, code=_TOKEN)), text=_TEXT)

OBSERVATION: Final[dict[str, Any]] = {
    **_object(
        ["resourceType", "status", "identifier", "code", "subject"],
        resourceType={"type": "string", "enum": ["Observation"]},
        meta=_object([], profile=_array(_TOKEN)),
        status={"type": "string", "enum": [observation_mapping.STORED_STATUS]},
        identifier={
            **_array(_object([], system=_SYSTEM, value=_TEXT)),
            "description": "The first with a system and a value keys the reading: a resend"
            " is the same reading.",
        },
        category=_array(_CODEABLE),
        code=_loinc(sorted(observation_mapping.CODES)),
        subject=_reference("Patient"),
        effectiveDateTime=_TIME,
        effectivePeriod={
            **_object(["start", "end"], start=_TIME, end=_TIME),
            "description": "A step count's interval (at most 25 hours).",
        },
        issued=_TIME,
        valueQuantity=_QUANTITY,
        component={
            **_array(
                _object(
                    ["code", "valueQuantity"],
                    code=_loinc(_COMPONENT_CODES),
                    valueQuantity=_QUANTITY,
                )
            ),
            "description": "A blood pressure panel's systolic, diastolic and pulse.",
        },
        device=_reference("Device"),
    ),
    "allOf": [
        {"oneOf": [{"required": ["effectiveDateTime"]}, {"required": ["effectivePeriod"]}]},
        {"oneOf": [{"required": ["valueQuantity"]}, {"required": ["component"]}]},
    ],
}
_CREATE: Final = _object(
    ["request", "resource"],
    fullUrl=_TOKEN,
    request=_object(
        ["method", "url"],
        method={"type": "string", "enum": ["POST"]},
        url={"type": "string", "enum": ["Observation"]},
    ),
    resource=OBSERVATION,
)


def _bundle(kind: str, entry: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        **_object(
            ["resourceType", "type"],
            resourceType={"type": "string", "enum": ["Bundle"]},
            type={"type": "string", "enum": [kind]},
            entry={"type": "array", "maxItems": MAX_ENTRIES, "items": entry},
        ),
        "title": f"{kind.title()}Bundle",
        "description": description,
    }


POSTED_BUNDLE: Final[dict[str, Any]] = {
    "oneOf": [
        _bundle(
            "batch",
            {
                "description": "Any value: one that is not a create of an Observation is answered"
                " with its own OperationOutcome."
            },
            "Each entry stored or refused on its own.",
        ),
        _bundle("transaction", _CREATE, "All or nothing: one bad entry fails it whole."),
    ]
}
