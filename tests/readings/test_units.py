"""Reading catalog: conversions, range edges and problem messages, table-driven.

Expected conversions are computed by hand from the factors in docs/rules.md "Scoring references".
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.readings.catalog import (
    BLOOD_PRESSURE_COMPONENTS,
    NUMERIC_FIELDS,
    READING_TYPES,
    Conversion,
    NumericField,
    canonical_unit,
    component_loinc,
    loinc_code,
)
from app.readings.units import FieldProblem, accepted_range, normalize, round_half_up
from tests.readings.helpers import PROPERTY

# A valid body per type; tests override one field at a time.
BASE: dict[str, dict[str, object]] = {
    "blood_pressure": {"systolic": 120, "diastolic": 80},
    "heart_rate": {"value": 72},
    "glucose": {"value": 100, "unit": "mg/dL"},
    "weight": {"value": 80, "unit": "kg"},
    "height": {"value": 170, "unit": "cm"},
    "waist": {"value": 90, "unit": "cm"},
    "steps": {"count": 5000},
    "hba1c": {"value": 6.5, "unit": "%"},
    "ldl": {"value": 100, "unit": "mg/dL"},
    "total_cholesterol": {"value": 200, "unit": "mg/dL"},
    "hdl": {"value": 50, "unit": "mg/dL"},
    "triglycerides": {"value": 150, "unit": "mg/dL"},
    "egfr": {"value": 60},
    "uacr": {"value": 30},
}


def body(reading_type: str, **changes: object) -> dict[str, object]:
    return {**BASE[reading_type], **changes}


def only_problem(reading_type: str, values: dict[str, object]) -> FieldProblem:
    result = normalize(reading_type, values)
    assert not result.ok
    assert result.values == {}
    assert len(result.problems) == 1, result.problems
    return result.problems[0]


def test_every_type_has_a_base_body() -> None:
    assert set(BASE) == set(READING_TYPES)


@pytest.mark.parametrize(
    ("reading_type", "values", "expected"),
    [
        # Required examples: 5.5 x 18.016 = 99.088; 180 x 0.45359237 = 81.6466...;
        # 53 / 10.929 + 2.15 = 6.9995.
        ("glucose", {"value": 5.5, "unit": "mmol/L"}, {"value": 99.1, "unit": "mg/dL"}),
        ("weight", {"value": 180, "unit": "[lb_av]"}, {"value": 81.65, "unit": "kg"}),
        ("hba1c", {"value": 53, "unit": "mmol/mol"}, {"value": 7.0, "unit": "%"}),
        # Canonical input is kept, rounded to the field's resolution (half up).
        ("glucose", {"value": 100, "unit": "mg/dL"}, {"value": 100.0, "unit": "mg/dL"}),
        ("glucose", {"value": 99.15, "unit": "mg/dL"}, {"value": 99.2, "unit": "mg/dL"}),
        # 10 x 18.016 = 180.16
        (
            "glucose",
            {"value": 10, "unit": "mmol/L", "specimen": "interstitial", "meal": "fasting"},
            {"value": 180.2, "unit": "mg/dL", "specimen": "interstitial", "meal": "fasting"},
        ),
        ("weight", {"value": 81.655, "unit": "kg"}, {"value": 81.66, "unit": "kg"}),
        # 100 x 0.45359237 = 45.359237
        ("weight", {"value": 100, "unit": "[lb_av]"}, {"value": 45.36, "unit": "kg"}),
        # 40 x 2.54 = 101.6; 35.5 x 2.54 = 90.17
        ("waist", {"value": 40, "unit": "[in_i]"}, {"value": 101.6, "unit": "cm"}),
        ("waist", {"value": 35.5, "unit": "[in_i]"}, {"value": 90.2, "unit": "cm"}),
        ("waist", {"value": 88, "unit": "cm"}, {"value": 88.0, "unit": "cm"}),
        # Height: 67 x 2.54 = 170.18; 5 ft 9.5 in = 69.5 x 2.54 = 176.53; 172.25 cm rounds up.
        ("height", {"value": 67, "unit": "[in_i]"}, {"value": 170.2, "unit": "cm"}),
        ("height", {"value": 69.5, "unit": "[in_i]"}, {"value": 176.5, "unit": "cm"}),
        ("height", {"value": 172.25, "unit": "cm"}, {"value": 172.3, "unit": "cm"}),
        ("height", {"value": 160, "unit": "cm"}, {"value": 160.0, "unit": "cm"}),
        # 48 / 10.929 + 2.15 = 6.542; 42 / 10.929 + 2.15 = 5.993
        ("hba1c", {"value": 48, "unit": "mmol/mol"}, {"value": 6.5, "unit": "%"}),
        ("hba1c", {"value": 42, "unit": "mmol/mol"}, {"value": 6.0, "unit": "%"}),
        ("hba1c", {"value": 5.7, "unit": "%"}, {"value": 5.7, "unit": "%"}),
        # Cholesterols x 38.67: 2.6 -> 100.542, 5.2 -> 201.084, 1.0 -> 38.67
        ("ldl", {"value": 2.6, "unit": "mmol/L"}, {"value": 100.5, "unit": "mg/dL"}),
        ("ldl", {"value": 70, "unit": "mg/dL"}, {"value": 70.0, "unit": "mg/dL"}),
        # The LDL method is kept as sent, and only when sent.
        (
            "ldl",
            {"value": 2.6, "unit": "mmol/L", "method": "calculated"},
            {"value": 100.5, "unit": "mg/dL", "method": "calculated"},
        ),
        (
            "ldl",
            {"value": 100, "unit": "mg/dL", "method": "direct"},
            {"value": 100.0, "unit": "mg/dL", "method": "direct"},
        ),
        ("total_cholesterol", {"value": 5.2, "unit": "mmol/L"}, {"value": 201.1, "unit": "mg/dL"}),
        ("hdl", {"value": 1.0, "unit": "mmol/L"}, {"value": 38.7, "unit": "mg/dL"}),
        # Triglycerides x 88.57: 1.7 -> 150.569
        ("triglycerides", {"value": 1.7, "unit": "mmol/L"}, {"value": 150.6, "unit": "mg/dL"}),
        ("triglycerides", {"value": 150, "unit": "mg/dL"}, {"value": 150.0, "unit": "mg/dL"}),
        # Fixed-unit types: the unit is optional, the canonical one is filled in.
        ("egfr", {"value": 62}, {"value": 62.0, "unit": "mL/min/{1.73_m2}"}),
        (
            "egfr",
            {"value": 45.5, "unit": "mL/min/{1.73_m2}"},
            {"value": 45.5, "unit": "mL/min/{1.73_m2}"},
        ),
        ("uacr", {"value": 30}, {"value": 30.0, "unit": "mg/g"}),
        ("heart_rate", {"value": 72.0}, {"value": 72, "unit": "/min"}),
        ("heart_rate", {"value": 64, "unit": "/min"}, {"value": 64, "unit": "/min"}),
        (
            "blood_pressure",
            {"systolic": 128.0, "diastolic": 82, "pulse": 66},
            {"systolic": 128, "diastolic": 82, "pulse": 66},
        ),
        # An explicit null for an optional field is the same as leaving it out.
        (
            "blood_pressure",
            {"systolic": 118, "diastolic": 76, "pulse": None},
            {"systolic": 118, "diastolic": 76},
        ),
        # end_at belongs to the caller; envelope fields are ignored.
        (
            "steps",
            {"count": 8000, "end_at": "2026-07-06T00:00:00+00:00", "type": "steps"},
            {"count": 8000},
        ),
    ],
)
def test_conversion(
    reading_type: str, values: dict[str, object], expected: dict[str, object]
) -> None:
    result = normalize(reading_type, values)
    assert result.problems == ()
    assert result.ok
    assert result.reading_type == reading_type
    assert result.values == expected
    for name in NUMERIC_FIELDS[reading_type]:
        if name in expected:
            assert type(result.values[name]) is type(expected[name])


# (type, field, lowest accepted, one step below, highest accepted, one step above), canonical units.
EDGES: list[tuple[str, str, float, float, float, float]] = [
    ("blood_pressure", "systolic", 40, 39, 300, 301),
    ("blood_pressure", "diastolic", 20, 19, 200, 201),
    ("blood_pressure", "pulse", 20, 19, 300, 301),
    ("heart_rate", "value", 20, 19, 300, 301),
    ("glucose", "value", 10.0, 9.9, 1000.0, 1000.1),
    ("weight", "value", 20.0, 19.99, 400.0, 400.01),
    ("height", "value", 50.0, 49.9, 250.0, 250.1),
    ("waist", "value", 40.0, 39.9, 250.0, 250.1),
    ("steps", "count", 0, -1, 100_000, 100_001),
    ("hba1c", "value", 3.0, 2.9, 20.0, 20.1),
    ("ldl", "value", 5.0, 4.9, 1000.0, 1000.1),
    ("total_cholesterol", "value", 50.0, 49.9, 1500.0, 1500.1),
    ("hdl", "value", 5.0, 4.9, 250.0, 250.1),
    ("triglycerides", "value", 10.0, 9.9, 10_000.0, 10_000.1),
    ("egfr", "value", 1.0, 0.9, 200.0, 200.1),
    ("uacr", "value", 0.0, -0.1, 50_000.0, 50_000.1),
]


def _edge_body(reading_type: str, name: str, value: float) -> dict[str, object]:
    # Keep diastolic below systolic so only the edge under test can fail.
    if name == "systolic":
        return body(reading_type, systolic=value, diastolic=30)
    if name == "diastolic":
        return body(reading_type, systolic=250, diastolic=value)
    return body(reading_type, **{name: value})


def test_edges_cover_every_numeric_field() -> None:
    covered = {(t, f) for t, f, *_ in EDGES}
    assert covered == {(t, f) for t, names in NUMERIC_FIELDS.items() for f in names}


@pytest.mark.parametrize(("reading_type", "name", "low", "below", "high", "above"), EDGES)
def test_range_edges(
    reading_type: str, name: str, low: float, below: float, high: float, above: float
) -> None:
    spec = READING_TYPES[reading_type].numeric_field(name)
    assert (spec.minimum, spec.maximum) == (low, high)
    assert math.isclose(low - below, spec.step)
    assert math.isclose(above - high, spec.step)
    for accepted in (low, high):
        result = normalize(reading_type, _edge_body(reading_type, name, accepted))
        assert result.ok, result.problems
        assert result.values[name] == accepted
    for rejected in (below, above):
        problem = only_problem(reading_type, _edge_body(reading_type, name, rejected))
        assert problem.path == name
        assert "is outside the allowed range" in problem.message


UNITS_OF_FIELDS = [
    (reading_type, f, unit)
    for reading_type, spec in READING_TYPES.items()
    for f in spec.numeric
    for unit in f.accepted_units
]


@pytest.mark.parametrize(("reading_type", "f", "unit"), UNITS_OF_FIELDS)
def test_accepted_range_is_exact_and_stores_within_the_canonical_range(
    reading_type: str, f: NumericField, unit: str
) -> None:
    """The range the schema declares for a unit is exactly the one refused past: its edges are
    accepted and stored inside the canonical range, the next number beyond either is refused."""
    low, high = accepted_range(f, unit)
    if unit == f.unit:
        assert (low, high) == (f.minimum, f.maximum)
    with_unit = {"unit": unit} if READING_TYPES[reading_type].has_unit else {}
    for edge in (low, high):
        result = normalize(reading_type, {**_edge_body(reading_type, f.name, edge), **with_unit})
        assert result.ok, result.problems
        assert f.minimum <= float(result.values[f.name]) <= f.maximum
    # Whole-number fields refuse a fraction before its range; the next whole number then.
    if f.integer:
        outside = (low - 1, high + 1)
    else:
        outside = (math.nextafter(low, -math.inf), math.nextafter(high, math.inf))
    for beyond in outside:
        values = {**_edge_body(reading_type, f.name, beyond), **with_unit}
        problem = only_problem(reading_type, values)
        assert problem.path == f.name
        assert "is outside the allowed range" in problem.message


@pytest.mark.parametrize(
    ("reading_type", "values", "path", "message"),
    [
        (
            "blood_pressure",
            {"systolic": 301, "diastolic": 80},
            "systolic",
            "systolic 301 mm[Hg] is outside the allowed range 40-300 mm[Hg]",
        ),
        (
            "glucose",
            {"value": 60, "unit": "mmol/L"},
            "value",
            "glucose 60 mmol/L (1081 mg/dL) is outside the allowed range"
            " 10-1000 mg/dL (0.6-55.5 mmol/L)",
        ),
        (
            "weight",
            {"value": 1000, "unit": "[lb_av]"},
            "value",
            "weight 1000 [lb_av] (453.59 kg) is outside the allowed range"
            " 20-400 kg (44.1-881.8 [lb_av])",
        ),
        # 100 in = 254 cm; 19 in = 48.26 cm: just outside either edge, shown in both units.
        (
            "height",
            {"value": 100, "unit": "[in_i]"},
            "value",
            "height 100 [in_i] (254 cm) is outside the allowed range 50-250 cm (19.7-98.4 [in_i])",
        ),
        (
            "height",
            {"value": 19, "unit": "[in_i]"},
            "value",
            "height 19 [in_i] (48.3 cm) is outside the allowed range 50-250 cm (19.7-98.4 [in_i])",
        ),
        (
            "height",
            {"value": 170, "unit": "m"},
            "unit",
            "unit 'm' is not accepted for height; use one of: cm, [in_i]",
        ),
        ("height", {"value": 170}, "unit", "unit is required for height; use one of: cm, [in_i]"),
        (
            "ldl",
            {"value": 100, "unit": "mg/dL", "method": "estimated"},
            "method",
            "method 'estimated' is not accepted; use one of: direct, calculated",
        ),
        (
            "hba1c",
            {"value": 2, "unit": "mmol/mol"},
            "value",
            "HbA1c 2 mmol/mol (2.3 %) is outside the allowed range 3-20 % (10-195 mmol/mol)",
        ),
        (
            "steps",
            {"count": 100_001},
            "count",
            "step count 100001 is outside the allowed range 0-100000",
        ),
        (
            "blood_pressure",
            {"systolic": 120.5, "diastolic": 80},
            "systolic",
            "systolic 120.5 mm[Hg] must be a whole number",
        ),
        ("steps", {"count": 10.5}, "count", "step count 10.5 must be a whole number"),
        (
            "blood_pressure",
            {"systolic": 120, "diastolic": 120},
            "diastolic",
            "diastolic 120 mm[Hg] must be below systolic 120 mm[Hg]",
        ),
        (
            "blood_pressure",
            {"systolic": 110, "diastolic": 125},
            "diastolic",
            "diastolic 125 mm[Hg] must be below systolic 110 mm[Hg]",
        ),
        (
            "glucose",
            {"value": 100, "unit": "mg/dl"},
            "unit",
            "unit 'mg/dl' is not accepted for glucose; use one of: mg/dL, mmol/L",
        ),
        (
            "heart_rate",
            {"value": 70, "unit": "bpm"},
            "unit",
            "unit 'bpm' is not accepted for heart rate; use one of: /min",
        ),
        (
            "weight",
            {"value": 80, "unit": 1},
            "unit",
            "unit a int is not accepted for weight; use one of: kg, [lb_av]",
        ),
        (
            "weight",
            {"value": 80},
            "unit",
            "unit is required for weight; use one of: kg, [lb_av]",
        ),
        (
            "blood_pressure",
            {"systolic": True, "diastolic": 80},
            "systolic",
            "systolic must be a number, not true",
        ),
        (
            "glucose",
            {"value": False, "unit": "mg/dL"},
            "value",
            "glucose must be a number, not false",
        ),
        ("steps", {"count": True}, "count", "step count must be a number, not true"),
        (
            "blood_pressure",
            {"systolic": "120", "diastolic": 80},
            "systolic",
            "systolic must be a number, not the text '120'",
        ),
        (
            "glucose",
            {"value": math.nan, "unit": "mg/dL"},
            "value",
            "glucose must be a finite number, not NaN",
        ),
        (
            "weight",
            {"value": math.inf, "unit": "kg"},
            "value",
            "weight must be a finite number, not infinity",
        ),
        (
            "glucose",
            {"unit": "mg/dL"},
            "value",
            "value is required (glucose in mg/dL or mmol/L)",
        ),
        ("blood_pressure", {"systolic": 120}, "diastolic", "diastolic is required (in mm[Hg])"),
        ("steps", {}, "count", "count is required (step count)"),
        (
            "glucose",
            {"value": 100, "unit": "mg/dL", "specimen": "blood"},
            "specimen",
            "specimen 'blood' is not accepted; use one of: capillary, interstitial, venous",
        ),
        (
            "glucose",
            {"value": 100, "unit": "mg/dL", "comment": "after run"},
            "comment",
            "comment is not a field of a glucose reading;"
            " its fields are: value, unit, specimen, meal",
        ),
        (
            "blood_pressure",
            {"systolic": 120, "diastolic": 80, "unit": "mm[Hg]"},
            "unit",
            "unit is not a field of a blood pressure reading;"
            " its fields are: systolic, diastolic, pulse",
        ),
    ],
)
def test_problem(reading_type: str, values: dict[str, object], path: str, message: str) -> None:
    assert only_problem(reading_type, values) == FieldProblem(path, message)


@pytest.mark.parametrize("reading_type", ["bp", "", None, 3])
def test_unknown_type(reading_type: object) -> None:
    result = normalize(reading_type, {"value": 1})
    assert len(result.problems) == 1
    problem = result.problems[0]
    assert problem.path == "type"
    assert "is not a known reading type" in problem.message
    assert "blood_pressure" in problem.message
    assert "uacr" in problem.message


def test_every_problem_is_reported_at_once() -> None:
    result = normalize(
        "blood_pressure", {"systolic": 301, "diastolic": 80.5, "pulse": True, "note": "x"}
    )
    assert [p.path for p in result.problems] == ["note", "systolic", "diastolic", "pulse"]


@pytest.mark.parametrize(
    ("reading_type", "values", "code"),
    [
        ("glucose", {"value": 100.0, "unit": "mg/dL"}, "2339-0"),
        ("glucose", {"value": 100.0, "unit": "mg/dL", "specimen": "venous"}, "2339-0"),
        ("glucose", {"value": 100.0, "unit": "mg/dL", "specimen": "capillary"}, "41653-7"),
        ("glucose", {"value": 100.0, "unit": "mg/dL", "specimen": "interstitial"}, "99504-3"),
        ("blood_pressure", {"systolic": 120, "diastolic": 80}, "85354-9"),
        ("heart_rate", {"value": 60}, "8867-4"),
        ("weight", {"value": 80.0, "unit": "kg"}, "29463-7"),
        ("waist", {"value": 90.0, "unit": "cm"}, "8280-0"),
        ("steps", {"count": 1}, "41950-7"),
        ("hba1c", {"value": 6.5, "unit": "%"}, "4548-4"),
        # LDL by method: direct when not said (docs/rules.md "Codes and units").
        ("ldl", {"value": 100.0, "unit": "mg/dL"}, "18262-6"),
        ("ldl", {"value": 100.0, "unit": "mg/dL", "method": "direct"}, "18262-6"),
        ("ldl", {"value": 100.0, "unit": "mg/dL", "method": "calculated"}, "13457-7"),
        ("height", {"value": 170.0, "unit": "cm"}, "8302-2"),
        ("total_cholesterol", {"value": 200.0, "unit": "mg/dL"}, "2093-3"),
        ("hdl", {"value": 50.0, "unit": "mg/dL"}, "2085-9"),
        ("triglycerides", {"value": 150.0, "unit": "mg/dL"}, "2571-8"),
        ("egfr", {"value": 60.0}, "98979-8"),
        ("uacr", {"value": 30.0}, "14959-1"),
    ],
)
def test_loinc_code(reading_type: str, values: dict[str, object], code: str) -> None:
    assert loinc_code(reading_type, values) == code


@pytest.mark.parametrize(
    ("reading_type", "name", "unit", "code"),
    [
        ("blood_pressure", "systolic", "mm[Hg]", "8480-6"),
        ("blood_pressure", "diastolic", "mm[Hg]", "8462-4"),
        ("blood_pressure", "pulse", "/min", "8867-4"),
        ("glucose", "value", "mg/dL", "2339-0"),
        ("weight", "value", "kg", "29463-7"),
        ("waist", "value", "cm", "8280-0"),
        ("height", "value", "cm", "8302-2"),
        ("hba1c", "value", "%", "4548-4"),
        ("triglycerides", "value", "mg/dL", "2571-8"),
        ("egfr", "value", "mL/min/{1.73_m2}", "98979-8"),
        ("uacr", "value", "mg/g", "14959-1"),
        ("steps", "count", "{steps}", "41950-7"),
    ],
)
def test_component_unit_and_code(reading_type: str, name: str, unit: str, code: str) -> None:
    assert canonical_unit(reading_type, name) == unit
    assert component_loinc(reading_type, name) == code


def test_numeric_field_constants() -> None:
    assert NUMERIC_FIELDS["blood_pressure"] == ("systolic", "diastolic", "pulse")
    assert BLOOD_PRESSURE_COMPONENTS == ("systolic", "diastolic")
    assert NUMERIC_FIELDS["steps"] == ("count",)
    assert NUMERIC_FIELDS["glucose"] == ("value",)
    with pytest.raises(KeyError):
        canonical_unit("glucose", "unit")


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [(2.675, 2, 2.68), (99.05, 1, 99.1), (0.5, 0, 1.0), (-0.05, 1, -0.1), (81.6466266, 2, 81.65)],
)
def test_round_half_up(value: float, decimals: int, expected: float) -> None:
    assert round_half_up(value, decimals) == expected


# --- round trips, for every alternative unit ---------------------------------------------------

ALTERNATIVES = [
    pytest.param(name, f, conversion, id=f"{name}-{conversion.unit}")
    for name, spec in READING_TYPES.items()
    for f in spec.numeric
    for conversion in f.alternatives
]


def test_every_type_with_alternative_units_is_round_tripped() -> None:
    tripped = {p.values[0] for p in ALTERNATIVES}
    assert tripped == {
        name for name, spec in READING_TYPES.items() if any(f.alternatives for f in spec.numeric)
    }
    assert {"glucose", "weight", "hba1c", "ldl", "total_cholesterol"} <= tripped


def stored(reading_type: str, value: float, unit: str) -> float:
    result = normalize(reading_type, {"value": value, "unit": unit})
    assert result.ok, result.problems
    canonical = result.values["value"]
    assert isinstance(canonical, float)
    return canonical


@pytest.mark.parametrize(("reading_type", "f", "conversion"), ALTERNATIVES)
@PROPERTY
@given(data=st.data())
def test_alternative_unit_round_trips_within_the_resolution(
    reading_type: str, f: NumericField, conversion: Conversion, data: st.DataObject
) -> None:
    # Any value in range in the alternative unit, stored in the canonical unit and converted
    # back, is off by at most half the field's resolution (in the alternative unit).
    low, high = (conversion.from_canonical(edge) for edge in (f.minimum, f.maximum))
    value = data.draw(st.floats(low, high), label="value")
    back = conversion.from_canonical(stored(reading_type, value, conversion.unit))
    assert abs(back - value) <= f.step / 2 / conversion.factor * (1 + 1e-9)
    # Where the canonical resolution is the finer one, a value at the alternative unit's own
    # resolution comes back exactly (5.5 mmol/L -> 99.1 mg/dL -> 5.5 mmol/L).
    scale = 10**conversion.decimals
    if f.step < conversion.factor / scale:
        sent = data.draw(
            st.integers(math.ceil(low * scale), math.floor(high * scale)), label="sent"
        )
        back = conversion.from_canonical(stored(reading_type, sent / scale, conversion.unit))
        assert round_half_up(back, conversion.decimals) == sent / scale


@pytest.mark.parametrize(("reading_type", "f", "conversion"), ALTERNATIVES)
@PROPERTY
@given(data=st.data())
def test_canonical_value_sent_in_another_unit_is_stored_exactly(
    reading_type: str, f: NumericField, conversion: Conversion, data: st.DataObject
) -> None:
    scale = 10**f.decimals
    steps = st.integers(math.ceil(f.minimum * scale), math.floor(f.maximum * scale))
    canonical = data.draw(steps, label="canonical") / scale
    assert stored(reading_type, conversion.from_canonical(canonical), conversion.unit) == canonical
