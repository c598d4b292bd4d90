"""Outcome targets against the table of docs/rules.md "Outcome measures", with the real ruleset.

Every expected value is written out from that table (control and improvement routes, the goal,
the least-squares trend), never recomputed with the code's own formula. Rows "at the edge" are
exactly at a threshold; some of them are not exact in binary floating point, so they also check
that an exact change counts.
"""

from __future__ import annotations

import tomllib
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from app.outcomes.observations import Point
from app.outcomes.rules import (
    DEFAULT_RULESET,
    MeasureName,
    RulesError,
    Ruleset,
    Track,
    load_ruleset,
)
from app.outcomes.targets import Status, goal, least_advanced, meets, target_of, trend_projection

RULES = load_ruleset()
START = date(2026, 7, 5)


def day(n: int) -> date:
    """The date of care-period day `n` (day 1 = START)."""
    return START + timedelta(days=n - 1)


def pt(n: int, value: float, hour: int = 8) -> Point:
    d = day(n)
    return Point(uuid.uuid4(), datetime.combine(d, time(hour), tzinfo=UTC), d, value)


# (measure, track, baseline, current, bmi, met), from docs/rules.md "Outcome measures".
TARGETS: list[tuple[MeasureName, Track, float, float, float | None, bool]] = [
    # Blood pressure: control systolic < 130; or at least 15 mmHg below baseline.
    ("blood_pressure", "eCKM", 150, 129.9, None, True),
    ("blood_pressure", "eCKM", 140, 130, None, False),  # 130 is not below 130
    ("blood_pressure", "CKM", 160, 145, None, True),  # exactly 15 below
    ("blood_pressure", "CKM", 160, 145.1, None, False),
    ("blood_pressure", "CKM", 120, 128, None, True),  # control, though higher than baseline
    # Weight: control BMI < 30 with a gain of at most 5 %; or at least 5 % lost.
    ("weight", "eCKM", 100, 95, 33.0, True),  # exactly 5 % lost
    ("weight", "eCKM", 100, 95.1, 33.0, False),
    ("weight", "CKM", 80, 84, 29.1, True),  # BMI < 30, exactly 5 % gained
    ("weight", "CKM", 88, 92.4, 29.0, True),  # 5 % gained, 5.000000000000006 in floats
    ("weight", "CKM", 80, 84.1, 29.1, False),  # 5.125 % gained
    ("weight", "CKM", 86, 87, 30.0, False),  # BMI 30 is not below 30
    ("weight", "CKM", 86, 87, 29.9, True),
    ("weight", "eCKM", 90, 88, 29.0, True),  # lost 2.2 %, BMI under 30
    ("weight", "eCKM", 80, 84, None, False),  # no height, no BMI: only the loss route
    ("weight", "eCKM", 90, 85.5, None, True),  # 5 % lost needs no BMI
    # HbA1c (provisional): control < 5.7 % (eCKM) or < 7.0 % (CKM); or a fall of 0.5 points.
    ("hba1c", "eCKM", 6.0, 5.6, None, True),
    ("hba1c", "eCKM", 5.9, 5.7, None, False),
    ("hba1c", "eCKM", 6.5, 6.0, None, True),  # exactly 0.5 down
    ("hba1c", "eCKM", 6.5, 6.9, None, False),  # < 7.0 is the CKM control, not eCKM's
    ("hba1c", "CKM", 6.5, 6.9, None, True),
    ("hba1c", "CKM", 8.0, 6.9, None, True),
    ("hba1c", "CKM", 7.4, 7.0, None, False),
    ("hba1c", "CKM", 9.0, 8.5, None, True),
    ("hba1c", "CKM", 8.2, 7.7, None, True),  # 0.5 down, 0.4999999999999991 in floats
    ("hba1c", "CKM", 9.0, 8.6, None, False),
    # LDL (provisional): control < 100 (eCKM) or < 70 mg/dL (CKM); or at least 30 % down.
    ("ldl", "eCKM", 130, 99, None, True),
    ("ldl", "eCKM", 120, 100, None, False),
    ("ldl", "eCKM", 184, 128.8, None, True),  # 30 % down, 29.999999999999993 in floats
    ("ldl", "CKM", 90, 69, None, True),
    ("ldl", "CKM", 85, 70, None, False),
    ("ldl", "CKM", 95, 80, None, False),  # < 100 is eCKM's control, not CKM's
    ("ldl", "CKM", 150, 105, None, True),  # exactly 30 % down
    ("ldl", "CKM", 150, 105.1, None, False),
    # Pain intensity (provisional): down 2 points or 30 %.
    ("pain_intensity", "MSK", 8, 6, None, True),
    ("pain_intensity", "MSK", 8, 7, None, False),
    ("pain_intensity", "MSK", 3, 2, None, True),  # 1 point is 33 %
    ("pain_intensity", "MSK", 4, 3, None, False),  # 1 point, 25 %
    ("pain_intensity", "MSK", 5, 3.5, None, True),  # exactly 30 %
    ("pain_intensity", "MSK", 10, 8.1, None, False),  # 1.9 points, 19 %
    # Pain interference (provisional): T-score down 3.
    ("pain_interference", "MSK", 62.5, 59.5, None, True),
    ("pain_interference", "MSK", 62.5, 59.6, None, False),
    ("pain_interference", "MSK", 62.5, 65.5, None, False),  # worse
    # Physical function (provisional): T-score up 3 (higher is better).
    ("physical_function", "MSK", 36.8, 39.8, None, True),
    ("physical_function", "MSK", 36.8, 39.7, None, False),
    ("physical_function", "MSK", 40, 37, None, False),  # down 3 is the wrong way
    # Depression, PHQ-9 (provisional): down 5 points or 50 %.
    ("depression", "BH", 18, 13, None, True),
    ("depression", "BH", 18, 14, None, False),
    ("depression", "BH", 8, 4, None, True),  # 50 %
    ("depression", "BH", 9, 5, None, False),  # 4 points, 44 %
    # Anxiety, GAD-7 (provisional): down 4 points or 50 %.
    ("anxiety", "BH", 15, 11, None, True),
    ("anxiety", "BH", 15, 12, None, False),
    ("anxiety", "BH", 6, 3, None, True),  # 50 %
    ("anxiety", "BH", 7, 4, None, False),  # 3 points, 43 %
]


@pytest.mark.parametrize(("measure", "track", "baseline", "current", "bmi", "met"), TARGETS)
def test_meets(
    measure: MeasureName,
    track: Track,
    baseline: float,
    current: float,
    bmi: float | None,
    met: bool,
) -> None:
    rule = RULES.measure(measure)
    assert meets(rule, track=track, baseline=baseline, current=current, bmi=bmi) is met


# (measure, baseline, goal): the easier of the improvement routes, rounded to 0.1.
GOALS: list[tuple[MeasureName, float | None, float | None]] = [
    ("blood_pressure", 150, 135.0),
    ("weight", 100, 95.0),
    ("weight", 87.3, 82.9),  # 87.3 x 0.95 = 82.935
    ("hba1c", 8.4, 7.9),
    ("ldl", 150, 105.0),
    ("pain_intensity", 8, 6.0),  # 2 points (6) is easier than 30 % (5.6)
    ("pain_intensity", 5, 3.5),  # 30 % (3.5) is easier than 2 points (3)
    ("pain_interference", 62.5, 59.5),
    ("physical_function", 36.8, 39.8),  # higher is better: up 3
    ("depression", 18, 13.0),  # 5 points (13) is easier than 50 % (9)
    ("depression", 8, 4.0),  # 50 % (4) is easier than 5 points (3)
    ("anxiety", 15, 11.0),
    ("anxiety", 6, 3.0),
    ("blood_pressure", None, None),  # no baseline, no goal
    ("egfr_uacr", 52, None),  # a submission has no target
    ("function_whodas", 30, None),
]


@pytest.mark.parametrize(("measure", "baseline", "expected"), GOALS)
def test_goal(measure: MeasureName, baseline: float | None, expected: float | None) -> None:
    assert goal(RULES.measure(measure), baseline=baseline) == expected


TARGETS_SHOWN: list[tuple[MeasureName, Track, float | None, dict[str, float | str | None]]] = [
    (
        "blood_pressure",
        "CKM",
        150,
        {
            "kind": "target",
            "unit": "mm[Hg]",
            "better": "lower",
            "control_below": 130,
            "improvement": 15,
            "goal": 135.0,
            "provisional": "no",
        },
    ),
    (
        "weight",
        "eCKM",
        100,
        {
            "kind": "target",
            "unit": "kg",
            "better": "lower",
            "control_bmi_below": 30,
            "control_max_gain_percent": 5,
            "improvement_percent": 5,
            "goal": 95.0,
            "provisional": "no",
        },
    ),
    (
        "hba1c",
        "eCKM",
        None,
        {
            "kind": "target",
            "unit": "%",
            "better": "lower",
            "control_below": 5.7,
            "improvement": 0.5,
            "goal": None,
            "provisional": "yes",
        },
    ),
    (
        "ldl",
        "CKM",
        100,
        {
            "kind": "target",
            "unit": "mg/dL",
            "better": "lower",
            "control_below": 70,
            "improvement_percent": 30,
            "goal": 70.0,
            "provisional": "yes",
        },
    ),
    (
        "physical_function",
        "MSK",
        40,
        {
            "kind": "target",
            "unit": "{T-score}",
            "better": "higher",
            "improvement": 3,
            "goal": 43.0,
            "provisional": "yes",
        },
    ),
    ("egfr_uacr", "CKM", None, {"kind": "submission", "sources": "egfr, uacr"}),
    ("global_impression", "BH", None, {"kind": "submission", "sources": "checkin:pgic:total"}),
]


@pytest.mark.parametrize(("measure", "track", "baseline", "expected"), TARGETS_SHOWN)
def test_target_of(
    measure: MeasureName,
    track: Track,
    baseline: float | None,
    expected: dict[str, float | str | None],
) -> None:
    assert target_of(RULES.measure(measure), track=track, baseline=baseline) == expected


# (case, points as (day, value), window first..last day, projected to day, expected)
TRENDS: list[tuple[str, list[tuple[int, float]], int, int, int, float | None]] = [
    ("daily means 11, 12, 13: +1 a day", [(1, 10), (1, 12), (2, 12), (3, 13)], 1, 3, 11, 21.0),
    ("flat", [(90, 150), (95, 150), (100, 150)], 71, 100, 365, 150.0),
    ("-0.1 a day to day 365", [(90, 150), (95, 149.5), (100, 149)], 71, 100, 365, 122.5),
    ("two days are a line", [(10, 100), (20, 90)], 1, 30, 30, 80.0),
    ("one day is no trend", [(10, 100), (10, 90)], 1, 30, 365, None),
    ("days outside the window do not count", [(5, 200), (10, 100), (20, 90)], 6, 30, 30, 80.0),
    ("after the window's last day", [(10, 100), (31, 50)], 1, 30, 365, None),
    ("no points", [], 1, 30, 365, None),
]


@pytest.mark.parametrize(
    ("points", "first", "last", "end", "expected"),
    [pytest.param(p, f, la, e, x, id=case) for case, p, f, la, e, x in TRENDS],
)
def test_trend_projection(
    points: list[tuple[int, float]], first: int, last: int, end: int, expected: float | None
) -> None:
    series = [pt(d, v, hour=8 + i) for i, (d, v) in enumerate(points)]
    assert trend_projection(series, first=day(first), last=day(last), end=day(end)) == expected


LEAST_ADVANCED: list[tuple[list[Status], Status | None]] = [
    (["met", "on_track", "no_baseline"], "no_baseline"),
    (["met", "insufficient_data", "off_track"], "off_track"),
    (["on_track", "insufficient_data"], "insufficient_data"),
    (["met", "on_track"], "on_track"),
    (["met", "met"], "met"),
    (["off_track", "no_baseline"], "no_baseline"),  # no baseline is further from the goal
    (["on_track", "off_track"], "off_track"),
    (["met", "not_applicable"], "met"),  # not applicable is never a patient's status
    (["not_applicable"], None),
    ([], None),
]


@pytest.mark.parametrize(("statuses", "expected"), LEAST_ADVANCED)
def test_least_advanced(statuses: list[Status], expected: Status | None) -> None:
    assert least_advanced(statuses) == expected


# (measure, track, conditions, applies), from the "Applies when" column.
APPLICABILITY: list[tuple[MeasureName, Track, tuple[str, ...], bool]] = [
    ("blood_pressure", "eCKM", ("hypertension",), True),
    ("blood_pressure", "eCKM", ("dyslipidemia", "prediabetes"), False),
    ("blood_pressure", "CKM", ("diabetes",), True),
    ("weight", "eCKM", ("hypertension",), False),
    ("weight", "eCKM", ("hypertension", "overweight_central"), True),
    ("weight", "CKM", ("ascvd", "obesity"), True),
    ("weight", "CKM", ("ascvd",), False),
    ("hba1c", "eCKM", ("prediabetes", "obesity"), True),
    ("hba1c", "eCKM", ("hypertension",), False),
    ("hba1c", "CKM", ("diabetes",), True),
    ("hba1c", "CKM", ("ckd_3a",), False),
    ("ldl", "eCKM", ("dyslipidemia", "obesity"), True),
    ("ldl", "eCKM", ("hypertension",), False),
    ("ldl", "CKM", ("ckd_3b",), True),
    ("egfr_uacr", "CKM", ("ckd_3a",), True),
    ("egfr_uacr", "CKM", ("ckd_3b",), True),
    ("egfr_uacr", "CKM", ("diabetes",), True),
    ("egfr_uacr", "CKM", ("ascvd",), False),
    ("egfr_uacr", "eCKM", ("prediabetes", "obesity"), False),
    ("pain_intensity", "MSK", ("chronic_msk_pain",), True),
    ("physical_function", "BH", ("depression",), False),
    ("depression", "BH", ("anxiety",), False),
    ("depression", "BH", ("depression",), True),
    ("anxiety", "BH", ("depression",), False),
    ("anxiety", "BH", ("anxiety", "depression"), True),
    ("function_whodas", "BH", ("anxiety",), True),
    ("global_impression", "MSK", ("chronic_msk_pain",), True),
    ("global_impression", "BH", ("depression",), True),
    ("global_impression", "CKM", ("diabetes",), False),
    ("depression", "MSK", ("chronic_msk_pain",), False),
]


@pytest.mark.parametrize(("measure", "track", "conditions", "applies"), APPLICABILITY)
def test_applicability(
    measure: MeasureName, track: Track, conditions: tuple[str, ...], applies: bool
) -> None:
    assert RULES.measure(measure).applies_to(track, conditions=conditions) is applies


def _changed_toml(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_RULESET.read_text()
    assert old in text
    changed = tmp_path / "rules.toml"
    changed.write_text(text.replace(old, new))
    return changed


def test_changing_a_threshold_is_a_data_change(tmp_path: Path) -> None:
    rules: Ruleset = load_ruleset(
        _changed_toml(tmp_path, "improvement = 15\n", "improvement = 10\n")
    )
    assert not meets(RULES.measure("blood_pressure"), track="CKM", baseline=150, current=139)
    assert meets(rules.measure("blood_pressure"), track="CKM", baseline=150, current=139)


def test_a_broken_ruleset_stops_with_the_reason(tmp_path: Path) -> None:
    broken = _changed_toml(tmp_path, "withhold = 0.50", "withhold = 1.5")
    with pytest.raises(RulesError, match="withhold"):
        load_ruleset(broken)


def test_a_target_without_a_route_is_refused() -> None:
    data = tomllib.loads(DEFAULT_RULESET.read_text())
    bp = data["measures"][0]
    assert bp["name"] == "blood_pressure"
    del bp["control_below"], bp["improvement"]
    with pytest.raises(ValueError, match="neither a control nor an improvement target"):
        Ruleset.model_validate(data)


def test_checkin_and_lab_measures_come_from_their_sources() -> None:
    assert {m.name for m in RULES.measures if m.from_checkins} == {
        "pain_intensity",
        "pain_interference",
        "physical_function",
        "depression",
        "anxiety",
        "function_whodas",
        "global_impression",
    }
    assert {m.name for m in RULES.measures if m.from_labs} == {"hba1c", "ldl", "egfr_uacr"}
    assert {m.name for m in RULES.measures if m.is_blood_pressure} == {"blood_pressure"}
