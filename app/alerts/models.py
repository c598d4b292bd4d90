from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, CreatedMixin, IdMixin


class Alert(IdMixin, CreatedMixin, Base):
    """An episode a clinician must look at (docs/rules.md "Alert episodes"): readings that keep
    meeting one condition extend it, a check-in answer is one on its own, and the date opens
    and ends `no_data` and `report_due` ones.

    Two clocks: `ended_at` says the episode is over (the condition cleared), `status` where the
    clinicians' work on it stands (open -> acknowledged -> resolved); they move independently.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        # At most one episode going on per patient and condition: decided here, so two
        # concurrent writers can never both open one.
        Index(
            "uq_alerts_ongoing",
            "patient_id",
            "condition",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
        # A check-in opens its alerts once: a resent check-in can never open a second one.
        Index(
            "uq_alerts_checkin_source",
            "patient_id",
            "source_id",
            "kind",
            unique=True,
            sqlite_where=text("source_type = 'checkin'"),
            postgresql_where=text("source_type = 'checkin'"),
        ),
        Index("ix_alerts_patient_id_condition_first_at", "patient_id", "condition", "first_at"),
        Index("ix_alerts_patient_id_first_at", "patient_id", "first_at"),
        Index("ix_alerts_status_first_at", "status", "first_at"),
    )

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    # What makes two readings part of one episode: `hypoglycemia` (both levels),
    # `blood_pressure_crisis`, `no_data:<track>`, `report_due:<enrollment>:<type>:<opens>`; a
    # check-in's alert its kind.
    condition: Mapped[str] = mapped_column(String(100))
    # The record that began it: a reading, a check-in, or the enrollment a `no_data` or
    # `report_due` alert is about.
    source_type: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[uuid.UUID]
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    count: Mapped[int]
    # The most extreme reading of it, e.g. {"value": 48, "unit": "mg/dL"} or
    # {"systolic": 192, "diastolic": 124}; None when no reading makes it.
    worst: Mapped[dict[str, Any] | None]
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[uuid.UUID | None]
    acknowledged_note: Mapped[str | None] = mapped_column(String(1000))
    # Resolved by nobody (None) with `resolved_at` set: the service withdrew it, because later
    # readings showed no such episode or joined it to another (`resolved_note` says which).
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[uuid.UUID | None]
    resolved_note: Mapped[str | None] = mapped_column(String(1000))
