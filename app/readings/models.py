from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.db import Base, IdMixin


class Reading(IdMixin, Base):
    """One measurement of a patient, values in canonical units; deleted ones stay as tombstones.

    `seq` is the patient's change sequence: assigned on insert and bumped again on delete, so
    ordering a patient's rows by `seq` replays every change in commit order (see `feed.py`).
    """

    __tablename__ = "readings"
    __table_args__ = (
        Index("uq_readings_patient_id_seq", "patient_id", "seq", unique=True),
        # Repeats are decided here, never by a read-then-write: a resent client_id, or (without
        # one) the same type, time, values and source. Partial, so readings without a client_id
        # (most device data) cost no entry in the first index.
        Index(
            "uq_readings_patient_id_client_id",
            "patient_id",
            "client_id",
            unique=True,
            sqlite_where=text("client_id IS NOT NULL"),
            postgresql_where=text("client_id IS NOT NULL"),
        ),
        Index(
            "uq_readings_patient_id_identity_hash",
            "patient_id",
            "identity_hash",
            unique=True,
            sqlite_where=text("client_id IS NULL"),
            postgresql_where=text("client_id IS NULL"),
        ),
        Index("ix_readings_patient_id_type_effective_at", "patient_id", "type", "effective_at"),
        Index("ix_readings_patient_id_effective_at", "patient_id", "effective_at"),
    )

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(24))
    code: Mapped[str] = mapped_column(String(16))  # LOINC of the reading (glucose: by specimen)
    effective_at: Mapped[datetime]
    # The offset the client sent, so the reading reads back as written.
    utc_offset_minutes: Mapped[int]
    timezone: Mapped[str] = mapped_column(String(64))
    local_date: Mapped[date]
    end_at: Mapped[datetime | None]
    values: Mapped[dict[str, Any]]
    source_kind: Mapped[str] = mapped_column(String(16))
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("devices.id"))
    eligible: Mapped[bool]
    client_id: Mapped[uuid.UUID | None]
    identity_hash: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]


class ReadingFeed(Base):
    """A patient's change-sequence counter; its row lock serialises the patient's writers."""

    __tablename__ = "reading_feeds"

    patient_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True
    )
    last_seq: Mapped[int] = mapped_column(BigInteger)


class ReadingDay(Base):
    """Daily rollup of one numeric component of one reading type, per patient local day.

    Maintained at write time (added to on insert, recomputed for the day on delete) so daily
    views over a year read 365 rows, never a year of raw readings.
    """

    __tablename__ = "reading_days"

    patient_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True
    )
    type: Mapped[str] = mapped_column(String(24), primary_key=True)
    component: Mapped[str] = mapped_column(String(16), primary_key=True)
    local_date: Mapped[date] = mapped_column(primary_key=True)
    count: Mapped[int]
    sum: Mapped[float]
    min: Mapped[float]
    max: Mapped[float]
