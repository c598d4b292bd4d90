from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.db import Base, CreatedMixin, IdMixin


class Patient(IdMixin, CreatedMixin, Base):
    __tablename__ = "patients"
    __table_args__ = (UniqueConstraint("organization_id", "mbi"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date]
    sex: Mapped[str] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64))
    mbi: Mapped[str | None] = mapped_column(String(11))
    height_cm: Mapped[float | None]
    dual_eligible: Mapped[bool] = mapped_column(default=False)
    rural: Mapped[bool] = mapped_column(default=False)
    limited_digital_access: Mapped[bool] = mapped_column(default=False)
    # SHA-256 of the one-time activation code; cleared once used.
    activation_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    activation_expires_at: Mapped[datetime | None]
    activated_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Enrollment(IdMixin, CreatedMixin, Base):
    """A patient's care period in one track; at most one active per patient and track."""

    __tablename__ = "enrollments"
    __table_args__ = (
        Index(
            "uq_enrollments_active_track",
            "patient_id",
            "track",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    patient_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    track: Mapped[str] = mapped_column(String(8))
    conditions: Mapped[list[str]] = mapped_column(default=list)
    region: Mapped[str | None] = mapped_column(String(16))
    period: Mapped[str] = mapped_column(String(16))
    start_date: Mapped[date]
    end_date: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default="active")
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[uuid.UUID | None]
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
