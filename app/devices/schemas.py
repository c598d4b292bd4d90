from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.schemas import ReadModel, StrictModel

DeviceKind = Literal["bp_cuff", "glucometer", "cgm", "scale", "wearable"]


class DeviceCreate(StrictModel):
    kind: DeviceKind
    manufacturer: str = Field(min_length=1, max_length=100)
    model: str = Field(min_length=1, max_length=100)
    serial: str | None = Field(None, max_length=100)
    validated: bool = Field(
        False, description="A clinically validated device (required for BP to count)."
    )


class DeviceRead(ReadModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    kind: DeviceKind
    manufacturer: str
    model: str
    serial: str | None
    validated: bool
    client_id: str
    created_at: datetime
    revoked_at: datetime | None


class DeviceCreated(DeviceRead):
    client_secret: str = Field(description="Shown once; store it in the device integration.")


class DeviceList(BaseModel):
    items: list[DeviceRead]
    next_cursor: str | None = None
