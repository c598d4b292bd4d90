"""Alert rules for new readings: each threshold at, just below and just above its edge.

Expected edges are written out here from docs/rules.md "Scoring references" ("BP categories":
a crisis is systolic >= 180 or diastolic >= 120; "Glucose": level 2 below 54 mg/dL, level 1
below 70 mg/dL), not imported from the module.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from app.readings.alert_rules import alert_specs

READING_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")


def kinds(reading_type: str, values: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (s.kind, s.severity)
        for s in alert_specs(READING_ID, reading_type=reading_type, values=values)
    ]


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
    assert kinds("blood_pressure", {"systolic": systolic, "diastolic": diastolic}) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # Level 2 edge 54 mg/dL: strictly below opens level 2 (and only level 2).
        (10.0, LEVEL_2),
        (53.9, LEVEL_2),
        (54.0, LEVEL_1),
        (54.1, LEVEL_1),
        # Level 1 edge 70 mg/dL: strictly below opens level 1.
        (69.9, LEVEL_1),
        (70.0, []),
        (70.1, []),
        (400.0, []),
    ],
)
def test_hypoglycemia_edges(value: float, expected: list[tuple[str, str]]) -> None:
    assert kinds("glucose", {"value": value, "unit": "mg/dL"}) == expected


def test_alert_names_its_reading_and_values() -> None:
    (crisis,) = alert_specs(
        READING_ID, reading_type="blood_pressure", values={"systolic": 185, "diastolic": 95}
    )
    assert (crisis.source_type, crisis.source_id) == ("reading", READING_ID)
    assert crisis.details == {"systolic": 185, "diastolic": 95}
    (low,) = alert_specs(
        READING_ID, reading_type="glucose", values={"value": 50.0, "unit": "mg/dL"}
    )
    assert (low.source_type, low.source_id) == ("reading", READING_ID)
    assert low.details == {"value": 50.0, "unit": "mg/dL"}


@pytest.mark.parametrize(
    ("reading_type", "values"),
    [
        ("heart_rate", {"value": 250, "unit": "/min"}),
        ("weight", {"value": 20.0, "unit": "kg"}),
        ("hba1c", {"value": 3.0, "unit": "%"}),
        ("steps", {"count": 0}),
    ],
)
def test_other_types_open_no_alert(reading_type: str, values: dict[str, Any]) -> None:
    assert kinds(reading_type, values) == []
