"""What the outcome routes answer (docs/api.md "Progress toward outcome targets").

Invariants: answers only, nothing here is read from a request body; money is in USD; a rate is a
share in 0..1, None when nobody is counted.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

Status = Literal["met", "on_track", "off_track", "insufficient_data", "not_applicable"]


class MeasuredValue(BaseModel):
    value: float
    at: datetime = Field(description="When the newest observation used was taken.")
    n: int = Field(description="How many observations the value is made of.")
    source: Literal["readings", "checkins"]
    source_ids: list[uuid.UUID] = Field(description="The readings or check-ins used (lineage).")
    diastolic: float | None = Field(None, description="Blood pressure: mean diastolic.")
    bmi: float | None = Field(None, description="Weight: body-mass index from the height.")
    components: dict[str, float] | None = Field(None, description="eGFR and UACR values.")


class MeasureProgressRead(BaseModel):
    measure: str
    label: str
    applicable: bool
    status: Status
    baseline: MeasuredValue | None = None
    current: MeasuredValue | None = None
    target: dict[str, float | str | None]
    projected: float | None = Field(
        None, description="The last 30 days' trend, projected to the end of the care period."
    )
    needed: str | None = Field(None, description="What the patient still has to do.")


class CarePeriodRead(BaseModel):
    start: date
    end: date
    day: int = Field(description="Day of the care period on the report date (1 = start).")


class EnrollmentProgress(BaseModel):
    enrollment_id: uuid.UUID
    track: str
    care_period: CarePeriodRead
    attained: bool | None = Field(
        description="True when the patient attains; false once the period is over without it."
    )
    measures: list[MeasureProgressRead]


class PatientProgress(BaseModel):
    patient_id: uuid.UUID
    as_of: date
    rules_version: str
    items: list[EnrollmentProgress]


class PaymentProjection(BaseModel):
    currency: Literal["USD"] = "USD"
    outcome_aligned_payment: float = Field(description="Total OAP for the cohort's periods.")
    withheld: float = Field(description="The share withheld until reconciliation.")
    withhold_earned: bool | None = Field(
        description="Whether the track's rate reaches its threshold (null across tracks)."
    )
    projected: float = Field(description="What the organization is projected to receive.")


class Stratum(BaseModel):
    patients: int
    attained: int
    rate: float | None


class TrackAttainment(BaseModel):
    track: str | None
    as_of: date
    rules_version: str
    patients: int
    attained: int
    rate: float | None
    threshold: float | None
    threshold_met: bool | None
    statuses: dict[str, int] = Field(
        description="Patients by their least advanced applicable measure status."
    )
    payment: PaymentProjection
    strata: dict[str, Stratum] = Field(
        description="Social-risk groups (dual_eligible, rural, limited_digital_access)."
    )
    tracks: list[TrackAttainment] | None = None
