from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, CreatedMixin, IdMixin


class Alert(IdMixin, CreatedMixin, Base):
    """Something a clinician must look at, opened once per triggering record (reading, check-in)."""

    __tablename__ = "alerts"
    __table_args__ = (
        # Once per source: a resent reading or check-in can never open a second alert.
        Index(
            "uq_alerts_patient_id_source_type_source_id_kind",
            "patient_id",
            "source_type",
            "source_id",
            "kind",
            unique=True,
        ),
        Index("ix_alerts_patient_id_created_at", "patient_id", "created_at"),
        Index("ix_alerts_status_created_at", "status", "created_at"),
    )

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    source_type: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[uuid.UUID]
    # What triggered it, for the clinician's screen (e.g. {"systolic": 182, "diastolic": 95}).
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[uuid.UUID | None]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[uuid.UUID | None]
