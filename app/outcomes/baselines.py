"""Frozen baselines of device-measured outcomes (blood pressure, weight).

Their baseline windows are the bulk of the rows an organization-wide evaluation reads; once a
window has closed the baseline cannot change unless a reading is added to or removed from it,
so it is computed once and kept (`OutcomeBaseline`). Invariants: a cached baseline is used only
for the ruleset version that computed it; storing is idempotent under concurrency (ON CONFLICT
DO NOTHING); any reading written or tombstoned for a day inside a kept window drops that entry
in the same transaction (`invalidate`). The window's last day is the ruleset's
`Windows.baseline_reach`, the same day the loader and `targets.baseline_value` stop at.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import utcnow
from app.db import upsert_insert
from app.outcomes.models import OutcomeBaseline
from app.outcomes.observations import Value
from app.outcomes.rules import MeasureRule, Ruleset
from app.patients.models import Enrollment

CACHED_SOURCES = frozenset({"blood_pressure", "weight"})


def cacheable(rule: MeasureRule) -> bool:
    return rule.kind == "target" and set(rule.sources) <= CACHED_SOURCES


def closed(enrollment: Enrollment, *, rules: Ruleset, as_of: date) -> bool:
    """Whether no observation can change the enrollment's baselines as of `as_of`."""
    return min(as_of, enrollment.end_date) > rules.windows.baseline_reach(enrollment.start_date)


async def load(
    session: AsyncSession, *, rules: Ruleset, enrollment_ids: Sequence[uuid.UUID]
) -> dict[tuple[uuid.UUID, str], Value | None]:
    """Kept baselines by (enrollment id, measure); a None value means none was recorded."""
    if not enrollment_ids:
        return {}
    rows = await session.scalars(
        select(OutcomeBaseline).where(
            OutcomeBaseline.enrollment_id.in_(enrollment_ids),
            OutcomeBaseline.rules_version == rules.version,
        )
    )
    kept: dict[tuple[uuid.UUID, str], Value | None] = {}
    for row in rows:
        value = None
        if row.value is not None and row.at is not None:
            value = Value(
                value=row.value,
                at=row.at,
                n=row.n,
                ids=tuple(uuid.UUID(i) for i in row.source_ids),
                secondary=row.secondary,
            )
        kept[(row.enrollment_id, row.measure)] = value
    return kept


async def store(
    session: AsyncSession,
    *,
    rules: Ruleset,
    entries: Iterable[tuple[Enrollment, str, Value | None]],
) -> None:
    now = utcnow()
    rows = [
        {
            "enrollment_id": enrollment.id,
            "measure": measure,
            "patient_id": enrollment.patient_id,
            "rules_version": rules.version,
            "window_last": rules.windows.baseline_reach(enrollment.start_date),
            "value": value.value if value else None,
            "secondary": value.secondary if value else None,
            "at": value.at if value else None,
            "n": value.n if value else 0,
            "source_ids": [str(i) for i in value.ids] if value else [],
            "frozen_at": now,
        }
        for enrollment, measure, value in entries
    ]
    if rows:
        statement = upsert_insert(session)(OutcomeBaseline).on_conflict_do_nothing()
        await session.execute(statement, rows)


async def invalidate(session: AsyncSession, *, patient_id: uuid.UUID, days: Iterable[date]) -> None:
    """Drop the patient's kept baselines whose window reaches any of `days`."""
    earliest = min(days, default=None)
    if earliest is None:
        return
    await session.execute(
        delete(OutcomeBaseline).where(
            OutcomeBaseline.patient_id == patient_id, OutcomeBaseline.window_last >= earliest
        )
    )
