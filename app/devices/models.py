from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, CreatedMixin, IdMixin

# The registrations the unique index holds to one per physical device (those with a serial).
LIVE_REGISTRATION = "serial IS NOT NULL AND revoked_at IS NULL"


def _cuff_placement(context: Any) -> str | None:
    """A cuff stored without a placement is an upper-arm cuff: the API's default, and what
    migration e5f6a7b8c9d0 set for the cuffs registered before placements were recorded."""
    return "upper_arm" if context.get_current_parameters().get("kind") == "bp_cuff" else None


class Device(IdMixin, CreatedMixin, Base):
    """A patient's measuring device and its client credentials (secret stored as SHA-256)."""

    __tablename__ = "devices"
    # One live registration per patient and physical device: registering it again returns it.
    __table_args__ = (
        Index(
            "ix_devices_live_registration",
            "patient_id",
            "kind",
            "manufacturer",
            "model",
            "serial",
            unique=True,
            sqlite_where=text(LIVE_REGISTRATION),
            postgresql_where=text(LIVE_REGISTRATION),
        ),
    )

    patient_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    manufacturer: Mapped[str] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(String(100))
    serial: Mapped[str | None] = mapped_column(String(100))
    # Only staff mark a device validated (a patient's own claim never counts); when and who.
    validated: Mapped[bool] = mapped_column(default=False)
    validated_at: Mapped[datetime | None]
    validated_by: Mapped[uuid.UUID | None]
    # A blood-pressure cuff's placement: `upper_arm` or `wrist` (only a validated upper-arm cuff
    # makes eligible readings, docs/rules.md "Data rules"); null for other kinds.
    placement: Mapped[str | None] = mapped_column(String(16), default=_cuff_placement)
    # A CGM's minutes between readings: the wear each of its readings stands for (docs/rules.md
    # "CGM"); null for every other kind. The CHECK is the column's own, so SQLite could add it
    # with ALTER TABLE, without rebuilding a table that readings reference.
    sampling_minutes: Mapped[int | None] = mapped_column(
        CheckConstraint("sampling_minutes BETWEEN 1 AND 60", name="sampling_minutes_range")
    )
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    # Names the current secret; the device's access tokens carry it (`fam`), so a rotated
    # secret's tokens stop at once. Null for devices registered before it existed.
    secret_id: Mapped[uuid.UUID | None]
    revoked_at: Mapped[datetime | None]
