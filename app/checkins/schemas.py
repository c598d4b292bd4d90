from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StringConstraints
from pydantic_core import PydanticCustomError

from app.checkins.instruments import CATALOG
from app.clock import utcnow
from app.schemas import (
    FUTURE_TOLERANCE,
    StrictModel,
    Timestamp,
    one_of_constraints,
    utc_between,
)

InstrumentCode = Literal[
    "phq9", "gad7", "promis_pi_6a", "promis_pf_6b", "pain_nrs", "whodas12", "pgic", "daily"
]
"""The catalog's codes (a test keeps this equal to `instruments.CATALOG`)."""
# docs/rules.md "PHQ-9": item 9 above 0, or item 9 unanswered.
CheckinFlag = Literal["self_harm_risk", "safety_item_missing"]

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


def _check_completed_at(value: datetime) -> datetime:
    within = utc_between(
        value, name="completed_at", earliest=EARLIEST, latest=utcnow() + FUTURE_TOLERANCE
    )
    if isinstance(within, str):
        raise PydanticCustomError("time_range", within)
    return value


CompletedAt = Annotated[Timestamp, AfterValidator(_check_completed_at)]
ItemId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


# --- Catalog ------------------------------------------------------------------------------------


class OptionRead(BaseModel):
    value: int = Field(description="The scored value.")
    label: str


class ItemRead(BaseModel):
    id: str
    loinc: str | None
    text: str
    options: list[OptionRead]
    scored: bool = Field(description="Whether the item counts toward the total.")


class InstrumentRead(BaseModel):
    code: InstrumentCode
    version: str
    title: str
    recall: str | None = Field(description="The recall period or stem shown before the items.")
    loinc: str | None = Field(description="LOINC panel code, when there is one.")
    score_loinc: str | None = Field(description="LOINC code of the reported score.")
    items: list[ItemRead] = Field(description="In questionnaire order.")


class InstrumentList(BaseModel):
    items: list[InstrumentRead]


# --- Check-ins ----------------------------------------------------------------------------------


def _declare_instruments(schema: dict[str, Any]) -> None:
    """Declares per instrument what the server checks (`scoring.validate`, the version check):
    its version, its item ids and the scored values of each item, one `oneOf` branch each."""
    one_of_constraints(
        schema,
        [
            {
                "properties": {
                    "instrument": {"const": instrument.code},
                    "version": {"anyOf": [{"const": instrument.version}, {"type": "null"}]},
                    "answers": {
                        "properties": {
                            item.id: {"enum": sorted(item.values)} for item in instrument.items
                        },
                        "additionalProperties": False,
                    },
                }
            }
            for instrument in CATALOG.values()
        ],
    )


class CheckinCreate(StrictModel):
    model_config = ConfigDict(json_schema_extra=_declare_instruments)

    client_id: uuid.UUID | None = Field(
        None, description="Set by the app; a repeat returns the stored result (200)."
    )
    instrument: InstrumentCode
    version: str | None = Field(
        None, max_length=16, description="The instrument version answered (default: current)."
    )
    answers: dict[ItemId, StrictInt] = Field(
        min_length=1, max_length=50, description="Item id -> the chosen option's `value`."
    )
    completed_at: CompletedAt = Field(description="When the patient finished (with an offset).")


class ScoreRead(BaseModel):
    total: int | None = Field(
        description="Total (raw summed score for PROMIS); null when not scorable or for `daily`."
    )
    t_score: float | None = Field(None, description="PROMIS T-score, one decimal.")
    se: float | None = Field(None, description="Standard error of the PROMIS T-score.")
    band: str | None = Field(None, description="PHQ-9 and GAD-7 severity band.")
    scorable: bool
    prorated: bool = Field(description="One missing PHQ-9/GAD-7 item was prorated.")
    missing: list[str] = Field(description="Scored items left unanswered.")


class CrisisResource(BaseModel):
    name: str
    description: str
    call: str | None = Field(description="Number to call.")
    text: str | None = Field(description="Number to text.")
    url: str | None


class CrisisResources(BaseModel):
    message: str
    care_team_alerted: bool
    resources: list[CrisisResource]


class CheckinResult(BaseModel):
    id: uuid.UUID
    instrument: InstrumentCode
    version: str
    score: ScoreRead
    flags: list[CheckinFlag]
    completed_at: datetime
    local_date: date = Field(description="The patient's local day it counts for.")
    enrollment_id: uuid.UUID | None
    crisis_resources: CrisisResources | None = Field(
        None,
        exclude_if=lambda value: value is None,
        description="Present when `flags` has `self_harm_risk`: help to show the patient now.",
    )


class CheckinRead(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    enrollment_id: uuid.UUID | None
    instrument: InstrumentCode
    version: str
    answers: dict[str, int]
    score: ScoreRead
    flags: list[CheckinFlag]
    completed_at: datetime
    local_date: date
    client_id: uuid.UUID | None
    entered_by_role: str
    received_at: datetime


class DueItem(BaseModel):
    instrument: InstrumentCode
    version: str = Field(description="The version to answer (fixed within a care period).")
    title: str
    due_since: date
    overdue: bool = Field(description="More than 3 days past `due_since`; `daily` never is.")
    reason: str
    enrollment_id: uuid.UUID | None


class DueList(BaseModel):
    today: date = Field(description="Today in the patient's time zone.")
    timezone: str
    items: list[DueItem]
