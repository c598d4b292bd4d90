from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.db import Base, IdMixin


class AuditEvent(IdMixin, Base):
    """Append-only record of one access to patient data (UPDATE/DELETE refused by triggers)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_patient_id_at", "patient_id", "at"),)

    at: Mapped[datetime] = mapped_column(default=utcnow)
    # No foreign keys: the trail must outlive what it describes.
    organization_id: Mapped[uuid.UUID]
    patient_id: Mapped[uuid.UUID]
    actor_id: Mapped[uuid.UUID]
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[uuid.UUID | None]
    request_id: Mapped[str] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(16), default="success")
