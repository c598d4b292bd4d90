from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from app.outcomes.rules import Track
from app.schemas import ReadModel, StrictModel, TextLine

Severity = Literal["urgent", "warning"]
AlertStatus = Literal["open", "acknowledged", "resolved"]
Transition = Literal["acknowledge", "resolve"]
# docs/rules.md "Alert episodes" and "PHQ-9".
AlertKind = Literal[
    "blood_pressure_crisis",
    "hypoglycemia_level_1",
    "hypoglycemia_level_2",
    "self_harm_risk",
    "safety_item_missing",
    "no_data",
    "report_due",
]
NOTE_MAX_LENGTH = 1000


class AlertNote(StrictModel):
    """An optional note kept with an acknowledgement or a resolution."""

    note: Annotated[str, TextLine(max_length=NOTE_MAX_LENGTH)] | None = Field(
        None, description="What was done or decided; one line, at most 1000 characters."
    )


class AlertRead(ReadModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    patient_name: str = Field(description="The patient's given and family names.")
    tracks: list[Track] = Field(description="The tracks of the patient's current enrollments.")
    kind: AlertKind
    severity: Severity
    status: AlertStatus
    created_at: datetime
    first_at: datetime = Field(description="When the episode began (its first reading).")
    last_at: datetime = Field(description="The latest reading meeting its condition.")
    ended_at: datetime | None = Field(
        description="When the condition cleared (the episode is over); null while it goes on."
    )
    count: int = Field(description="Readings (or check-ins) in the episode.")
    worst: dict[str, Any] | None = Field(
        description='Its most extreme reading: {"value", "unit"} or {"systolic", "diastolic"}.'
    )
    source_type: str
    source_id: uuid.UUID
    details: dict[str, Any]
    acknowledged_at: datetime | None
    acknowledged_by: uuid.UUID | None
    acknowledged_note: str | None
    resolved_at: datetime | None
    resolved_by: uuid.UUID | None
    resolved_note: str | None
