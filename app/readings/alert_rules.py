"""Which alerts a newly stored reading opens: blood pressure crisis, hypoglycaemia.

Pure rules: plain functions over plain data, no I/O (the caller opens the alerts, in the same
transaction as the reading; see `app/readings/ingest.py`).

Invariants:
- values are canonical (mm[Hg], mg/dL), so a threshold is one number whatever unit was sent;
- edges as the rules doc states them: a crisis is systolic >= 180 or diastolic >= 120;
  hypoglycaemia is strictly below 54 mg/dL (level 2) or 70 mg/dL (level 1);
- a reading opens at most one alert: a glucose below level 2 opens level 2 only.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Final

from app.alerts.service import AlertSpec, Severity

SOURCE_TYPE: Final = "reading"

# docs/rules.md "Scoring references" > "BP categories": hypertensive crisis.
BP_CRISIS_SYSTOLIC: Final = 180
BP_CRISIS_DIASTOLIC: Final = 120
# docs/rules.md "Scoring references" > "Glucose": level 2 (< 54 mg/dL), level 1 (< 70 mg/dL).
GLUCOSE_LEVEL_2: Final = 54.0
GLUCOSE_LEVEL_1: Final = 70.0

# Most severe first: a glucose opens the first level it is below.
HYPOGLYCEMIA_LEVELS: Final[tuple[tuple[float, str, Severity], ...]] = (
    (GLUCOSE_LEVEL_2, "hypoglycemia_level_2", "urgent"),
    (GLUCOSE_LEVEL_1, "hypoglycemia_level_1", "warning"),
)


def alert_specs(
    reading_id: uuid.UUID, *, reading_type: str, values: Mapping[str, Any]
) -> list[AlertSpec]:
    """The alerts a newly stored reading opens (canonical values; at most one)."""
    if reading_type == "blood_pressure":
        systolic, diastolic = values["systolic"], values["diastolic"]
        if systolic >= BP_CRISIS_SYSTOLIC or diastolic >= BP_CRISIS_DIASTOLIC:
            details = {"systolic": systolic, "diastolic": diastolic}
            return [_spec("blood_pressure_crisis", "urgent", reading_id, details)]
    elif reading_type == "glucose":
        value = values["value"]
        for below, kind, severity in HYPOGLYCEMIA_LEVELS:
            if value < below:
                return [_spec(kind, severity, reading_id, {"value": value, "unit": "mg/dL"})]
    return []


def _spec(
    kind: str, severity: Severity, reading_id: uuid.UUID, details: dict[str, Any]
) -> AlertSpec:
    return AlertSpec(
        kind=kind,
        severity=severity,
        source_type=SOURCE_TYPE,
        source_id=reading_id,
        details=details,
    )
