"""Alert rules for readings: each threshold at, just below and just above its edge, and the
episodes series of readings make.

Expected edges are written out here from docs/rules.md, not imported from the module: "BP
categories" (a crisis is systolic >= 180 or diastolic >= 120), "Glucose" (level 2 below 54 mg/dL,
level 1 below 70 mg/dL) and "Alert episodes" (a hypoglycaemia episode needs 15 consecutive
minutes below the threshold to begin and 15 at or above it to end; a CGM reading stands for its
sampling interval, a blood glucose for 15 minutes; a crisis reading opens a blood-pressure
episode and the next reading that is not a crisis ends it).
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.readings.alert_rules import (
    BLOOD_PRESSURE_RULE,
    HYPOGLYCEMIA_RULE,
    Sample,
    alert_kinds,
    episodes,
    sample_minutes,
)
from tests.readings.helpers import PROPERTY

T0 = datetime(2025, 3, 3, 0, 0, tzinfo=UTC)
CRISIS = [("blood_pressure_crisis", "urgent")]
LEVEL_2 = [("hypoglycemia_level_2", "urgent")]
LEVEL_1 = [("hypoglycemia_level_1", "warning")]


@pytest.mark.parametrize(
    ("systolic", "diastolic", "expected"),
    [
        # Systolic edge 180, diastolic well below its own.
        (179, 80, []),
        (180, 80, CRISIS),
        (181, 80, CRISIS),
        # Diastolic edge 120, systolic well below its own.
        (150, 119, []),
        (150, 120, CRISIS),
        (150, 121, CRISIS),
        # Both just below: no crisis; both at the edge: still one alert.
        (179, 119, []),
        (180, 120, CRISIS),
        (120, 80, []),
    ],
)
def test_blood_pressure_crisis_edges(
    systolic: int, diastolic: int, expected: list[tuple[str, str]]
) -> None:
    assert alert_kinds("blood_pressure", {"systolic": systolic, "diastolic": diastolic}) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # Level 2 edge 54 mg/dL: strictly below is level 2 (and only level 2).
        (10.0, LEVEL_2),
        (53.9, LEVEL_2),
        (54.0, LEVEL_1),
        (54.1, LEVEL_1),
        # Level 1 edge 70 mg/dL: strictly below is level 1.
        (69.9, LEVEL_1),
        (70.0, []),
        (70.1, []),
        (400.0, []),
    ],
)
def test_hypoglycemia_edges(value: float, expected: list[tuple[str, str]]) -> None:
    assert alert_kinds("glucose", {"value": value, "unit": "mg/dL"}) == expected


@pytest.mark.parametrize(
    ("reading_type", "values"),
    [
        ("heart_rate", {"value": 250, "unit": "/min"}),
        ("weight", {"value": 20.0, "unit": "kg"}),
        ("hba1c", {"value": 3.0, "unit": "%"}),
        ("steps", {"count": 0}),
    ],
)
def test_other_types_have_no_alert(reading_type: str, values: dict[str, Any]) -> None:
    assert alert_kinds(reading_type, values) == []


@pytest.mark.parametrize(
    ("code", "sampling", "minutes"),
    [
        ("99504-3", 5, 5),  # CGM: its sensor's interval
        ("99504-3", 15, 15),
        ("99504-3", None, 5),  # no registered sensor: the default
        ("41653-7", None, 15),  # fingerstick (capillary): the full 15 minutes
        ("2339-0", None, 15),  # blood, venous or unspecified
    ],
)
def test_minutes_a_glucose_stands_for(code: str, sampling: int | None, minutes: int) -> None:
    assert sample_minutes(code=code, sampling_minutes=sampling, default=5) == minutes


# --- episodes -------------------------------------------------------------------------------


def cgm(*points: tuple[int, float], interval: int = 5) -> list[Sample]:
    """CGM samples at (minute, mg/dL)."""
    return [
        Sample(uuid.uuid4(), T0 + timedelta(minutes=m), {"value": v, "unit": "mg/dL"}, interval)
        for m, v in points
    ]


def meter(minute: int, value: float) -> Sample:
    at = T0 + timedelta(minutes=minute)
    return Sample(uuid.uuid4(), at, {"value": value, "unit": "mg/dL"}, 15)


def every_5(start: int, *values: float) -> list[tuple[int, float]]:
    return [(start + 5 * i, v) for i, v in enumerate(values)]


def summary(samples: list[Sample], rule: Any = HYPOGLYCEMIA_RULE, **kw: Any) -> list[Any]:
    """(kind, first minute, last minute, count, worst, ended minute or None) per episode."""

    def minute(at: datetime | None) -> int | None:
        return None if at is None else int((at - T0).total_seconds() // 60)

    return [
        (e.kind, minute(e.first_at), minute(e.last_at), e.count, e.worst, minute(e.ended_at))
        for e in episodes(samples, rule, **kw)
    ]


L2, L1 = "hypoglycemia_level_2", "hypoglycemia_level_1"
W50, W48, W60 = (
    {"value": 50, "unit": "mg/dL"},
    {"value": 48, "unit": "mg/dL"},
    {"value": 60, "unit": "mg/dL"},
)
HOUR_AT_50 = every_5(0, *[50] * 12)

GLUCOSE_CASES: list[tuple[str, list[Sample], list[Any]]] = [
    ("an hour at 50: one urgent episode of 12", cgm(*HOUR_AT_50), [(L2, 0, 55, 12, W50, None)]),
    (
        "back in range for 15 minutes ends it, at the first reading in range",
        cgm(*HOUR_AT_50, *every_5(60, 100, 100, 100)),
        [(L2, 0, 55, 12, W50, 60)],
    ),
    (
        "10 minutes in range does not end it; the readings after extend it",
        cgm(*HOUR_AT_50, *every_5(60, 100, 100), *every_5(70, 50, 50, 50)),
        [(L2, 0, 80, 15, W50, None)],
    ),
    (
        "after the end, the next low of 15 minutes is a new episode",
        cgm(*HOUR_AT_50, *every_5(60, 100, 100, 100), *every_5(75, 50, 50, 50)),
        [(L2, 0, 55, 12, W50, 60), (L2, 75, 85, 3, W50, None)],
    ),
    ("10 minutes low is no episode", cgm(*every_5(0, 50, 50, 100)), []),
    ("15 minutes low is one", cgm(*every_5(0, 50, 50, 50, 100)), [(L2, 0, 10, 3, W50, None)]),
    (
        "below 70 only: a warning",
        cgm(*every_5(0, 65, 60, 65, 90, 90, 90)),
        [(L1, 0, 10, 3, W60, 15)],
    ),
    (
        "a level 2 stretch under 15 minutes leaves it a warning",
        cgm(*every_5(0, 65, 60, 50, 50, 60, 90, 90, 90)),
        [(L1, 0, 20, 5, W50, 25)],
    ),
    (
        "level 2 reached inside a level 1 episode makes it urgent (one episode)",
        cgm(*every_5(0, 65, 58, 52, 48, 50, 60, 68, 75, 80, 90)),
        [(L2, 0, 30, 7, W48, 35)],
    ),
    (
        "a gap in the data neither counts nor ends: 2 readings, 2 hours, 1 reading",
        cgm((0, 50), (5, 50), (125, 50), (130, 100), (135, 100), (140, 100)),
        [(L2, 0, 125, 3, W50, 130)],
    ),
    (
        "a 15-minute sensor: one reading low is 15 minutes",
        cgm((0, 50), (15, 100), interval=15),
        [(L2, 0, 0, 1, W50, 15)],
    ),
    ("one fingerstick low opens at once", [meter(0, 50)], [(L2, 0, 0, 1, W50, None)]),
    (
        "one fingerstick in range ends a CGM episode",
        [*cgm(*HOUR_AT_50), meter(62, 90)],
        [(L2, 0, 55, 12, W50, 62)],
    ),
]


@pytest.mark.parametrize(
    ("samples", "expected"), [pytest.param(s, e, id=name) for name, s, e in GLUCOSE_CASES]
)
def test_glucose_episodes(samples: list[Sample], expected: list[Any]) -> None:
    assert summary(samples) == expected


def test_an_instant_sent_twice_counts_its_minutes_once() -> None:
    twice = cgm((0, 50), (0, 51), (5, 50), (5, 51))  # 10 minutes, not 20
    assert summary(twice) == []


def test_a_resolution_while_it_goes_on_ends_it_and_the_rest_begins_afresh() -> None:
    cut = T0 + timedelta(minutes=27)
    assert summary(cgm(*HOUR_AT_50), cuts=[cut]) == [
        (L2, 0, 25, 6, W50, 27),
        (L2, 30, 55, 6, W50, None),
    ]
    # After the cut, 10 minutes low is no new episode.
    assert summary(cgm(*HOUR_AT_50[:8]), cuts=[T0 + timedelta(minutes=27)]) == [
        (L2, 0, 25, 6, W50, 27)
    ]


def pressure(minute: int, systolic: int, diastolic: int) -> Sample:
    at = T0 + timedelta(minutes=minute)
    return Sample(uuid.uuid4(), at, {"systolic": systolic, "diastolic": diastolic})


BP_CASES: list[tuple[str, list[Sample], list[Any]]] = [
    (
        "three crisis readings in 3 minutes: one episode of 3",
        [pressure(0, 185, 125), pressure(1, 185, 125), pressure(2, 185, 125)],
        [("blood_pressure_crisis", 0, 2, 3, {"systolic": 185, "diastolic": 125}, None)],
    ),
    (
        "a reading that is not a crisis ends it; the next crisis is a new one",
        [pressure(0, 182, 95), pressure(10, 150, 90), pressure(20, 190, 100)],
        [
            ("blood_pressure_crisis", 0, 0, 1, {"systolic": 182, "diastolic": 95}, 10),
            ("blood_pressure_crisis", 20, 20, 1, {"systolic": 190, "diastolic": 100}, None),
        ],
    ),
    (
        "worst: the highest systolic + diastolic",
        [pressure(0, 200, 100), pressure(5, 170, 125), pressure(1440, 181, 80)],
        [("blood_pressure_crisis", 0, 1440, 3, {"systolic": 200, "diastolic": 100}, None)],
    ),
    ("no crisis, no episode", [pressure(0, 179, 119)], []),
]


@pytest.mark.parametrize(
    ("samples", "expected"), [pytest.param(s, e, id=name) for name, s, e in BP_CASES]
)
def test_blood_pressure_episodes(samples: list[Sample], expected: list[Any]) -> None:
    assert summary(samples, BLOOD_PRESSURE_RULE) == expected


def cgm_day(seed: int, *, lows: int = 4) -> list[tuple[int, float]]:
    """A day of 5-minute CGM: a slow walk in range with `lows` dips below 70 of 20 to 60
    minutes, some below 54, and noise that crosses 70 near the dips' edges."""
    rng = random.Random(seed)
    values = [rng.uniform(110, 170) for _ in range(288)]
    for _ in range(lows):
        start, length = rng.randrange(0, 270), rng.randrange(4, 13)
        depth = rng.choice([50.0, 58.0, 64.0])
        for i in range(start, min(start + length, 288)):
            values[i] = depth + rng.uniform(-4, 8)
    return [(5 * i, round(v, 1)) for i, v in enumerate(values)]


@pytest.mark.parametrize("seed", range(5))
def test_a_cgm_day_with_typical_lows_makes_a_handful(seed: int) -> None:
    day = cgm_day(seed)
    low_readings = sum(1 for _, v in day if v < 70)
    found = episodes(cgm(*day), HYPOGLYCEMIA_RULE)
    assert low_readings > 12
    assert 1 <= len(found) <= 6
    assert sum(e.count for e in found) <= low_readings


@PROPERTY
@given(
    values=st.lists(st.sampled_from([45.0, 52.0, 60.0, 68.0, 70.0, 90.0, 150.0]), max_size=40),
    seed=st.integers(0, 10**6),
)
def test_episodes_do_not_depend_on_the_order_readings_are_given(
    values: list[float], seed: int
) -> None:
    samples = cgm(*every_5(0, *values))
    shuffled = list(samples)
    random.Random(seed).shuffle(shuffled)
    assert summary(shuffled) == summary(samples)
    # Every reading below 70 is in at most one episode; none in range is counted.
    counted = [r for e in episodes(samples, HYPOGLYCEMIA_RULE) for r in e.reading_ids]
    lows = {s.id for s in samples if s.values["value"] < 70}
    assert len(counted) == len(set(counted))
    assert set(counted) <= lows
