from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr

from app.patients.schemas import NPI
from app.schemas import Email, Name, Password, ReadModel, StrictModel, TextLine


class ClinicianCreate(StrictModel):
    email: Email
    name: Name
    password: Password
    npi: NPI | None = Field(None, description="The clinician's own NPI (10 digits, check digit).")


class StaffUpdate(StrictModel):
    """Only the fields sent change; null clears the NPI."""

    name: Name | None = None
    npi: NPI | None = Field(
        None, description="The clinician's own NPI; reports they prepare name them by it."
    )


class StaffRead(ReadModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    role: Literal["admin", "clinician"]
    email: str
    name: str | None = Field(None)
    npi: str | None = Field(None, description="Their own NPI, when set.")
    created_at: datetime


# "ACCES" and 5 digits: the participant id CMS gives an ACCESS organization.
PARTICIPANT_ID_PATTERN = r"^ACCES[0-9]{5}$"


class CmsReportingRead(BaseModel):
    base_url: str = Field(description="The CMS Data Reporting API's FHIR base URL.")
    client_id: str
    client_secret_set: bool = Field(
        description="Whether a client secret is stored (it is never returned)."
    )


class CmsReportingUpdate(StrictModel):
    """Where and as whom reports go to CMS (OAuth 2.0 client credentials)."""

    base_url: str = Field(
        min_length=8,
        max_length=2048,
        pattern=r"^https?://[^\s]+$",
        description="The Data Reporting API's FHIR base URL; https in production.",
    )
    client_id: Annotated[str, TextLine(max_length=200)]
    client_secret: SecretStr | None = Field(
        None,
        min_length=1,
        max_length=1000,
        description="Write-only, stored encrypted. Needed the first time; omitted, the stored"
        " one is kept.",
    )


class OrganizationRead(ReadModel):
    id: uuid.UUID
    name: str
    access_participant_id: str | None = Field(
        description='The ACCESS participant id ("ACCES" + 5 digits); needed to report to CMS.'
    )
    npi: str | None = Field(description="The organization's NPI (10 digits, check digit).")
    cms_reporting: CmsReportingRead | None = Field(
        description="Where its reports are sent to CMS; null until set."
    )
    created_at: datetime


class OrganizationUpdate(StrictModel):
    """Only the fields sent change; null clears an optional one."""

    name: Name | None = None
    access_participant_id: str | None = Field(
        None, pattern=PARTICIPANT_ID_PATTERN, description='"ACCES" followed by 5 digits.'
    )
    npi: NPI | None = None
    cms_reporting: CmsReportingUpdate | None = Field(
        None, description="Where and as whom reports go to CMS; null removes the settings."
    )
