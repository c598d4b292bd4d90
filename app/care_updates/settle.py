"""Keep the stored care-coordination updates equal to what the patients' care periods need
(`due.wanted`): the one place `care_updates` rows are written, except `sent_at`.

Invariants:
- `settle` runs inside the stored standing's refresh (`app/outcomes/stored.py`), so in the
  transaction of every write that can change what is needed (an enrollment made, ended or given
  a referring clinician; an urgent alert episode opened, changed or withdrawn; a patient's time
  zone) and in the worker's passes; the refresh has locked the patients' standing rows first,
  so two transactions settle one patient one after the other;
- exactly once: a missing update is inserted with ON CONFLICT DO NOTHING against the unique
  indexes, so a retry or a concurrent writer never makes a second;
- an update sent is history and never changes; one not sent follows what is needed: its days
  and instants are rewritten when the event, the rules or the patient's zone moved them, and it
  is deleted when no longer needed (its alert withdrawn, the referring clinician removed);
- three small reads per call (the periods, the rows, and the urgent episodes of patients with
  a referred period), whatever the number of patients in it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.models import Alert
from app.alerts.standing import midnight
from app.care_updates import due
from app.care_updates.models import CareUpdate
from app.clock import utcnow
from app.db import new_id, upsert_insert
from app.outcomes.rules import Ruleset
from app.patients.models import Enrollment, Patient

CARE_UPDATES = cast("Table", CareUpdate.__table__)
URGENT = "urgent"


def _period(row: Any) -> due.Period:
    return due.Period(
        enrollment_id=row.id,
        track=row.track,
        start=row.start_date,
        end=row.end_date,
        ended_at=row.ended_at,
        referred=bool(row.referring_clinician),
    )


async def _periods(
    session: AsyncSession, patient_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[due.Period]]:
    rows = await session.execute(
        select(
            Enrollment.id,
            Enrollment.patient_id,
            Enrollment.track,
            Enrollment.start_date,
            Enrollment.end_date,
            Enrollment.ended_at,
            Enrollment.referring_clinician,
        ).where(Enrollment.patient_id.in_(patient_ids))
    )
    periods: dict[uuid.UUID, list[due.Period]] = defaultdict(list)
    for row in rows:
        periods[row.patient_id].append(_period(row))
    return periods


async def _escalations(
    session: AsyncSession, periods: dict[uuid.UUID, list[due.Period]]
) -> dict[uuid.UUID, list[due.Escalation]]:
    """The urgent episodes of the patients with a referred period, from the day before the
    earliest such period began (a zone's midnight lies within a day of UTC's)."""
    referred = {pid: [p for p in ps if p.referred] for pid, ps in periods.items()}
    referred = {pid: ps for pid, ps in referred.items() if ps}
    if not referred:
        return {}
    earliest = min(p.start for ps in referred.values() for p in ps) - timedelta(days=1)
    rows = await session.execute(
        select(Alert.id, Alert.patient_id, Alert.first_at).where(
            Alert.patient_id.in_(sorted(referred)),
            Alert.severity == URGENT,
            Alert.first_at >= midnight(earliest, "UTC"),
            # A withdrawn alert (resolved by the service itself) was no episode.
            or_(Alert.status != "resolved", Alert.resolved_by.is_not(None)),
        )
    )
    found: dict[uuid.UUID, list[due.Escalation]] = defaultdict(list)
    for alert_id, patient_id, first_at in rows:
        found[patient_id].append(due.Escalation(alert_id, first_at))
    return found


def _values(wanted: due.Wanted) -> dict[str, Any]:
    t = wanted.timing
    return {
        "track": wanted.track,
        "event_at": wanted.event_at,
        "event_on": t.event_on,
        "due": t.due,
        "timezone": t.timezone,
        "opens_at": t.opens_at,
        "due_soon_at": t.due_soon_at,
        "overdue_at": t.overdue_at,
    }


async def settle(session: AsyncSession, *, rules: Ruleset, patients: Sequence[Patient]) -> None:
    """Insert the updates the patients' care periods need and do not have, bring those not
    sent in line, and delete those not sent that are no longer needed."""
    if not patients:
        return
    ids = sorted(p.id for p in patients)
    periods = await _periods(session, ids)
    escalations = await _escalations(session, periods)
    stored: dict[tuple[uuid.UUID, str, uuid.UUID | None], Any] = {
        (row.enrollment_id, row.kind, row.alert_id): row
        for row in await session.execute(
            select(CARE_UPDATES).where(CARE_UPDATES.c.patient_id.in_(ids))
        )
    }
    now = utcnow()
    inserts: list[dict[str, Any]] = []
    changes: list[tuple[uuid.UUID, dict[str, Any]]] = []
    needed: set[tuple[uuid.UUID, str, uuid.UUID | None]] = set()
    for patient in patients:
        for wanted in due.wanted(
            periods.get(patient.id, ()),
            escalations.get(patient.id, []),
            zone=patient.timezone,
            rules=rules,
        ):
            needed.add(wanted.key)
            values = _values(wanted)
            row = stored.get(wanted.key)
            if row is None:
                inserts.append(
                    {
                        "id": new_id(),
                        "created_at": now,
                        "patient_id": patient.id,
                        "organization_id": patient.organization_id,
                        "enrollment_id": wanted.enrollment_id,
                        "kind": wanted.kind,
                        "alert_id": wanted.alert_id,
                        "sent_at": None,
                        "sent_by": None,
                        **values,
                    }
                )
            elif row.sent_at is None and any(getattr(row, k) != v for k, v in values.items()):
                changes.append((row.id, values))
    if inserts:
        statement = upsert_insert(session)(CARE_UPDATES).on_conflict_do_nothing()
        await session.execute(statement, inserts)
    for update_id, values in changes:
        await session.execute(
            update(CARE_UPDATES)
            .where(CARE_UPDATES.c.id == update_id, CARE_UPDATES.c.sent_at.is_(None))
            .values(**values)
        )
    gone = [row.id for key, row in stored.items() if key not in needed and row.sent_at is None]
    if gone:
        await session.execute(
            delete(CARE_UPDATES).where(
                CARE_UPDATES.c.id.in_(gone), CARE_UPDATES.c.sent_at.is_(None)
            )
        )
