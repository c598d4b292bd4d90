from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from app.schemas import ReadModel, StrictModel

DeviceKind = Literal["bp_cuff", "glucometer", "cgm", "scale", "wearable"]

# docs/rules.md "CGM", "Enough data": a CGM samples every 1-60 minutes; 5 when not declared
# (what wear assumed of every reading before sensors declared theirs), and 5 for a reading from
# no registered CGM.
SAMPLING_MINUTES_MIN: Final = 1
SAMPLING_MINUTES_MAX: Final = 60
DEFAULT_SAMPLING_MINUTES: Final = 5


class DeviceCreate(StrictModel):
    kind: DeviceKind
    manufacturer: str = Field(min_length=1, max_length=100)
    model: str = Field(min_length=1, max_length=100)
    serial: str | None = Field(None, max_length=100)
    validated: bool = Field(
        False, description="A clinically validated device (required for BP to count)."
    )
    sampling_minutes: int | None = Field(
        None,
        strict=True,
        ge=SAMPLING_MINUTES_MIN,
        le=SAMPLING_MINUTES_MAX,
        description="cgm only: minutes between the sensor's readings, 1-60 (default 5); CGM"
        " wear counts each reading for this long.",
    )

    @field_validator("sampling_minutes")
    @classmethod
    def _cgm_only(cls, value: int | None, info: ValidationInfo) -> int | None:
        # An invalid kind is reported on its own; a sampling interval is then no extra error.
        if value is not None and info.data.get("kind", "cgm") != "cgm":
            raise ValueError("sampling_minutes is only for cgm devices")
        return value

    @model_validator(mode="after")
    def _cgm_default(self) -> DeviceCreate:
        if self.kind == "cgm" and self.sampling_minutes is None:
            self.sampling_minutes = DEFAULT_SAMPLING_MINUTES
        return self


class DeviceRead(ReadModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    kind: DeviceKind
    manufacturer: str
    model: str
    serial: str | None
    validated: bool
    sampling_minutes: int | None = Field(
        description="cgm: minutes between the sensor's readings; null for other kinds."
    )
    client_id: str
    created_at: datetime
    revoked_at: datetime | None


class DeviceCreated(DeviceRead):
    client_secret: str = Field(description="Shown once; store it in the device integration.")


class DeviceList(BaseModel):
    items: list[DeviceRead]
    next_cursor: str | None = None
