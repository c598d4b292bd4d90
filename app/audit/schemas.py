from __future__ import annotations

import uuid
from datetime import datetime

from app.schemas import ReadModel


class AuditEventRead(ReadModel):
    id: uuid.UUID
    at: datetime
    actor_id: uuid.UUID
    actor_role: str
    action: str
    resource_type: str
    resource_id: uuid.UUID | None
    request_id: str
    outcome: str
