"""Deleting a reading: it becomes a tombstone, never disappears.

Invariants:
- A delete sets `deleted_at` and gives the row a new change sequence number (taking the
  patient's feed row lock first, `app/readings/feed.py`): the changes feed shows it again as op
  "delete", so a follower from any cursor ends with exactly the live set.
- A tombstone keeps its repeat keys (client_id, identity hash): an offline queue resending the
  reading cannot bring it back.
- Deleting is idempotent: a second delete of the same reading changes nothing and succeeds;
  a reading that never was the patient's is a 404.
- In the same transaction: the one affected day's rollup is recomputed and the delete is
  audited.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.auth.principal import Principal
from app.clock import utcnow
from app.errors import NotFound
from app.outcomes.touch import touch
from app.patients.models import Patient
from app.readings import feed, rollups
from app.readings.models import Reading

_audit = audit_service.Trail("reading")


async def delete_reading(
    session: AsyncSession, *, principal: Principal, patient: Patient, reading_id: uuid.UUID
) -> None:
    """Tombstone a reading (idempotent); it reappears in the feed as a delete."""
    seq = await feed.allocate_seq(session, patient_id=patient.id, count=1)
    row = (
        await session.execute(
            update(Reading)
            .where(
                Reading.id == reading_id,
                Reading.patient_id == patient.id,
                Reading.deleted_at.is_(None),
            )
            .values(deleted_at=utcnow(), seq=seq)
            .returning(Reading.type, Reading.local_date)
            .execution_options(synchronize_session=False)
        )
    ).first()
    if row is None:
        exists = await session.scalar(
            select(Reading.id).where(Reading.id == reading_id, Reading.patient_id == patient.id)
        )
        if exists is None:
            raise NotFound("No such reading.")
        return
    reading_type, local_date = row
    touch(session, patient.id, reading_types={reading_type})
    await rollups.recompute_day(
        session, patient_id=patient.id, reading_type=reading_type, local_date=local_date
    )
    _audit(session, principal=principal, patient=patient, action="delete", resource_id=reading_id)
