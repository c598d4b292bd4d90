"""Submissions of reports to CMS's Data Reporting API, one row per attempt at a report."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, CreatedMixin, IdMixin


class ReportSubmission(IdMixin, CreatedMixin, Base):
    """One report sent to CMS: queued by `POST .../submit`, sent and polled by the worker.

    Exactly once: one row per (report, attempt); a new attempt is made only after CMS rejected
    the previous one. Every send of an attempt carries the same bundle identifier (the row's
    id), so a send repeated after a timeout is the same submission to CMS, never a second one.
    """

    __tablename__ = "report_submissions"
    __table_args__ = (
        UniqueConstraint("report_id", "attempt"),
        Index("ix_report_submissions_state_due", "state", "next_attempt_at"),
    )

    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    patient_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    attempt: Mapped[int]
    # queued (to send) -> sent (CMS took it: 202, polling) -> done (CMS's result recorded)
    # | failed (not sent within a day, or no result within a week; submitting the report again
    # takes it up where it stopped, with the same bundle identifier)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    # When the worker may next send or poll; while one works on it, the end of its lease.
    next_attempt_at: Mapped[datetime]
    # Calls made in the current state (sends, then polls): the backoff counts from them.
    tries: Mapped[int] = mapped_column(default=0)
    # The submission's status URL (the 202's Content-Location).
    status_url: Mapped[str | None] = mapped_column(String(2048))
    result_code: Mapped[str | None] = mapped_column(String(32))
    # CMS's words on the result: its text and those of the OperationOutcome's issues.
    result_message: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[uuid.UUID | None]
    # When it was (last) asked for: sending is retried for a day from then.
    queued_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
