from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
)
from pydantic_core import PydanticCustomError

from app.clock import utc_today
from app.outcomes.need import NeedCode
from app.patients import eligibility
from app.schemas import (
    DAY_PATTERN,
    EMAIL_PATTERN,
    Day,
    JsonPattern,
    Name,
    PatchModel,
    ReadModel,
    StrictModel,
    TextLine,
    Timezone,
    day_text,
)

Sex = Literal["female", "male", "other", "unknown"]
Track = Literal["eCKM", "CKM", "MSK", "BH"]
Condition = Literal[
    "hypertension",
    "dyslipidemia",
    "obesity",
    "overweight_central",
    "prediabetes",
    "diabetes",
    "ckd_3a",
    "ckd_3b",
    "ascvd",
    "chronic_msk_pain",
    "depression",
    "anxiety",
]
Region = Literal["back", "neck", "knee", "hip", "shoulder", "other"]
Period = Literal["initial", "follow_on"]
EnrollmentStatus = Literal["active", "completed", "disenrolled"]
DisenrollReason = Literal["relocated", "loss_of_contact", "no_longer_eligible", "patient_initiated"]

# CMS Medicare Beneficiary Identifier: 11 characters, each position a digit, a letter or either;
# the letters exclude S, L, O, I, B, Z (CMS, "Understanding the Medicare Beneficiary Identifier
# (MBI) Format"). People write it with hyphens or spaces (1EG4-TE5-MK73) and in either case; it is
# stored without them, in capitals.
_LETTER = "AC-HJKMNP-RT-Yac-hjkmnp-rt-y"
_DIGIT = "0-9"
_MBI_POSITIONS = (
    "1-9", _LETTER, _LETTER + _DIGIT, _DIGIT, _LETTER, _LETTER + _DIGIT, _DIGIT,
    _LETTER, _LETTER, _DIGIT, _DIGIT,
)  # fmt: skip
_SEPARATORS = "[- ]*"
MBI_PATTERN = f"^{_SEPARATORS}{_SEPARATORS.join(f'[{p}]' for p in _MBI_POSITIONS)}{_SEPARATORS}$"
_MBI = re.compile(MBI_PATTERN)


def _check_mbi(value: str) -> str:
    if not _MBI.fullmatch(value):
        raise ValueError("not a Medicare Beneficiary Identifier (11 characters, e.g. 1EG4TE5MK73)")
    return value.replace("-", "").replace(" ", "").upper()


def _check_birth_date(value: date) -> date:
    if not date(1900, 1, 1) <= value <= utc_today():
        raise ValueError("birth_date must be between 1900-01-01 and today")
    return value


MBI = Annotated[str, Field(max_length=13), AfterValidator(_check_mbi), JsonPattern(MBI_PATTERN)]
BirthDate = Annotated[
    date, BeforeValidator(day_text), AfterValidator(_check_birth_date), JsonPattern(DAY_PATTERN)
]
HeightCm = Annotated[
    float, Field(strict=True, ge=50, le=250, description="Body height in cm (50-250).")
]


class SocialRisk(StrictModel):
    dual_eligible: StrictBool = False
    rural: StrictBool = False
    limited_digital_access: StrictBool = False


class PatientCreate(StrictModel):
    given_name: Name
    family_name: Name
    birth_date: BirthDate
    sex: Sex
    timezone: Timezone
    mbi: MBI | None = None
    height_cm: HeightCm | None = None
    social_risk: SocialRisk | None = None


class PatientUpdate(PatchModel):
    NOT_NULL = ("given_name", "family_name", "birth_date", "sex", "timezone", "social_risk")

    given_name: Name | None = None
    family_name: Name | None = None
    birth_date: BirthDate | None = None
    sex: Sex | None = None
    timezone: Timezone | None = None
    mbi: MBI | None = None
    height_cm: HeightCm | None = None
    social_risk: SocialRisk | None = None


class PatientRead(ReadModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    given_name: str
    family_name: str
    birth_date: date
    sex: Sex
    timezone: str
    mbi: str | None
    height_cm: float | None
    social_risk: SocialRisk
    activated: bool
    created_at: datetime
    updated_at: datetime


OutcomeStatus = Literal["met", "on_track", "off_track", "insufficient_data", "no_baseline"]
PanelOrder = Literal["need", "newest"]


class NeedReason(BaseModel):
    code: NeedCode
    points: int = Field(description="What this reason adds to the score.")
    text: str = Field(description="What to act on, in words.")
    track: Track | None = Field(description="The care period's track; none for alerts.")


class NeedRead(BaseModel):
    score: int = Field(description="The panel's order, highest first (docs/rules.md).")
    reasons: list[NeedReason] = Field(description="Why, the largest share first.")


class PanelPeriod(BaseModel):
    enrollment_id: uuid.UUID
    track: Track
    day: int = Field(description="The care-period day on the patient's local today (1: start).")
    status: Literal["active", "completed"]


class PatientListItem(PatientRead):
    outcome_status: OutcomeStatus | None = Field(
        description="The least advanced status among the applicable measures of the patient's"
        " shown care periods."
    )
    open_urgent_alerts: int
    open_warning_alerts: int
    need: NeedRead
    tracks: list[Track] = Field(description="The tracks of the patient's shown care periods.")
    periods: list[PanelPeriod]
    evaluated_at: datetime = Field(
        description="When this row was last evaluated: on every write that changes it, and at"
        " the patient's local midnight while the date alone changes it."
    )


class ActivationCode(BaseModel):
    activation_code: str = Field(description="One-time code the patient enters in the app.")
    activation_expires_at: datetime


class PatientCreated(PatientRead, ActivationCode):
    pass


def _check_npi(value: str) -> str:
    # The NPI's last digit is a Luhn check digit over "80840" and its first nine digits (CMS,
    # "Requirements for National Provider Identifier Check Digit Algorithm").
    digits = [int(c) for c in "80840" + value[:9]]
    total = 0
    for i, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if i % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    if (10 - total % 10) % 10 != int(value[9]):
        raise ValueError("not a valid NPI: its check digit does not match (10 digits)")
    return value


NPI = Annotated[str, Field(pattern=r"^[0-9]{10}$"), AfterValidator(_check_npi)]


class ReferringClinician(StrictModel):
    """The primary-care clinician who referred the patient and gets care-coordination updates."""

    name: Name
    npi: NPI | None = None
    organization: Annotated[str, TextLine(max_length=200)] | None = None
    direct_address: str | None = Field(
        None,
        max_length=320,
        pattern=EMAIL_PATTERN,
        description="Direct secure-messaging address for the updates.",
    )


# docs/api.md "Patients and enrollments": a care period starts at most two years before today
# (UTC), so a period whose end-of-period report is still due (day 425) can be entered late, and
# at most a year after; anything further is a typing slip (the year 9999), not a care period.
START_DATE_BACK = timedelta(days=730)
START_DATE_AHEAD = timedelta(days=365)


def _check_start_date(value: date) -> date:
    today = utc_today()
    first, last = today - START_DATE_BACK, today + START_DATE_AHEAD
    if not first <= value <= last:
        raise PydanticCustomError(
            "start_date_range",
            "must be from two years before today to a year after, {first} to {last}",
            {"first": first.isoformat(), "last": last.isoformat()},
        )
    return value


StartDate = Annotated[Day, AfterValidator(_check_start_date)]


class EnrollmentCreate(StrictModel):
    model_config = ConfigDict(json_schema_extra=eligibility.json_schema)

    track: Track
    conditions: list[Condition] = Field(min_length=1, max_length=12)
    region: Region | None = Field(None, description="Body region, for chronic_msk_pain (MSK).")
    start_date: StartDate = Field(
        description="Day 1 of the care period: from two years before today (UTC) to a year after."
    )
    period: Period = "initial"
    control_group: StrictBool = Field(
        False, description="Randomised into the control group: no OAP, not in attainment."
    )
    referring_clinician: ReferringClinician | None = None


class EnrollmentUpdate(PatchModel):
    # A care period is in the control group or not; null would mean neither. A referring
    # clinician may be removed with null.
    NOT_NULL = ("control_group",)

    control_group: StrictBool | None = None
    referring_clinician: ReferringClinician | None = None


class EnrollmentRead(ReadModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    track: Track
    conditions: list[Condition]
    region: Region | None
    period: Period
    start_date: date
    end_date: date
    status: EnrollmentStatus = Field(
        description="active (days 1-365), completed (after day 365), or disenrolled."
    )
    day: int = Field(description="The care-period day on the patient's today (1 = start).")
    control_group: bool
    referring_clinician: ReferringClinician | None
    previous_id: uuid.UUID | None = Field(
        description="A follow-on period's previous care period in the track."
    )
    ended_at: datetime | None
    end_reason: str | None
    created_at: datetime


class EnrollmentList(BaseModel):
    items: list[EnrollmentRead]
    next_cursor: str | None = None


class DisenrollRequest(StrictModel):
    reason: DisenrollReason
