"""Mark a patient whose stored standing a write has changed; no other imports, so any service
may call it (readings, check-ins, alerts, reports, enrollments, patients).

Invariant: a write that can change what a patient's care periods stand at calls `touch` in the
session it writes with; before that session commits, `stored.refresh_touched` re-evaluates the
touched patients in the same transaction (wired by `db.before_commit`). A write of readings
names their types: readings no rule reads (steps, heart rate, CGM glucose) change no standing,
so a CGM upload does not pay for a re-evaluation (an alert it opens touches the patient itself).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

_KEY = "standing_touched"
ANY = "*"  # a change of any kind


def touch(
    session: AsyncSession, patient_id: uuid.UUID, *, reading_types: Iterable[str] | None = None
) -> None:
    """The patient's standing must be re-evaluated before this transaction commits (if
    `reading_types` are given: only if a rule reads one of them)."""
    kinds: dict[uuid.UUID, set[str]] = session.info.setdefault(_KEY, {})
    kinds.setdefault(patient_id, set()).update(
        reading_types if reading_types is not None else (ANY,)
    )


def take_touched(session: AsyncSession, *, read: set[str]) -> set[uuid.UUID]:
    """The patients touched since the last call by a change of a kind in `read` (or of any
    kind), forgotten once taken."""
    kinds: dict[uuid.UUID, set[str]] = session.info.pop(_KEY, {})
    return {pid for pid, changed in kinds.items() if ANY in changed or changed & read}
