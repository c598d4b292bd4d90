"""A measure's value on a report date, against docs/rules.md "Data rules", with the real ruleset.

Blood pressure is the mean of at least 3 readings of the 15 days up to and including the
report date; weight and PROM scores the latest of those 15 days (weight with the BMI of the
latest height at or before it); labs the latest of the 365 days up to the report date; eGFR and
UACR both or nothing. A baseline found in the data is the value on the earliest day of days
1..60 that has one. Expected values are written out, never recomputed by the code.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

import pytest

from app.outcomes.observations import CarePeriod, Point, Value
from app.outcomes.rules import MeasureName, Track, load_ruleset
from app.outcomes.values import earliest_baseline, missing_readings, value_on

RULES = load_ruleset()
W = RULES.windows
START = date(2026, 7, 5)
END = date(2027, 7, 4)  # day 365


def day(n: int) -> date:
    """The date of care-period day `n` (day 1 = START; day 0 is the day before it)."""
    return START + timedelta(days=n - 1)


def pt(n: int, value: float, secondary: float | None = None, hour: int = 8) -> Point:
    d = day(n)
    return Point(uuid.uuid4(), datetime.combine(d, time(hour), tzinfo=UTC), d, value, secondary)


def series(days_values: Sequence[tuple[int, float]], *, bp: bool = False) -> list[Point]:
    """Points oldest first; same-day points an hour apart; blood pressure with diastolic
    50 below systolic."""
    return [pt(d, v, v - 50 if bp else None, hour=6 + i) for i, (d, v) in enumerate(days_values)]


def period(track: Track = "CKM", *conditions: str) -> CarePeriod:
    return CarePeriod(track, conditions or ("diabetes",), START, END)


def on(measure: MeasureName, sources: dict[str, list[Point]], report_day: int) -> Value | None:
    return value_on(RULES.measure(measure), windows=W, sources=sources, report_date=day(report_day))


# --- blood pressure ---------------------------------------------------------------------------

# (case, systolic readings as (day, value), expected (mean systolic, n, mean diastolic) on day 100)
BLOOD_PRESSURE: list[tuple[str, list[tuple[int, float]], tuple[float, int, float] | None]] = [
    ("three readings in the 15 days", [(86, 150), (90, 140), (100, 130)], (140.0, 3, 90.0)),
    ("day 85 is 16 days back", [(85, 150), (90, 140), (100, 130)], None),
    ("two readings are not enough", [(95, 140), (100, 130)], None),
    (
        "the mean of all, not the last three",
        [(87, 160), (90, 150), (95, 140), (100, 130)],
        (145.0, 4, 95.0),
    ),
    ("a reading after the report date does not count", [(90, 150), (95, 140), (101, 130)], None),
    ("one day's readings", [(100, 131), (100, 132), (100, 133)], (132.0, 3, 82.0)),
    ("rounded to 0.1", [(90, 131), (95, 132), (100, 132)], (131.7, 3, 81.7)),
    ("none", [], None),
]


@pytest.mark.parametrize(
    ("readings", "expected"),
    [pytest.param(r, e, id=case) for case, r, e in BLOOD_PRESSURE],
)
def test_blood_pressure_value(
    readings: list[tuple[int, float]], expected: tuple[float, int, float] | None
) -> None:
    points = series(readings, bp=True)
    value = on("blood_pressure", {"blood_pressure": points}, 100)
    if expected is None:
        assert value is None
        return
    assert value is not None
    assert (value.value, value.n, value.secondary) == expected
    counted = [p for p in points if day(86) <= p.day <= day(100)]  # the 15 days, by hand
    assert value.ids == tuple(p.id for p in counted)


# --- weight and BMI ---------------------------------------------------------------------------

# (case, weights as (day, kg, hour), heights as (day, cm, hour), expected (kg, BMI) on day 100)
WEIGHTS: list[
    tuple[
        str,
        list[tuple[int, float, int]],
        list[tuple[int, float, int]],
        tuple[float, float | None] | None,
    ]
] = [
    ("the latest of the 15 days", [(90, 82.0, 8), (99, 81.0, 8)], [(1, 170, 8)], (81.0, 28.0)),
    ("16 days old does not count", [(85, 82.0, 8)], [(1, 170, 8)], None),
    ("after the report date does not count", [(101, 82.0, 8)], [(1, 170, 8)], None),
    ("no height: no BMI", [(99, 80.0, 8)], [], (80.0, None)),
    ("a later height is not used", [(99, 80.0, 8)], [(100, 170, 8)], (80.0, None)),
    ("the latest height before it", [(99, 80.0, 8)], [(1, 170, 8), (50, 180, 8)], (80.0, 24.7)),
    ("an earlier height that day", [(99, 80.0, 8)], [(1, 170, 8), (99, 180, 7)], (80.0, 24.7)),
    ("a later height that day", [(99, 80.0, 8)], [(1, 170, 8), (99, 180, 9)], (80.0, 27.7)),
    ("a height taken long before", [(99, 87.0, 8)], [(-400, 170, 8)], (87.0, 30.1)),
]


@pytest.mark.parametrize(
    ("weights", "heights", "expected"),
    [pytest.param(w, h, e, id=case) for case, w, h, e in WEIGHTS],
)
def test_weight_value_and_bmi(
    weights: list[tuple[int, float, int]],
    heights: list[tuple[int, float, int]],
    expected: tuple[float, float | None] | None,
) -> None:
    height_points = [pt(d, cm, hour=h) for d, cm, h in heights]
    sources = {"weight": [pt(d, kg, hour=h) for d, kg, h in weights], "height": height_points}
    value = on("weight", sources, 100)
    if expected is None:
        assert value is None
        return
    assert value is not None
    assert (value.value, value.bmi) == expected
    assert value.n == 1
    assert (value.height_id is None) is (expected[1] is None)


def test_weight_names_the_height_it_used() -> None:
    short, tall = pt(1, 170), pt(50, 180)
    weight = pt(99, 80.0)
    value = on("weight", {"weight": [weight], "height": [short, tall]}, 100)
    assert value is not None
    assert (value.ids, value.height_id, value.bmi) == ((weight.id,), tall.id, 24.7)


# --- PROM scores ------------------------------------------------------------------------------

# (case, PHQ-9 totals as (day, score), expected score on day 100)
PROMS: list[tuple[str, list[tuple[int, float]], float | None]] = [
    ("the latest of the 15 days", [(60, 20), (88, 14), (97, 12)], 12),
    ("day 86 is the 15th day", [(86, 12)], 12),
    ("day 85 is 16 days back", [(85, 12)], None),
    ("after the report date does not count", [(90, 14), (101, 9)], 14),
]


@pytest.mark.parametrize(
    ("scores", "expected"), [pytest.param(s, e, id=case) for case, s, e in PROMS]
)
def test_prom_value(scores: list[tuple[int, float]], expected: float | None) -> None:
    value = on("depression", {"checkin:phq9:total": series(scores)}, 100)
    assert (value.value if value else None) == expected


# --- labs -------------------------------------------------------------------------------------

# (case, HbA1c results as (day, %), report day, expected %)
LABS: list[tuple[str, list[tuple[int, float]], int, float | None]] = [
    ("364 days old counts (the 365th day)", [(36, 8.0)], 400, 8.0),
    ("365 days old does not", [(35, 8.0)], 400, None),
    ("the latest result", [(36, 8.0), (300, 7.5)], 400, 7.5),
    ("a result after the report date does not count", [(401, 6.0)], 400, None),
    ("a result before the period counts on day 1", [(-99, 8.4)], 1, 8.4),
]


@pytest.mark.parametrize(
    ("results", "report_day", "expected"),
    [pytest.param(r, d, e, id=case) for case, r, d, e in LABS],
)
def test_lab_value(
    results: list[tuple[int, float]], report_day: int, expected: float | None
) -> None:
    value = on("hba1c", {"hba1c": series(results)}, report_day)
    assert (value.value if value else None) == expected


# (case, eGFR results, UACR results, report day, expected components)
KIDNEY: list[
    tuple[str, list[tuple[int, float]], list[tuple[int, float]], int, dict[str, float] | None]
] = [
    ("both", [(-30, 52)], [(10, 45)], 30, {"egfr": 52, "uacr": 45}),
    ("the latest of each", [(-30, 52), (20, 48)], [(10, 45)], 30, {"egfr": 48, "uacr": 45}),
    ("eGFR alone is nothing", [(-30, 52)], [], 30, None),
    ("UACR alone is nothing", [], [(10, 45)], 30, None),
    ("one of them too old is nothing", [(-340, 52)], [(10, 45)], 30, None),
]


@pytest.mark.parametrize(
    ("egfr", "uacr", "report_day", "expected"),
    [pytest.param(e, u, d, x, id=case) for case, e, u, d, x in KIDNEY],
)
def test_egfr_and_uacr_are_both_or_nothing(
    egfr: list[tuple[int, float]],
    uacr: list[tuple[int, float]],
    report_day: int,
    expected: dict[str, float] | None,
) -> None:
    sources = {"egfr": series(egfr), "uacr": series(uacr)}
    value = on("egfr_uacr", sources, report_day)
    if expected is None:
        assert value is None
        return
    assert value is not None
    assert value.components == expected
    assert (value.value, value.n) == (expected["egfr"], 2)
    assert set(value.ids) == {sources["egfr"][-1].id, sources["uacr"][-1].id}


# --- baselines from the data ------------------------------------------------------------------

# (case, measure, source, points as (day, value), until day, expected (day, value, n))
BASELINES: list[
    tuple[str, MeasureName, str, list[tuple[int, float]], int, tuple[int, float, int] | None]
] = [
    (
        "BP days 58, 65, 70: only one lies in a window ending by day 60",
        "blood_pressure",
        "blood_pressure",
        [(58, 150), (65, 150), (70, 150)],
        100,
        None,
    ),
    (
        "BP days 50, 55, 60 make one dated day 60",
        "blood_pressure",
        "blood_pressure",
        [(50, 150), (55, 152), (60, 154)],
        100,
        (60, 152.0, 3),
    ),
    (
        "BP: the first 15 days holding three readings",
        "blood_pressure",
        "blood_pressure",
        [(10, 170), (20, 168), (30, 150), (35, 152), (44, 154), (50, 160)],
        100,
        (44, 152.0, 3),
    ),
    (
        "BP: not after `until`",
        "blood_pressure",
        "blood_pressure",
        [(50, 150), (55, 152), (60, 154)],
        59,
        None,
    ),
    (
        "a lab before the period is the baseline on day 1",
        "hba1c",
        "hba1c",
        [(-99, 8.4)],
        100,
        (1, 8.4, 1),
    ),
    ("a lab 365 days before day 1 is too old", "hba1c", "hba1c", [(-364, 8.4)], 100, None),
    ("a lab on day 60", "ldl", "ldl", [(60, 130)], 100, (60, 130, 1)),
    ("a lab on day 61 is too late", "ldl", "ldl", [(61, 130)], 100, None),
    ("PHQ-9 on day 60", "depression", "checkin:phq9:total", [(60, 15)], 100, (60, 15, 1)),
    ("PHQ-9 on day 61 is too late", "depression", "checkin:phq9:total", [(61, 15)], 100, None),
    (
        "the earliest score, not the latest",
        "depression",
        "checkin:phq9:total",
        [(5, 18), (40, 12)],
        100,
        (5, 18, 1),
    ),
]


@pytest.mark.parametrize(
    ("measure", "source", "points", "until", "expected"),
    [pytest.param(m, s, p, u, e, id=case) for case, m, s, p, u, e in BASELINES],
)
def test_earliest_baseline(
    measure: MeasureName,
    source: str,
    points: list[tuple[int, float]],
    until: int,
    expected: tuple[int, float, int] | None,
) -> None:
    sources = {source: series(points, bp=source == "blood_pressure")}
    found = earliest_baseline(
        RULES.measure(measure), windows=W, period=period(), sources=sources, until=day(until)
    )
    if expected is None:
        assert found is None
        return
    assert found is not None
    on_day, value = found
    assert (on_day, value.value, value.n) == (day(expected[0]), expected[1], expected[2])


def test_kidney_baseline_is_dated_when_both_results_are_there() -> None:
    sources = {"egfr": series([(10, 52)]), "uacr": series([(30, 45)])}
    found = earliest_baseline(
        RULES.measure("egfr_uacr"), windows=W, period=period(), sources=sources, until=day(100)
    )
    assert found is not None
    assert (found[0], found[1].components) == (day(30), {"egfr": 52, "uacr": 45})


def test_no_baseline_before_the_period_starts() -> None:
    sources = {"hba1c": series([(-99, 8.4)])}
    assert (
        earliest_baseline(
            RULES.measure("hba1c"), windows=W, period=period(), sources=sources, until=day(0)
        )
        is None
    )


# --- missing readings -------------------------------------------------------------------------

# (case, reading days, more readings needed for a report on day 100)
MISSING: list[tuple[str, list[int], int]] = [
    ("none", [], 3),
    ("one", [100], 2),
    ("two", [90, 95], 1),
    ("three", [86, 90, 100], 0),
    ("four: never negative", [87, 90, 95, 100], 0),
    ("out of the 15 days", [70, 85], 3),
]


@pytest.mark.parametrize(("days", "more"), [pytest.param(d, m, id=case) for case, d, m in MISSING])
def test_missing_readings(days: list[int], more: int) -> None:
    sources = {"blood_pressure": series([(d, 140) for d in days], bp=True)}
    assert (
        missing_readings(
            RULES.measure("blood_pressure"), windows=W, sources=sources, report_date=day(100)
        )
        == more
    )
