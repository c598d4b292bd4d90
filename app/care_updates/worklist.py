"""Care-coordination updates not sent, as items of the organization's reporting worklist
(`app/outcomes/reporting.py` merges them with the reporting windows).

Invariants:
- an update is listed while not sent, from the day of its event, as `open`, `due_soon` or
  `missed` (`due.worklist_status`, the statuses of a reporting window; `upcoming` before its
  event); a missed update can still be sent, so it stays listed until it is;
- the status is judged by SQL on the instants the update's local days begin, so a page is one
  indexed query of at most `limit` rows whatever the organization's size, and a status never
  waits for the worker;
- items come in the worklist's keyset order: closing day (the due day), patient, care period,
  the type `care_update`, then the update's id; `after` is the key of the last item shown.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import date, timedelta
from typing import Final

from sqlalchemy import ColumnElement, and_, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.care_updates import due
from app.care_updates.models import CareUpdate
from app.care_updates.schemas import CareUpdateRef
from app.clock import utc_today, utcnow
from app.outcomes.schemas import WorklistItem
from app.patients.models import Patient

TYPE: Final = "care_update"
# The worklist's key: closing day, patient, care period, type, and (for an update) its id.
Key = tuple[date, uuid.UUID, uuid.UUID, str, str]


def key(item: WorklistItem) -> Key:
    ref = str(item.care_update.id) if item.care_update is not None else ""
    return (item.closes, item.patient_id, item.enrollment_id, item.type, ref)


def _after(after: Key) -> ColumnElement[bool]:
    c = CareUpdate
    closes, patient_id, enrollment_id, kind, ref = after
    if kind == TYPE:
        return tuple_(c.due, c.patient_id, c.enrollment_id, c.id) > tuple_(
            closes, patient_id, enrollment_id, uuid.UUID(ref)
        )
    # A window's key: the updates of its (day, patient, period) sort after it when its type
    # sorts before `care_update` (baseline), and before it otherwise.
    position = tuple_(c.due, c.patient_id, c.enrollment_id)
    last = tuple_(closes, patient_id, enrollment_id)
    return position >= last if kind < TYPE else position > last


def _statuses(statuses: Collection[str]) -> list[ColumnElement[bool]]:
    c, now = CareUpdate, utcnow()
    started = c.opens_at <= now
    conditions = {
        "upcoming": c.opens_at > now,
        "open": and_(started, c.due_soon_at > now),
        "due_soon": and_(started, c.due_soon_at <= now, c.overdue_at > now),
        "missed": c.overdue_at <= now,
    }
    return [conditions[s] for s in conditions if s in statuses]


def _bounds(statuses: Collection[str]) -> list[ColumnElement[bool]]:
    """Due days the instants imply, for the index to start or stop at: a patient's today lies
    within a day of UTC's, so an update not yet missed is due yesterday (UTC) or later, and a
    missed one was due by tomorrow."""
    today = utc_today()
    if "missed" not in statuses:
        return [CareUpdate.due >= today - timedelta(days=1)]
    if set(statuses) == {"missed"}:
        return [CareUpdate.due <= today + timedelta(days=1)]
    return []


async def page(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    track: str | None,
    statuses: Collection[str],
    after: Key | None,
    limit: int,
) -> list[WorklistItem]:
    """Up to `limit` updates not sent of the organization in `statuses`, after `after`."""
    matching = _statuses(statuses)
    if not matching:
        return []
    c, now = CareUpdate, utcnow()
    statement = (
        select(
            c.id,
            c.kind,
            c.patient_id,
            c.enrollment_id,
            c.track,
            c.event_on,
            c.due,
            c.opens_at,
            c.due_soon_at,
            c.overdue_at,
            Patient.given_name,
            Patient.family_name,
        )
        .join(Patient, Patient.id == c.patient_id)
        .where(
            c.organization_id == organization_id,
            c.sent_at.is_(None),
            or_(*matching),
            *_bounds(statuses),
        )
    )
    if track is not None:
        statement = statement.where(c.track == track)
    if after is not None:
        statement = statement.where(_after(after))
    statement = statement.order_by(c.due, c.patient_id, c.enrollment_id, c.id).limit(limit)
    return [
        WorklistItem(
            patient_id=row.patient_id,
            patient_name=f"{row.given_name} {row.family_name}",
            enrollment_id=row.enrollment_id,
            track=row.track,
            type=TYPE,
            opens=row.event_on,
            closes=row.due,
            status=due.worklist_status(
                now=now,
                opens_at=row.opens_at,
                due_soon_at=row.due_soon_at,
                overdue_at=row.overdue_at,
            ),
            needed=[f"send the {row.kind} update to the referring clinician"],
            care_update=CareUpdateRef(id=row.id, kind=row.kind),
        )
        for row in await session.execute(statement)
    ]
