from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
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
    """A patient's care period in one track (docs/api.md "Care periods and the ACCESS reporting
    calendar"). Its status is derived, not stored: disenrolled once `ended_at` is set, completed
    after `end_date`, active before."""

    __tablename__ = "enrollments"
    __table_args__ = (UniqueConstraint("patient_id", "track", "start_date"),)

    patient_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    track: Mapped[str] = mapped_column(String(8))
    conditions: Mapped[list[str]] = mapped_column(default=list)
    region: Mapped[str | None] = mapped_column(String(16))
    period: Mapped[str] = mapped_column(String(16))
    start_date: Mapped[date]
    end_date: Mapped[date]
    # A follow-on period's previous period in the same track (its end-of-period report may be
    # the follow-on's baseline).
    previous_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("enrollments.id", ondelete="SET NULL")
    )
    control_group: Mapped[bool] = mapped_column(default=False)
    # {name, npi?, organization?, direct_address?}: who gets care-coordination updates.
    referring_clinician: Mapped[dict[str, Any] | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[uuid.UUID | None]
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
