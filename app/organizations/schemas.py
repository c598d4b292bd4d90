from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from app.schemas import Email, Name, Password, ReadModel, StrictModel


class ClinicianCreate(StrictModel):
    email: Email
    name: Name
    password: Password


class StaffRead(ReadModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    role: Literal["admin", "clinician"]
    email: str
    name: str | None = Field(None)
    created_at: datetime
