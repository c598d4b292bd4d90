"""Reading-type catalog: canonical UCUM units, unit conversions, LOINC codes, plausible ranges.

Pure data and plain functions: no I/O, no pydantic, no SQLAlchemy. Numbers come from
`shared/domain.md` unless a comment cites another source.

Invariants of `normalize`:
- it returns either canonical values or problems, never both;
- a value is converted to the canonical unit, rounded half-up to the field's resolution, and only
  then range-checked, so the stored value is exactly the one that was checked;
- range edges are inclusive: the edge is accepted, one resolution step past it is rejected;
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
from typing import Final

# Reading fields the ingestion layer owns (contract "Readings": the common envelope). `normalize`
# ignores them so a caller may pass a whole reading body.
ENVELOPE_FIELDS: Final = frozenset({"type", "client_id", "effective_at", "timezone", "source"})

UNIT_FIELD: Final = "unit"

CanonicalValue = float | int | str


@dataclass(frozen=True, slots=True)
class Conversion:
    """An accepted non-canonical unit: canonical = value x factor + offset."""

    unit: str
    factor: float
    offset: float = 0.0
    # Resolution used to show the allowed range in this unit (mmol/L glucose: 0.1, lipids: 0.01).
    decimals: int = 1

    def to_canonical(self, value: float) -> float:
        return value * self.factor + self.offset

    def from_canonical(self, value: float) -> float:
        return (value - self.offset) / self.factor


@dataclass(frozen=True, slots=True)
class NumericField:
    """One numeric body field: canonical unit, accepted alternatives, plausible range."""

    name: str
    label: str  # how a person calls it in a message: "systolic", "glucose", "HbA1c"
    unit: str  # canonical UCUM unit
    minimum: float  # inclusive, canonical unit
    maximum: float  # inclusive, canonical unit
    decimals: int  # resolution after conversion; 0 with `integer` for whole-number fields
    integer: bool = False
    required: bool = True
    loinc: str | None = None  # component code, when the reading has several components
    alternatives: tuple[Conversion, ...] = ()

    @property
    def accepted_units(self) -> tuple[str, ...]:
        return (self.unit, *(c.unit for c in self.alternatives))

    @property
    def step(self) -> float:
        """The smallest difference the field resolves (range tests step one past the edge)."""
        return 10.0**-self.decimals

    def conversion(self, unit: str) -> Conversion | None:
        return next((c for c in self.alternatives if c.unit == unit), None)


@dataclass(frozen=True, slots=True)
class CodeField:
    """An optional coded body field (glucose specimen, meal)."""

    name: str
    allowed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReadingTypeSpec:
    name: str
    label: str  # "blood pressure"
    loinc: str  # the reading's code (the panel for blood pressure)
    numeric: tuple[NumericField, ...]
    codes: tuple[CodeField, ...] = ()
    # Whether the body carries `unit` for its single numeric field `value`.
    has_unit: bool = False
    # Type fields validated by the caller, accepted here untouched (steps: `end_at`).
    external: tuple[str, ...] = ()

    @property
    def unit(self) -> str:
        """The reading's UCUM unit for read-back (blood pressure: mm[Hg], its components' unit)."""
        return self.numeric[0].unit

    @property
    def field_names(self) -> tuple[str, ...]:
        unit = (UNIT_FIELD,) if self.has_unit else ()
        return (
            *(f.name for f in self.numeric),
            *unit,
            *(c.name for c in self.codes),
            *self.external,
        )

    def numeric_field(self, name: str) -> NumericField:
        for f in self.numeric:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no numeric field {name!r}")


# --- conversions (domain.md "Scoring references" unless cited) ---------------------------------

# mg/dL = mmol/L x 18.016 (glucose molar mass 180.16 g/mol).
_GLUCOSE_MMOL = Conversion("mmol/L", 18.016, decimals=1)
# mg/dL = mmol/L x 38.67 (cholesterol molar mass 386.65 g/mol); used for LDL, HDL, total.
_CHOLESTEROL_MMOL = Conversion("mmol/L", 38.67, decimals=2)
# mg/dL = mmol/L x 88.57: triglycerides are expressed as triolein (molar mass 885.7 g/mol), the
# factor used by SI conversion tables; domain.md gives only cholesterol's factor.
_TRIGLYCERIDES_MMOL = Conversion("mmol/L", 88.57, decimals=2)
# NGSP % = IFCC mmol/mol / 10.929 + 2.15, the inverse of mmol/mol = (% - 2.15) x 10.929.
_HBA1C_MMOL_MOL = Conversion("mmol/mol", 1 / 10.929, offset=2.15, decimals=0)
# International avoirdupois pound and inch are exact by definition (1959 agreement).
_POUND = Conversion("[lb_av]", 0.45359237, decimals=1)
_INCH = Conversion("[in_i]", 2.54, decimals=1)


def _value(
    label: str,
    unit: str,
    minimum: float,
    maximum: float,
    decimals: int,
    *alternatives: Conversion,
    integer: bool = False,
) -> NumericField:
    return NumericField(
        "value", label, unit, minimum, maximum, decimals, integer, alternatives=alternatives
    )


def _lipid(
    name: str, label: str, loinc: str, maximum: float, minimum: float = 5
) -> ReadingTypeSpec:
    conversion = _TRIGLYCERIDES_MMOL if name == "triglycerides" else _CHOLESTEROL_MMOL
    return ReadingTypeSpec(
        name,
        label,
        loinc,
        (_value(label, "mg/dL", minimum, maximum, 1, conversion),),
        has_unit=True,
    )


# Ranges: inclusive, canonical units, wide enough for any measurable human value and narrow
# enough to catch some unit mix-ups (a weight in lb sent as kg above 400, mmol/L sent as mg/dL).
_SPECS: tuple[ReadingTypeSpec, ...] = (
    ReadingTypeSpec(
        "blood_pressure",
        "blood pressure",
        "85354-9",
        (
            # Oscillometric cuffs measure roughly 40-300 mmHg; outside that it is an artefact.
            NumericField("systolic", "systolic", "mm[Hg]", 40, 300, 0, True, loinc="8480-6"),
            NumericField("diastolic", "diastolic", "mm[Hg]", 20, 200, 0, True, loinc="8462-4"),
            NumericField(
                "pulse", "pulse", "/min", 20, 300, 0, True, required=False, loinc="8867-4"
            ),
        ),
    ),
    ReadingTypeSpec(
        "heart_rate",
        "heart rate",
        "8867-4",
        (_value("heart rate", "/min", 20, 300, 0, integer=True),),
        has_unit=True,
    ),
    ReadingTypeSpec(
        "glucose",
        "glucose",
        # Default code; the specimen picks the actual one (`loinc_code`).
        "2339-0",
        # Meters read about 20-600 mg/dL; lab values above 1000 mg/dL (hyperosmolar state) are
        # exceptional. A range cannot catch every mg/dL-mmol/L mix-up: hence a required unit.
        (_value("glucose", "mg/dL", 10, 1000, 1, _GLUCOSE_MMOL),),
        codes=(
            CodeField("specimen", ("capillary", "interstitial", "venous")),
            CodeField("meal", ("fasting", "before_meal", "after_meal", "random")),
        ),
        has_unit=True,
    ),
    ReadingTypeSpec(
        "weight",
        "weight",
        "29463-7",
        # Adults only (Medicare); 400 kg is above the heaviest weights a clinic scale records.
        (_value("weight", "kg", 20, 400, 2, _POUND),),
        has_unit=True,
    ),
    ReadingTypeSpec(
        "waist",
        "waist circumference",
        "8280-0",
        (_value("waist circumference", "cm", 40, 250, 1, _INCH),),
        has_unit=True,
    ),
    ReadingTypeSpec(
        "steps",
        "steps",
        # "Number of steps in 24 hour Measured" (domain.md); the reporting layer sums intervals
        # into daily totals before it uses this code.
        "41950-7",
        # Per interval; ultramarathon days reach about 60 000-70 000 steps.
        (NumericField("count", "step count", "{steps}", 0, 100_000, 0, True),),
        external=("end_at",),
    ),
    ReadingTypeSpec(
        "hba1c",
        "HbA1c",
        "4548-4",
        (_value("HbA1c", "%", 3, 20, 1, _HBA1C_MMOL_MOL),),
        has_unit=True,
    ),
    # LDL reported by a client is taken as measured (direct, 18262-6); calculated LDL (13457-7)
    # is derived by lab systems and would arrive through an integration with its own code.
    _lipid("ldl", "LDL cholesterol", "18262-6", 1000),
    # Familial hypercholesterolaemia and cholestasis reach the low thousands.
    _lipid("total_cholesterol", "total cholesterol", "2093-3", 1500, minimum=50),
    _lipid("hdl", "HDL cholesterol", "2085-9", 250),
    # Familial chylomicronaemia exceeds 5000 mg/dL; 10000 leaves room without accepting nonsense.
    _lipid("triglycerides", "triglycerides", "2571-8", 10_000, minimum=10),
    ReadingTypeSpec(
        "egfr",
        "eGFR",
        "98979-8",
        (_value("eGFR", "mL/min/{1.73_m2}", 1, 200, 1),),
        has_unit=True,
    ),
    ReadingTypeSpec(
        "uacr",
        "UACR",
        "14959-1",
        # Nephrotic-range albuminuria is > 3000 mg/g; 50000 allows extreme lab reports.
        (_value("UACR", "mg/g", 0, 50_000, 1),),
        has_unit=True,
    ),
)

READING_TYPES: Final[dict[str, ReadingTypeSpec]] = {s.name: s for s in _SPECS}

# Numeric fields per type, in body order (blood pressure aggregates iterate these per component).
NUMERIC_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    s.name: tuple(f.name for f in s.numeric) for s in _SPECS
}
BLOOD_PRESSURE_COMPONENTS: Final = ("systolic", "diastolic")
_ALLOWED_FIELDS: Final = {s.name: frozenset(s.field_names) | ENVELOPE_FIELDS for s in _SPECS}

# Glucose LOINC by specimen. 2339-0 "Glucose [Mass/volume] in Blood" (venous or unspecified),
# 41653-7 "... in Capillary blood by Glucometer" (domain.md). CGM sensors measure interstitial
# fluid, which neither code describes: 99504-3 "Glucose [Mass/volume] in Interstitial fluid" is the
# code of the HL7 CGM implementation guide (hl7.org/fhir/uv/cgm, CGM sensor reading profile).
GLUCOSE_LOINC_BY_SPECIMEN: Final[dict[str | None, str]] = {
    None: "2339-0",
    "venous": "2339-0",
    "capillary": "41653-7",
    "interstitial": "99504-3",
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


def canonical_unit(reading_type: str, field_name: str) -> str:
    """Canonical UCUM unit of a numeric field; KeyError for an unknown type or field."""
    return READING_TYPES[reading_type].numeric_field(field_name).unit


def loinc_code(reading_type: str, values: Mapping[str, object] | None = None) -> str:
    """LOINC code of a (normalized) reading: glucose by specimen, otherwise the type's code."""
    spec = READING_TYPES[reading_type]
    if reading_type == "glucose" and values is not None:
        specimen = values.get("specimen")
        if isinstance(specimen, str) and specimen in GLUCOSE_LOINC_BY_SPECIMEN:
            return GLUCOSE_LOINC_BY_SPECIMEN[specimen]
    return spec.loinc


def component_loinc(reading_type: str, field_name: str) -> str:
    """LOINC code of one numeric component (blood pressure: systolic/diastolic/pulse)."""
    spec = READING_TYPES[reading_type]
    return spec.numeric_field(field_name).loinc or spec.loinc


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the text {value!r}"
    return f"a {type(value).__name__}"


def _range_text(f: NumericField, conversion: Conversion | None) -> str:
    text = _with_unit(f"{format_number(f.minimum)}-{format_number(f.maximum)}", f.unit)
    if conversion is None:
        return text
    # Shown inward (min up, max down) so every value inside the shown range is accepted.
    low = _quantize(conversion.from_canonical(f.minimum), conversion.decimals, ROUND_CEILING)
    high = _quantize(conversion.from_canonical(f.maximum), conversion.decimals, ROUND_FLOOR)
    alt = f"{format_number(float(low))}-{format_number(float(high))} {conversion.unit}"
    return f"{text} ({alt})"


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
    canonical = conversion.to_canonical(number) if conversion is not None else number
    rounded = round_half_up(canonical, f.decimals) if math.isfinite(canonical) else canonical
    if not f.minimum <= rounded <= f.maximum:
        sent = format_number(number) if math.isfinite(number) else "(too large)"
        shown = _with_unit(sent, conversion.unit if conversion else f.unit)
        if conversion is not None and math.isfinite(rounded):
            shown += f" ({_with_unit(format_number(rounded), f.unit)})"
        problems.append(
            FieldProblem(
                f.name,
                f"{f.label} {shown} is outside the allowed range {_range_text(f, conversion)}",
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
