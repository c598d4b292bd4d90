"""The per-patient change sequence: numbering every write, and the changes read by followers.

Invariants:
- Every write of a patient's readings (insert or delete) first calls `allocate_seq`, which takes
  the patient's feed row (`reading_feeds`, INSERT ... ON CONFLICT DO UPDATE
  last_seq = last_seq + n): that both allocates change sequence numbers and holds the row lock
  until commit, so a patient's writers commit in sequence order. A follower reading
  `seq > cursor` therefore never skips a change committed later with a smaller number (gaps
  from skipped duplicates are harmless). SQLite already serialises writers (BEGIN IMMEDIATE).
- A delete gives the tombstone a new sequence number: the feed shows it again as op "delete",
  and a follower from any cursor ends with exactly the live set (docs/api.md "Readings"; a
  property test follows the feed through random writes).
- The cursor is opaque (the last seq seen); an empty page hands back the cursor it was given.
- Every read of the feed is audited in the request's session.
"""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.auth.principal import Principal
from app.db import dialect_insert
from app.pagination import decode_cursor, encode_cursor, invalid_cursor
from app.patients.models import Patient
from app.readings.models import Reading, ReadingFeed
from app.readings.queries import READ_COLUMNS, to_read

READINGS = cast("Table", Reading.__table__)
FEEDS = cast("Table", ReadingFeed.__table__)

_audit = audit_service.Trail("reading")


async def allocate_seq(session: AsyncSession, *, patient_id: uuid.UUID, count: int) -> int:
    """Reserve `count` sequence numbers; returns the last. Holds the patient's feed row lock."""
    statement = _allocate_statement(session.get_bind().dialect.name)
    result = await session.execute(statement, {"patient_id": patient_id, "last_seq": count})
    last: int = result.scalar_one()
    return last


# Built once per dialect: building the upsert cost about as much as running it.
@lru_cache
def _allocate_statement(dialect: str) -> Any:
    insert = dialect_insert(dialect)(FEEDS)
    return insert.on_conflict_do_update(
        index_elements=["patient_id"],
        set_={"last_seq": FEEDS.c.last_seq + insert.excluded.last_seq},
    ).returning(FEEDS.c.last_seq)


def _decode_seq(cursor: str | None) -> int:
    if cursor is None:
        return 0
    values = decode_cursor(cursor)
    try:
        (seq,) = values
        return int(seq)
    except ValueError:
        raise invalid_cursor() from None


async def changes(
    session: AsyncSession,
    *,
    principal: Principal,
    patient: Patient,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """Changes after `cursor` in sequence (commit) order; tombstones as op "delete".

    A hot path: a dict in `ChangesPage`'s shape, from plain rows; a page holds up to 1,000
    readings.
    """
    after = _decode_seq(cursor)
    rows = list(
        (
            await session.execute(
                select(*READ_COLUMNS)
                .where(READINGS.c.patient_id == patient.id, READINGS.c.seq > after)
                .order_by(READINGS.c.seq)
                .limit(limit + 1)
            )
        ).all()
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    _audit(session, principal=principal, patient=patient, action="read")
    next_cursor = encode_cursor([rows[-1].seq]) if rows else cursor
    return {
        "changes": [
            {"op": "delete" if r.deleted_at else "upsert", "reading": to_read(r)} for r in rows
        ],
        "next_cursor": next_cursor,
        "has_more": has_more,
    }
