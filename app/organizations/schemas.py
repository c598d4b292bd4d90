from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from app.patients.schemas import NPI
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


# "ACCES" and 5 digits: the participant id CMS gives an ACCESS organization.
PARTICIPANT_ID_PATTERN = r"^ACCES[0-9]{5}$"


class OrganizationRead(ReadModel):
    id: uuid.UUID
    name: str
    access_participant_id: str | None = Field(
        description='The ACCESS participant id ("ACCES" + 5 digits); needed to report to CMS.'
    )
    npi: str | None = Field(description="The organization's NPI (10 digits, check digit).")
    created_at: datetime


class OrganizationUpdate(StrictModel):
    """Only the fields sent change; null clears an optional one."""

    name: Name | None = None
    access_participant_id: str | None = Field(
        None, pattern=PARTICIPANT_ID_PATTERN, description='"ACCES" followed by 5 digits.'
    )
    npi: NPI | None = None
