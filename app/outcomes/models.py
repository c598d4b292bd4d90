"""Tables of the outcomes package: the reports prepared for CMS, frozen when prepared, and each
care period's standing as last evaluated (kept at write time for the population views)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, CreatedMixin, IdMixin, JSONType


class Report(IdMixin, CreatedMixin, Base):
    """A report of one care period on one report date: the values the data rules chose then,
    with the ids of what they used. Readings that arrive later never change it.

    One per (care period, type, report date): preparing it again answers the same report, so a
    retried request never makes two."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("enrollment_id", "type", "report_date"),)

    patient_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    enrollment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("enrollments.id", ondelete="CASCADE"), index=True
    )
    track: Mapped[str] = mapped_column(String(8))
    type: Mapped[str] = mapped_column(String(16))
    report_date: Mapped[date]
    complete: Mapped[bool]
    missing: Mapped[list[str]]
    # [{measure, value, unit, at, n, source_ids, diastolic?, bmi?, components?, status?}]
    measures: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    attained: Mapped[bool | None]
    status: Mapped[str] = mapped_column(String(16), default="prepared")
    result_code: Mapped[str | None] = mapped_column(String(32))
    # CMS's words on the result (its text and its issues'), or why the report could not be sent.
    result_message: Mapped[str | None] = mapped_column(Text)
    rules_version: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[uuid.UUID | None]


class PeriodStanding(Base):
    """A care period's standing as last evaluated (`outcomes/stored.py`): what the population
    views read instead of evaluating every period. Rewritten in the transaction of every write
    that changes it, and by the worker when the date alone changes it (`due_at` on the
    patient's row)."""

    __tablename__ = "period_standings"
    __table_args__ = (
        Index("ix_period_standings_organization_id_track", "organization_id", "track"),
    )

    enrollment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("enrollments.id", ondelete="CASCADE"), primary_key=True
    )
    patient_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[uuid.UUID]
    track: Mapped[str] = mapped_column(String(8))
    period_kind: Mapped[str] = mapped_column(String(16))
    start_date: Mapped[date]
    control_group: Mapped[bool]
    evaluated_on: Mapped[date]  # the patient's local day it holds for
    shown: Mapped[bool]  # in the panel and the worklist on that day
    status: Mapped[str] = mapped_column(String(16))  # active, completed
    outcome_status: Mapped[str | None] = mapped_column(String(24))
    attained: Mapped[bool | None]
    projected: Mapped[bool | None]
    end_closed: Mapped[bool]  # the end-of-period window has closed or holds its report
    end_reported: Mapped[bool]
    baseline_complete: Mapped[bool]
    current_complete: Mapped[bool]
    last_data_on: Mapped[date | None]
    # {statuses, measures: [{measure, applicable, status, baseline, current, projected}],
    #  next_window: {type, opens, closes, status} | null}
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType)


class PatientStanding(Base):
    """A patient's row in the clinician panel: their current periods summed up, the need score
    and its reasons, and when the date alone next changes it (`due_at`, claimed by the worker)."""

    __tablename__ = "patient_standings"
    __table_args__ = (
        Index(
            "ix_patient_standings_panel",
            "organization_id",
            "need_rank",
            "family_key",
            "given_key",
            "patient_id",
        ),
        Index("ix_patient_standings_due_at", "due_at"),
    )

    patient_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[uuid.UUID]
    family_key: Mapped[str] = mapped_column(String(200))  # lower-cased, for the panel's order
    given_key: Mapped[str] = mapped_column(String(200))
    evaluated_at: Mapped[datetime]
    due_at: Mapped[datetime | None]  # None: nothing changes with the date alone
    outcome_status: Mapped[str | None] = mapped_column(String(24))
    # Filter keys, each a comma-delimited list with a comma at both ends (",eCKM,BH,"), so one
    # LIKE works on SQLite and PostgreSQL alike.
    tracks: Mapped[str] = mapped_column(String(64))
    statuses: Mapped[str] = mapped_column(String(200))
    need_codes: Mapped[str] = mapped_column(String(300))
    need_score: Mapped[int]
    need_rank: Mapped[int]  # -need_score: the panel's index runs in one direction
    need: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)  # reasons, highest first
    open_urgent_alerts: Mapped[int]
    open_warning_alerts: Mapped[int]
    # The periods shown: [{enrollment_id, track, start_date, status}]; a row's care-period day
    # is counted from `start_date` when it is read, so it never goes stale.
    periods: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    rules_version: Mapped[str] = mapped_column(String(32))


class WindowStanding(Base):
    """One reporting window of a shown care period, as last evaluated: the worklist's rows."""

    __tablename__ = "window_standings"
    __table_args__ = (
        Index(
            "ix_window_standings_worklist",
            "organization_id",
            "closes",
            "patient_id",
            "enrollment_id",
            "type",
        ),
    )

    enrollment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("enrollments.id", ondelete="CASCADE"), primary_key=True
    )
    type: Mapped[str] = mapped_column(String(16), primary_key=True)
    opens: Mapped[date] = mapped_column(primary_key=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[uuid.UUID]
    track: Mapped[str] = mapped_column(String(8))
    closes: Mapped[date]
    status: Mapped[str] = mapped_column(String(16))
    report_id: Mapped[uuid.UUID | None]
    needed: Mapped[list[str]] = mapped_column(JSONType)
