"""The care-coordination updates a care period needs, one row per update (docs/rules.md
"Care-coordination updates")."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, CreatedMixin, IdMixin


class CareUpdate(IdMixin, CreatedMixin, Base):
    """An update the referring clinician of a care period is to get: at its start
    (`initiation`), at an urgent alert episode in it (`escalation`, one per episode), at its
    end (`completion`). Written by `care_updates.settle` only, in the transaction that keeps the
    patient's stored standing; `sent_at` by staff.

    Exactly once: the unique indexes below decide, so a retry or a concurrent writer never makes
    a second. The deadlines are kept as the instants the patient's local days begin
    (`timezone`), so the worklist tells `open`, `due_soon` and `missed` apart in SQL alone."""

    __tablename__ = "care_updates"
    __table_args__ = (
        # One initiation and one completion update per care period ...
        Index(
            "uq_care_updates_period",
            "enrollment_id",
            "kind",
            unique=True,
            sqlite_where=text("alert_id IS NULL"),
            postgresql_where=text("alert_id IS NULL"),
        ),
        # ... and one escalation update per alert episode and care period.
        Index(
            "uq_care_updates_escalation",
            "enrollment_id",
            "alert_id",
            unique=True,
            sqlite_where=text("alert_id IS NOT NULL"),
            postgresql_where=text("alert_id IS NOT NULL"),
        ),
        # The worklist: an organization's updates not sent, by due day (its keyset order).
        Index(
            "ix_care_updates_worklist",
            "organization_id",
            "due",
            "patient_id",
            "enrollment_id",
            "id",
            sqlite_where=text("sent_at IS NULL"),
            postgresql_where=text("sent_at IS NULL"),
        ),
    )

    patient_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[uuid.UUID]
    enrollment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("enrollments.id", ondelete="CASCADE")
    )
    track: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16))  # initiation, escalation, completion
    # The urgent alert episode an escalation update is about.
    alert_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    event_at: Mapped[datetime]  # when the period began or ended, or the episode began
    event_on: Mapped[date]  # that instant's local day: the update is needed from it
    due: Mapped[date]  # the last local day to send it on
    # The zone of the local days below (the patient's when last settled).
    timezone: Mapped[str] = mapped_column(String(64))
    opens_at: Mapped[datetime]  # the start of `event_on`
    due_soon_at: Mapped[datetime]  # the start of the day `due_soon_days` before `due`
    overdue_at: Mapped[datetime]  # the start of the day after `due`
    sent_at: Mapped[datetime | None]
    sent_by: Mapped[uuid.UUID | None]
