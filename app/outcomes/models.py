"""Tables of the outcomes package: the reports prepared for CMS, frozen when prepared."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
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
    rules_version: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[uuid.UUID | None]
