"""Tables of the outcomes package: only the cache of closed baselines (`baselines`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.db import Base


class OutcomeBaseline(Base):
    """A measure's baseline, kept once its window has closed (it is reported by day 60).

    A cache of what `targets.baseline_value` computes from the readings, valid for one ruleset
    version; a reading that lands in or leaves the window later drops it (see `baselines`).
    """

    __tablename__ = "outcome_baselines"
    __table_args__ = (
        Index("ix_outcome_baselines_patient_id_window_last", "patient_id", "window_last"),
    )

    enrollment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("enrollments.id", ondelete="CASCADE"), primary_key=True
    )
    measure: Mapped[str] = mapped_column(String(32), primary_key=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    rules_version: Mapped[str] = mapped_column(String(32))
    # The last local day whose observations could change this baseline.
    window_last: Mapped[date]
    # No value: no baseline was recorded in the window (also worth remembering).
    value: Mapped[float | None]
    secondary: Mapped[float | None]
    at: Mapped[datetime | None]
    n: Mapped[int]
    source_ids: Mapped[list[str]]
    frozen_at: Mapped[datetime] = mapped_column(default=utcnow)
