"""Validating a reading's type fields and converting them to canonical units.

Pure: no I/O, no pydantic, no SQLAlchemy. The units, resolutions and ranges are the catalog's
(`app/readings/catalog.py`).

Invariants of `normalize`:
- it returns either canonical values or problems, never both;
- a value is range-checked as sent, in the unit sent, against `accepted_range` (which the
  OpenAPI schema declares, so the schema and the server agree to the last digit), then converted
  to the canonical unit and rounded half-up to the field's resolution; the accepted ranges are
  chosen so that the stored value always lies in the canonical range;
- in the canonical unit the range is the catalog's, edges inclusive: the edge is accepted, one
  resolution step past it is rejected; in another unit it is a little wider than the canonical
  range converted, so any canonical value a client converts is accepted;
- blood pressure, pulse, heart rate and step counts are whole numbers (cuffs, pulse sensors and
  pedometers report integers); an integral float such as 120.0 is accepted and stored as 120,
  120.5 is rejected rather than silently rounded, since it signals a client bug or a wrong field;
- a body `unit` is required when a field has alternative units (guessing mg/dL vs mmol/L or kg vs
  lb is unsafe) and optional, but then must be the canonical unit, when it has none.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import cache
from typing import Final

from app.readings.catalog import (
    READING_TYPES,
    UNIT_FIELD,
    Conversion,
    NumericField,
    ReadingTypeSpec,
)

# Reading fields the ingestion layer owns (docs/api.md "Readings": the common fields).
# `normalize` ignores them so a caller may pass a whole reading body.
ENVELOPE_FIELDS: Final = frozenset({"type", "client_id", "effective_at", "timezone", "source"})

CanonicalValue = float | int | str

_ALLOWED_FIELDS: Final = {
    name: frozenset(spec.field_names) | ENVELOPE_FIELDS for name, spec in READING_TYPES.items()
}


@dataclass(frozen=True, slots=True)
class FieldProblem:
    path: str  # the body field name ("systolic", "value", "unit", "type")
    message: str


@dataclass(frozen=True, slots=True)
class Normalized:
    """Canonical values (units replaced by canonical ones) or, when invalid, the problems."""

    reading_type: str
    values: dict[str, CanonicalValue] = field(default_factory=dict)
    problems: tuple[FieldProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


# --- helpers -----------------------------------------------------------------------------------


def round_half_up(value: float, decimals: int) -> float:
    """Round as a person does (2.675 -> 2.68), on the shortest decimal form of the float."""
    if not abs(value) < 1e15:  # beyond Decimal's default precision; out of every range anyway
        return value
    if round(value, decimals) == value:
        # Already at the resolution (most device values): no tie to break, and a float equal to
        # its own correctly rounded form is the nearest float to that decimal.
        return value
    return float(_quantize(value, decimals, ROUND_HALF_UP))


def _quantize(value: float, decimals: int, rounding: str) -> Decimal:
    return Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=rounding)


def format_number(value: float, decimals: int | None = None) -> str:
    """Shortest readable form: 120.0 -> "120", 99.10 -> "99.1"; `decimals` rounds first."""
    if decimals is not None:
        value = round_half_up(value, decimals)
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _with_unit(number: str, unit: str) -> str:
    # Annotation-only units ({steps}) read badly in a sentence.
    return number if unit.startswith("{") else f"{number} {unit}"


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the text {value!r}"
    return f"a {type(value).__name__}"


@cache
def accepted_range(f: NumericField, unit: str) -> tuple[float, float]:
    """The inclusive range of a value sent in `unit` (the canonical one or an alternative).

    Each edge is the decimal with the fewest places between the canonical edge converted and a
    quarter step beyond it: so a canonical value a client converted is accepted, and whatever is
    accepted rounds back into the canonical range (a quarter step leaves room for float error).
    In the canonical unit that is the catalog's range itself."""
    conversion = f.conversion(unit)

    def sent(canonical: float) -> float:
        return conversion.from_canonical(canonical) if conversion is not None else canonical

    margin = f.step / 4
    return (
        _fewest_places(sent(f.minimum - margin), sent(f.minimum), upward=True),
        _fewest_places(sent(f.maximum), sent(f.maximum + margin), upward=False),
    )


def _fewest_places(low: float, high: float, *, upward: bool) -> float:
    """The number with the fewest decimal places from `low` to `high`: the lowest such when
    `upward`, else the highest."""
    for places in range(16):
        if upward:
            candidate = _quantize(low, places, ROUND_CEILING)
        else:
            candidate = _quantize(high, places, ROUND_FLOOR)
        if low <= candidate <= high:
            return float(candidate) + 0.0  # never -0.0 (the ceiling of -0.25)
    raise ValueError(f"no decimal from {low} to {high}")


def range_text(f: NumericField, *conversions: Conversion) -> str:
    """The range as a person reads it: "10-1000 mg/dL (0.6-55.5 mmol/L)", in the canonical unit
    and, rounded inward, in the other units given."""
    text = _with_unit(f"{format_number(f.minimum)}-{format_number(f.maximum)}", f.unit)
    others = "; ".join(_inward_range_text(f, conversion) for conversion in conversions)
    return f"{text} ({others})" if others else text


def _inward_range_text(f: NumericField, conversion: Conversion) -> str:
    # Shown inward (min up, max down) so every value inside the shown range is accepted.
    low = _quantize(conversion.from_canonical(f.minimum), conversion.decimals, ROUND_CEILING)
    high = _quantize(conversion.from_canonical(f.maximum), conversion.decimals, ROUND_FLOOR)
    return f"{format_number(float(low))}-{format_number(float(high))} {conversion.unit}"


def _required_text(f: NumericField) -> str:
    units = " or ".join(u for u in f.accepted_units if not u.startswith("{"))
    what = f.label if f.label != f.name else ""
    if units:
        what = f"{what} in {units}".strip()
    return f"{f.name} is required ({what})" if what else f"{f.name} is required"


# --- normalize ---------------------------------------------------------------------------------


def _resolve_unit(
    spec: ReadingTypeSpec, values: Mapping[str, object], problems: list[FieldProblem]
) -> tuple[bool, Conversion | None]:
    """(resolved, conversion): conversion None means the value is already canonical."""
    if not spec.has_unit:
        return True, None
    f = spec.numeric[0]
    raw = values.get(UNIT_FIELD)
    if raw == f.unit:
        return True, None
    accepted = ", ".join(f.accepted_units)
    if raw is None:
        if f.alternatives:
            problems.append(
                FieldProblem(
                    UNIT_FIELD, f"unit is required for {spec.label}; use one of: {accepted}"
                )
            )
            return False, None
        return True, None
    if not isinstance(raw, str) or raw not in f.accepted_units:
        shown = repr(raw) if isinstance(raw, str) else _describe(raw)
        problems.append(
            FieldProblem(
                UNIT_FIELD, f"unit {shown} is not accepted for {spec.label}; use one of: {accepted}"
            )
        )
        return False, None
    return True, f.conversion(raw)


def _check_number(f: NumericField, raw: object, problems: list[FieldProblem]) -> float | int | None:
    # bool is an int subclass in Python, and JSON true must never become 1 mmHg.
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        problems.append(FieldProblem(f.name, f"{f.label} must be a number, not {_describe(raw)}"))
        return None
    if isinstance(raw, float) and not math.isfinite(raw):
        shown = "NaN" if math.isnan(raw) else "infinity"
        problems.append(FieldProblem(f.name, f"{f.label} must be a finite number, not {shown}"))
        return None
    if f.integer and isinstance(raw, float) and not raw.is_integer():
        shown = _with_unit(format_number(raw), f.unit)
        problems.append(FieldProblem(f.name, f"{f.label} {shown} must be a whole number"))
        return None
    return raw


def _normalize_numeric(
    f: NumericField,
    raw: float | int,
    conversion: Conversion | None,
    problems: list[FieldProblem],
) -> float | int | None:
    try:
        number = float(raw)
    except OverflowError:  # an int beyond float range is out of any range
        number = math.inf if raw > 0 else -math.inf
    low, high = accepted_range(f, conversion.unit if conversion is not None else f.unit)
    conversions = () if conversion is None else (conversion,)
    canonical = conversion.to_canonical(number) if conversion is not None else number
    rounded = round_half_up(canonical, f.decimals) if math.isfinite(canonical) else canonical
    if not low <= number <= high:
        sent = format_number(number) if math.isfinite(number) else "(too large)"
        shown = _with_unit(sent, conversion.unit if conversion else f.unit)
        if conversion is not None and math.isfinite(rounded):
            shown += f" ({_with_unit(format_number(rounded), f.unit)})"
        problems.append(
            FieldProblem(
                f.name,
                f"{f.label} {shown} is outside the allowed range {range_text(f, *conversions)}",
            )
        )
        return None
    return int(rounded) if f.integer else rounded


def normalize(reading_type: object, values: Mapping[str, object]) -> Normalized:
    """Validate a reading's type fields and convert them to canonical units.

    `values` may be the whole reading body: envelope fields (`ENVELOPE_FIELDS`) and fields the
    caller validates itself (`ReadingTypeSpec.external`) are ignored. An explicit null for an
    optional field counts as absent.
    """
    spec = READING_TYPES.get(reading_type) if isinstance(reading_type, str) else None
    if spec is None:
        shown = repr(reading_type) if isinstance(reading_type, str) else _describe(reading_type)
        known = ", ".join(READING_TYPES)
        return Normalized(
            str(reading_type),
            problems=(
                FieldProblem(
                    "type", f"type {shown} is not a known reading type; use one of: {known}"
                ),
            ),
        )

    problems: list[FieldProblem] = []
    allowed = _ALLOWED_FIELDS[spec.name]
    for name in values:
        if name not in allowed:
            problems.append(
                FieldProblem(
                    name,
                    f"{name} is not a field of a {spec.label} reading;"
                    f" its fields are: {', '.join(spec.field_names)}",
                )
            )

    unit_resolved, conversion = _resolve_unit(spec, values, problems)
    out: dict[str, CanonicalValue] = {}
    for f in spec.numeric:
        raw = values.get(f.name)
        if raw is None:
            if f.required:
                problems.append(FieldProblem(f.name, _required_text(f)))
            continue
        number = _check_number(f, raw, problems)
        if number is None or not unit_resolved:
            continue
        canonical = _normalize_numeric(f, number, conversion, problems)
        if canonical is not None:
            out[f.name] = canonical
    if spec.has_unit:
        out[UNIT_FIELD] = spec.numeric[0].unit

    for c in spec.codes:
        raw = values.get(c.name)
        if raw is None:
            continue
        if isinstance(raw, str) and raw in c.allowed:
            out[c.name] = raw
        else:
            shown = repr(raw) if isinstance(raw, str) else _describe(raw)
            problems.append(
                FieldProblem(
                    c.name, f"{c.name} {shown} is not accepted; use one of: {', '.join(c.allowed)}"
                )
            )

    if spec.name == "blood_pressure":
        systolic, diastolic = out.get("systolic"), out.get("diastolic")
        # A diastolic at or above systolic is physically impossible: swapped fields or artefact.
        if isinstance(systolic, int) and isinstance(diastolic, int) and diastolic >= systolic:
            problems.append(
                FieldProblem(
                    "diastolic",
                    f"diastolic {diastolic} mm[Hg] must be below systolic {systolic} mm[Hg]",
                )
            )

    if problems:
        return Normalized(spec.name, problems=tuple(problems))
    return Normalized(spec.name, values=out)
