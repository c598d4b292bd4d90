"""Reading-type catalog: canonical UCUM units, unit conversions, LOINC codes, plausible ranges.

Pure data and plain functions: no I/O, no pydantic, no SQLAlchemy. Units and codes are those of
docs/rules.md "Codes and units", conversion factors those of "Scoring references", unless a
comment cites another source. Validating and converting a body is `app/readings/units.py`.

Invariants:
- every numeric field has one canonical unit, a resolution (`decimals`) and an inclusive
  plausible range in that unit; alternative units are `canonical = value x factor + offset`;
- whole-number fields (blood pressure, pulse, heart rate, steps) have resolution 0;
- a glucose reading's code follows its specimen and an LDL reading's its method (`loinc_code`);
  every other type has one code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

UNIT_FIELD: Final = "unit"


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
    """An optional coded body field (glucose specimen, meal; LDL method)."""

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


# --- conversions (docs/rules.md "Scoring references" unless cited) --------------------------------

# mg/dL = mmol/L x 18.016 (glucose molar mass 180.16 g/mol).
_GLUCOSE_MMOL = Conversion("mmol/L", 18.016, decimals=1)
# mg/dL = mmol/L x 38.67 (cholesterol molar mass 386.65 g/mol); used for LDL, HDL, total.
_CHOLESTEROL_MMOL = Conversion("mmol/L", 38.67, decimals=2)
# mg/dL = mmol/L x 88.57: triglycerides are expressed as triolein (molar mass 885.7 g/mol), the
# factor used by SI conversion tables; docs/rules.md gives only cholesterol's factor.
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
    name: str,
    label: str,
    loinc: str,
    maximum: float,
    minimum: float = 5,
    codes: tuple[CodeField, ...] = (),
) -> ReadingTypeSpec:
    conversion = _TRIGLYCERIDES_MMOL if name == "triglycerides" else _CHOLESTEROL_MMOL
    return ReadingTypeSpec(
        name,
        label,
        loinc,
        (_value(label, "mg/dL", minimum, maximum, 1, conversion),),
        codes=codes,
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
        "height",
        "height",
        "8302-2",
        # Adults only (Medicare): 50 cm is below the shortest adult on record (54.6 cm), 250 cm
        # above all but the rarest gigantism. It is also exactly the range of a patient's
        # `height_cm`, so every height the patients API accepts becomes a dated reading for BMI
        # (docs/rules.md "Data rules").
        (_value("height", "cm", 50, 250, 1, _INCH),),
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
        # "Number of steps in 24 hour Measured" (docs/rules.md "Codes and units"); the reporting
        # layer sums intervals into daily totals before it uses this code.
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
    # LDL is measured directly (18262-6) or calculated from the other lipids (13457-7, e.g. by
    # the Friedewald equation); `method` says which, and a reading without one is taken as
    # direct (`LDL_LOINC_BY_METHOD`).
    _lipid(
        "ldl",
        "LDL cholesterol",
        "18262-6",
        1000,
        codes=(CodeField("method", ("direct", "calculated")),),
    ),
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

# Glucose LOINC by specimen. 2339-0 "Glucose [Mass/volume] in Blood" (venous or unspecified),
# 41653-7 "... in Capillary blood by Glucometer" (docs/rules.md "Codes and units"). CGM sensors
# measure interstitial fluid, which neither code describes: 99504-3 "Glucose [Mass/volume] in
# Interstitial fluid" is the code of the HL7 CGM implementation guide (hl7.org/fhir/uv/cgm, CGM
# sensor reading profile).
GLUCOSE_LOINC_BY_SPECIMEN: Final[dict[str | None, str]] = {
    None: "2339-0",
    "venous": "2339-0",
    "capillary": "41653-7",
    "interstitial": "99504-3",
}


# LDL LOINC by method (docs/rules.md "Codes and units"): 18262-6 "Cholesterol in LDL
# [Mass/volume] in Serum or Plasma by Direct assay", 13457-7 "... by calculation".
LDL_LOINC_BY_METHOD: Final[dict[str | None, str]] = {
    None: "18262-6",
    "direct": "18262-6",
    "calculated": "13457-7",
}

# The types whose code follows one of their coded fields: (field, code by the field's value).
_CODE_BY_FIELD: Final[dict[str, tuple[str, Mapping[str | None, str]]]] = {
    "glucose": ("specimen", GLUCOSE_LOINC_BY_SPECIMEN),
    "ldl": ("method", LDL_LOINC_BY_METHOD),
}


def canonical_unit(reading_type: str, field_name: str) -> str:
    """Canonical UCUM unit of a numeric field; KeyError for an unknown type or field."""
    return READING_TYPES[reading_type].numeric_field(field_name).unit


def loinc_code(reading_type: str, values: Mapping[str, object] | None = None) -> str:
    """LOINC code of a (normalized) reading: glucose by specimen, LDL by method, otherwise the
    type's code."""
    by_field = _CODE_BY_FIELD.get(reading_type)
    if by_field is not None and values is not None:
        name, codes = by_field
        chosen = values.get(name)
        if isinstance(chosen, str) and chosen in codes:
            return codes[chosen]
    return READING_TYPES[reading_type].loinc


def component_loinc(reading_type: str, field_name: str) -> str:
    """LOINC code of one numeric component (blood pressure: systolic/diastolic/pulse)."""
    spec = READING_TYPES[reading_type]
    return spec.numeric_field(field_name).loinc or spec.loinc
