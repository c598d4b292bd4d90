from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.db import Base, IdMixin


class Checkin(IdMixin, Base):
    """One completed questionnaire: the answers and the score computed when it was stored.

    The score is kept with the answers so outcomes never rescore history (a later scoring fix
    applies to new check-ins only).
    """

    __tablename__ = "checkins"
    __table_args__ = (
        # A resent client_id is a repeat, decided here, never by a read-then-write.
        Index(
            "uq_checkins_patient_id_client_id",
            "patient_id",
            "client_id",
            unique=True,
            sqlite_where=text("client_id IS NOT NULL"),
            postgresql_where=text("client_id IS NOT NULL"),
        ),
        Index("ix_checkins_patient_id_completed_at", "patient_id", "completed_at"),
        Index(
            "ix_checkins_patient_id_instrument_local_date", "patient_id", "instrument", "local_date"
        ),
        Index("ix_checkins_enrollment_id", "enrollment_id"),
    )

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    # The active enrollment whose care period (and instrument version) it belongs to, if any.
    enrollment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("enrollments.id"))
    instrument: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(16))
    answers: Mapped[dict[str, Any]]
    scorable: Mapped[bool]
    total: Mapped[int | None]
    t_score: Mapped[float | None]
    se: Mapped[float | None]
    band: Mapped[str | None] = mapped_column(String(32))
    prorated: Mapped[bool]
    missing: Mapped[list[str]]
    flags: Mapped[list[str]]
    completed_at: Mapped[datetime]
    # The patient's time zone when it was stored, and the local day it counts for.
    timezone: Mapped[str] = mapped_column(String(64))
    local_date: Mapped[date]
    client_id: Mapped[uuid.UUID | None]
    entered_by: Mapped[uuid.UUID]
    entered_by_role: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
