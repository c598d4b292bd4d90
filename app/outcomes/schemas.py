"""What the outcome routes take and answer (docs/api.md "Progress toward outcome targets",
"Care periods and the ACCESS reporting calendar").

Invariants: request bodies forbid unknown fields (`StrictModel`); money is in USD; a rate is a
share in 0..1, None when nobody is counted; dates are the patient's local days.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.care_updates.schemas import CareUpdateRef
from app.outcomes.rules import MeasureName, Track
from app.schemas import Day, StrictModel

Status = Literal[
    "met", "on_track", "off_track", "insufficient_data", "no_baseline", "not_applicable"
]
PeriodStatus = Literal["active", "completed", "disenrolled"]
ReportType = Literal["baseline", "quarterly", "end_of_period"]
WindowStatus = Literal["upcoming", "open", "due_soon", "reported", "missed"]
# A worklist item is a reporting window or a care-coordination update to send.
WorklistType = Literal["baseline", "quarterly", "end_of_period", "care_update"]


class MeasuredValue(BaseModel):
    value: float
    at: datetime = Field(description="When the newest observation used was taken.")
    n: int = Field(description="How many observations the value is made of.")
    source: Literal["readings", "checkins"]
    source_ids: list[uuid.UUID] = Field(description="The readings or check-ins used (lineage).")
    diastolic: float | None = Field(None, description="Blood pressure: mean diastolic.")
    bmi: float | None = Field(
        None, description="Weight: body-mass index from the latest height taken before it."
    )
    components: dict[str, float] | None = Field(None, description="eGFR and UACR values.")


class BaselineValue(MeasuredValue):
    from_report: bool = Field(
        description="From a baseline report (or, for a follow-on period, the previous "
        "period's end-of-period report) rather than from the data of the baseline window."
    )
    on: date = Field(description="The day the baseline describes (its report date).")


class MeasureProgressRead(BaseModel):
    measure: MeasureName
    label: str
    applicable: bool
    status: Status
    baseline: BaselineValue | None = None
    current: MeasuredValue | None = None
    target: dict[str, float | str | None]
    projected: float | None = Field(
        None, description="The last 30 days' trend, projected to the end of the care period."
    )
    needed: str | None = Field(None, description="What the patient still has to do.")


class CarePeriodRead(BaseModel):
    start: date
    end: date
    day: int = Field(description="Day of the care period on the patient's today (1 = start).")


class WindowRef(BaseModel):
    type: ReportType
    opens: date
    closes: date


class EnrollmentProgress(BaseModel):
    enrollment_id: uuid.UUID
    track: Track
    status: PeriodStatus
    control_group: bool
    care_period: CarePeriodRead
    attained: bool | None = Field(
        description="From a complete end-of-period report; false once that window closed "
        "without one; null before."
    )
    projected: bool | None = Field(
        description="Whether an end-of-period report made today would show attainment."
    )
    next_window: WindowRef | None = Field(description="The reporting window to act on next.")
    measures: list[MeasureProgressRead]


class PatientProgress(BaseModel):
    patient_id: uuid.UUID
    as_of: date = Field(description="The patient's local day the progress is judged on.")
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


class DataCompleteness(BaseModel):
    baseline: float | None = Field(
        description="Share of periods whose baseline report has every value it needs."
    )
    current: float | None = Field(
        description="Share of periods with a current value for every applicable target measure"
        " by the data rules (on the day counted)."
    )


class Stratum(BaseModel):
    periods: int
    attained: int
    rate: float | None
    projected_rate: float | None
    data: DataCompleteness = Field(
        description="Data completeness in this group, to compare with the whole (`data`): a"
        " group behind on data rather than on health shows here."
    )


class TrackAttainment(BaseModel):
    track: str | None
    cohort: int | None = Field(description="The care-period start year counted (null: all).")
    as_of: date = Field(description="The day the counts are taken on (UTC unless asked).")
    rules_version: str
    periods: int = Field(description="Care periods counted (control-group periods excluded).")
    control_group_periods: int = Field(description="Control-group periods left out.")
    reported: int = Field(description="Periods with a complete end-of-period report.")
    closed: int = Field(
        description="Periods whose end-of-period window has closed or that have a complete "
        "end-of-period report: the denominator of `rate`."
    )
    attained: int
    rate: float | None = Field(description="attained / closed.")
    projected_rate: float | None = Field(
        description="Periods that would attain if their end-of-period report were made today, "
        "over all periods."
    )
    threshold: float | None = Field(
        description="The Outcome Attainment Threshold of the periods' start dates (null when "
        "they differ)."
    )
    threshold_met: bool | None
    statuses: dict[str, int] = Field(
        description="Periods by outcome: attained, else their least advanced measure status."
    )
    payment: PaymentProjection
    data: DataCompleteness
    strata: dict[str, Stratum] = Field(
        description="Social-risk groups (dual_eligible, rural, limited_digital_access)."
    )
    tracks: list[TrackAttainment] | None = None


# --- reports and the reporting calendar (docs/api.md "Care periods and the ACCESS reporting
# calendar") -------------------------------------------------------------------------------------


class ReportCreate(StrictModel):
    enrollment_id: uuid.UUID
    type: ReportType
    report_date: Day | None = Field(
        None,
        description="The report date (the patient's local day): today by default; a past date "
        "back-fills history; never in the future; 1900-2099.",
    )


class ReportedMeasure(BaseModel):
    measure: str
    value: float | None = None
    unit: str | None = None
    at: datetime | None = None
    n: int | None = None
    source_ids: list[uuid.UUID] = Field(description="The readings or check-ins it used.")
    status: Literal["met", "not_met", "no_baseline"] | None = Field(
        None, description="End-of-period reports: the target measure against its baseline."
    )
    diastolic: float | None = None
    bmi: float | None = None
    components: dict[str, float] | None = None


# The result codes of CMS's $report-data (the guide's ACCESSReportDataResultCS).
ResultCode = Literal[
    "success",
    "validation-error",
    "duplicate",
    "patient-not-aligned",
    "reporting-period-closed",
    "incomplete-data",
    "incorrect-track",
]


class ReportRead(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    enrollment_id: uuid.UUID
    track: str
    type: ReportType
    report_date: date
    complete: bool
    missing: list[str] = Field(description="Measures without a valid value on the report date.")
    measures: list[ReportedMeasure]
    attained: bool | None = Field(
        None, description="Complete end-of-period reports: whether the period attains."
    )
    status: Literal["prepared", "submitted", "accepted", "rejected"] = Field(
        description="prepared; submitted (queued for CMS, or sent and awaiting its result);"
        " accepted (CMS answered success) or rejected (any other result code)."
    )
    result_code: ResultCode | None = Field(
        None, description="CMS's result code, once it has answered."
    )
    result_message: str | None = Field(
        None,
        description="CMS's words on the result (with its OperationOutcome's issues), or why the"
        " report could not be sent.",
    )
    rules_version: str
    created_at: datetime


class WindowRead(BaseModel):
    type: ReportType
    opens: date
    closes: date
    status: WindowStatus
    report_id: uuid.UUID | None = Field(
        None, description="The complete report of the window, else the latest prepared one."
    )
    needed: list[str] = Field(description="What a complete report in this window still needs.")


class PeriodReporting(BaseModel):
    enrollment_id: uuid.UUID
    track: Track
    status: PeriodStatus
    control_group: bool
    day: int
    windows: list[WindowRead]


class PatientReporting(BaseModel):
    patient_id: uuid.UUID
    today: date = Field(description="The patient's local today the windows are judged on.")
    rules_version: str
    items: list[PeriodReporting]


class WorklistItem(BaseModel):
    patient_id: uuid.UUID
    patient_name: str
    enrollment_id: uuid.UUID
    track: str
    type: WorklistType = Field(
        description="A reporting window's type, or `care_update`: an update to send the care"
        " period's referring clinician (`opens`: the day it is needed from, `closes`: its due"
        " day)."
    )
    opens: date
    closes: date
    status: WindowStatus
    report_id: uuid.UUID | None = None
    needed: list[str]
    care_update: CareUpdateRef | None = Field(
        None, description="The care-coordination update a `care_update` item is about."
    )
