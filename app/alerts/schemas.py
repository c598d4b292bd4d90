from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from app.schemas import ReadModel

Severity = Literal["urgent", "warning"]
AlertStatus = Literal["open", "acknowledged", "resolved"]


class AlertRead(ReadModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    kind: str
    severity: Severity
    status: AlertStatus
    created_at: datetime
    source_type: str
    source_id: uuid.UUID
    details: dict[str, Any]
    acknowledged_at: datetime | None
    acknowledged_by: uuid.UUID | None
    resolved_at: datetime | None
    resolved_by: uuid.UUID | None
