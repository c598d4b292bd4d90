"""Mark a patient whose stored standing a write has changed; no other imports, so any service
may call it (readings, check-ins, alerts, reports, enrollments, patients).

Invariant: a write that can change what a patient's care periods stand at calls `touch` in the
session it writes with; before that session commits, `stored.refresh_touched` re-evaluates the
touched patients in the same transaction (wired by `db.before_commit`).
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

_KEY = "standing_touched"


def touch(session: AsyncSession, patient_id: uuid.UUID) -> None:
    """The patient's standing must be re-evaluated before this transaction commits."""
    session.info.setdefault(_KEY, set()).add(patient_id)


def take_touched(session: AsyncSession) -> set[uuid.UUID]:
    """The patients touched since the last call, forgotten once taken."""
    touched: set[uuid.UUID] = session.info.pop(_KEY, set())
    return touched
