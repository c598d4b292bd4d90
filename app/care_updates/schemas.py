"""What the care-coordination update routes answer (docs/api.md "Care-coordination updates")."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.care_updates.due import Kind, UpdateStatus
from app.patients.schemas import ReferringClinician

DocumentFormat = Literal["json", "application/json", "application/fhir+json", "html", "text/html"]


class CareUpdateRef(BaseModel):
    """The update a worklist item is about."""

    id: uuid.UUID
    kind: Kind


class CareUpdateRead(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    enrollment_id: uuid.UUID
    track: str
    kind: Kind
    event_at: datetime = Field(
        description="When the care period began or ended, or the urgent alert episode began."
    )
    event_on: date = Field(description="That instant's local day: the update is needed from it.")
    due: date = Field(description="The last local day to send the update on.")
    status: UpdateStatus = Field(
        description="upcoming (before `event_on`), due (until `due` is over), overdue, or sent."
    )
    alert_id: uuid.UUID | None = Field(None, description="An escalation's alert episode.")
    sent_at: datetime | None = None
    sent_by: uuid.UUID | None = Field(None, description="The staff member who recorded it.")


class CareUpdateList(BaseModel):
    patient_id: uuid.UUID
    enrollment_id: uuid.UUID
    today: date = Field(description="The patient's local today the statuses are judged on.")
    referring_clinician: ReferringClinician | None = Field(
        description="Who gets the updates; a care period without one needs none."
    )
    items: list[CareUpdateRead] = Field(description="By due day, then kind.")
