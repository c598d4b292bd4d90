"""Readings as clients read them back: one model per reading type, with that type's fields in
canonical units, so the lists and the changes feed document typed readings (a union by `type`,
as the request bodies are). The hot paths build plain dicts in these shapes
(`queries.to_read`); a test holds the two equal.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from app.readings.schemas import SourceKind


def _absent(value: object) -> bool:
    return value is None


class SourceRead(BaseModel):
    kind: SourceKind
    device_id: uuid.UUID | None = Field(
        None, exclude_if=_absent, description="The device that sent it; left out when none did."
    )


# The JSON keys of type fields, taken from a stored reading's values (`queries.to_read`); a field
# the reading has no value for is left out (a weight has no `systolic: null`).
TYPE_FIELDS = (
    "systolic",
    "diastolic",
    "pulse",
    "value",
    "count",
    "specimen",
    "meal",
    "method",
    "end_at",
)


class _ReadingReadBase(BaseModel):
    """What every reading reads back with; each type adds its own fields, in canonical units."""

    id: uuid.UUID
    client_id: uuid.UUID | None
    effective_at: datetime = Field(description="With the offset it was sent with.")
    timezone: str = Field(description="The zone it was sent with (default: the patient's).")
    local_date: date = Field(description="The patient's local day the reading counts for.")
    code: str = Field(description="LOINC code.")
    source: SourceRead
    eligible: bool = Field(description="Whether it may count toward outcome measures.")
    received_at: datetime
    deleted_at: datetime | None = None


def _optional(description: str) -> Any:
    return Field(None, exclude_if=_absent, description=f"{description}; left out when not sent.")


class BloodPressureRead(_ReadingReadBase):
    type: Literal["blood_pressure"]
    unit: Literal["mm[Hg]"]
    systolic: int
    diastolic: int
    pulse: int | None = _optional("/min")


class HeartRateRead(_ReadingReadBase):
    type: Literal["heart_rate"]
    unit: Literal["/min"]
    value: int


class GlucoseRead(_ReadingReadBase):
    type: Literal["glucose"]
    unit: Literal["mg/dL"]
    value: float
    specimen: Literal["capillary", "interstitial", "venous"] | None = _optional("The specimen")
    meal: Literal["fasting", "before_meal", "after_meal", "random"] | None = _optional(
        "When it was taken relative to a meal"
    )


class WeightRead(_ReadingReadBase):
    type: Literal["weight"]
    unit: Literal["kg"]
    value: float


class HeightRead(_ReadingReadBase):
    type: Literal["height"]
    unit: Literal["cm"]
    value: float


class WaistRead(_ReadingReadBase):
    type: Literal["waist"]
    unit: Literal["cm"]
    value: float


class StepsRead(_ReadingReadBase):
    type: Literal["steps"]
    unit: Literal["{steps}"]
    count: int
    end_at: datetime = Field(description="End of the interval, with the reading's offset.")


class Hba1cRead(_ReadingReadBase):
    type: Literal["hba1c"]
    unit: Literal["%"]
    value: float


class LdlRead(_ReadingReadBase):
    type: Literal["ldl"]
    unit: Literal["mg/dL"]
    value: float
    method: Literal["direct", "calculated"] | None = _optional("How it was obtained")


class TotalCholesterolRead(_ReadingReadBase):
    type: Literal["total_cholesterol"]
    unit: Literal["mg/dL"]
    value: float


class HdlRead(_ReadingReadBase):
    type: Literal["hdl"]
    unit: Literal["mg/dL"]
    value: float


class TriglyceridesRead(_ReadingReadBase):
    type: Literal["triglycerides"]
    unit: Literal["mg/dL"]
    value: float


class EgfrRead(_ReadingReadBase):
    type: Literal["egfr"]
    unit: Literal["mL/min/{1.73_m2}"]
    value: float


class UacrRead(_ReadingReadBase):
    type: Literal["uacr"]
    unit: Literal["mg/g"]
    value: float


ReadingRead = Annotated[
    BloodPressureRead
    | HeartRateRead
    | GlucoseRead
    | WeightRead
    | HeightRead
    | WaistRead
    | StepsRead
    | Hba1cRead
    | LdlRead
    | TotalCholesterolRead
    | HdlRead
    | TriglyceridesRead
    | EgfrRead
    | UacrRead,
    Field(discriminator="type"),
]
"""A reading as read back (lists, the changes feed): one model per type, with that type's
fields and canonical unit."""


class ReadingPage(BaseModel):
    """A page of readings (`app.pagination.Page`, named: a union makes no component name)."""

    items: list[ReadingRead]
    next_cursor: str | None


class ReadingChange(BaseModel):
    op: Literal["upsert", "delete"]
    reading: ReadingRead


class ChangesPage(BaseModel):
    changes: list[ReadingChange]
    next_cursor: str | None = Field(
        description="Pass it back to get later changes; it is returned even when nothing is new."
    )
    has_more: bool
