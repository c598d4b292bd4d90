"""Reading episodes against the stored readings: what new readings change in a patient's alerts.

The rules are pure (`app/readings/alert_rules.py`); this module loads the stored readings around
the new ones and the alerts stored for the same condition, and plans the change that makes the
stored alerts equal the episodes the readings make. `alerts.service.readings_stored` writes the
plan (the one place alerts change).

Invariants:
- the episodes are computed from the stored readings, never from a batch alone, so the same
  readings sent in other batches or another order end with the same episodes; a resent reading
  is stored once, so it counts once;
- the window read is the new readings' time +/- `CONTEXT`, widened until no stored episode of
  the condition crosses its edges (to the newest reading while one goes on), so an episode is
  always recomputed whole;
- a stored alert is matched to the computed episode it overlaps (the earliest one not resolved
  by a clinician first), updated to it, or opened for an episode that has none; one that no
  episode supports any more (late readings split it below the minutes, or joined two) is
  withdrawn: resolved by the service with a note saying why;
- an alert a clinician resolved is final: it is never changed, and if its episode was going on
  when resolved, the readings after that instant begin a new episode (`cuts`);
- the caller holds the patient's readings lock (`readings.feed`), and the alerts read here are
  locked too (`FOR UPDATE`), so concurrent batches of one patient plan one after the other.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.models import Alert
from app.devices.models import Device
from app.devices.schemas import DEFAULT_SAMPLING_MINUTES
from app.readings.alert_rules import RULES, Episode, EpisodeRule, Sample, episodes, sample_minutes
from app.readings.models import Reading

SOURCE_TYPE = "reading"
# How far around the new readings the rules look for readings that may join theirs in a run.
CONTEXT = timedelta(hours=6)
WITHDRAWN_NO_EPISODE = "Withdrawn by the service: later readings show no such episode."
WITHDRAWN_JOINED = "Withdrawn by the service: later readings joined it to alert {alert_id}."


@dataclass
class Plan:
    """What to write: alerts to open (rows), alerts to change (id -> values)."""

    opened: list[dict[str, Any]] = field(default_factory=list)
    changed: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)


def withdrawn(alert: Alert) -> bool:
    """Resolved by the service itself (no clinician): no longer an episode of its condition."""
    return alert.status == "resolved" and alert.resolved_by is None


def frozen(alert: Alert) -> bool:
    """Resolved by a clinician: what it says is final."""
    return alert.status == "resolved" and alert.resolved_by is not None


def cut_at(alert: Alert) -> datetime | None:
    """The instant a clinician resolved the alert's episode while it went on, if so."""
    if frozen(alert) and alert.ended_at is not None and alert.ended_at == alert.resolved_at:
        return alert.ended_at
    return None


async def _stored(
    session: AsyncSession,
    patient_id: uuid.UUID,
    condition: str,
    first: datetime,
    last: datetime | None,
    *,
    lock: bool = True,
) -> list[Alert]:
    """The alerts of the condition whose episodes reach into [first, last] (locked unless
    `lock` is false), oldest first; withdrawn ones are no episode and stay out."""
    statement = select(Alert).where(
        Alert.patient_id == patient_id,
        Alert.condition == condition,
        or_(Alert.ended_at.is_(None), Alert.ended_at >= first),
        or_(Alert.status != "resolved", Alert.resolved_by.is_not(None)),
    )
    if last is not None:
        statement = statement.where(Alert.first_at <= last)
    statement = statement.order_by(Alert.first_at, Alert.id)
    if lock:
        statement = statement.with_for_update()
    found = await session.scalars(statement.execution_options(populate_existing=True))
    return list(found)


async def _samples(
    session: AsyncSession,
    patient_id: uuid.UUID,
    rule: EpisodeRule,
    first: datetime,
    last: datetime | None,
) -> list[Sample]:
    statement = (
        select(Reading.id, Reading.effective_at, Reading.values, Reading.code)
        .add_columns(Device.sampling_minutes)
        .outerjoin(Device, Device.id == Reading.device_id)
        .where(
            Reading.patient_id == patient_id,
            Reading.type == rule.reading_type,
            Reading.deleted_at.is_(None),
            Reading.effective_at >= first,
        )
    )
    if last is not None:
        statement = statement.where(Reading.effective_at <= last)
    glucose = rule.reading_type == "glucose"
    return [
        Sample(
            reading_id,
            at,
            values,
            sample_minutes(code=code, sampling_minutes=minutes, default=DEFAULT_SAMPLING_MINUTES)
            if glucose
            else 0,
        )
        for reading_id, at, values, code, minutes in await session.execute(statement)
    ]


def _reaches(alert: Alert, first: datetime, last: datetime) -> bool:
    """Whether a stored episode's span touches [first, last] (its end is when it ended)."""
    end = alert.ended_at or datetime.max.replace(tzinfo=alert.first_at.tzinfo)
    return alert.first_at <= last and end > first


async def plan_readings(
    session: AsyncSession,
    *,
    patient_id: uuid.UUID,
    rows: Sequence[Mapping[str, Any]],
    lock: Callable[[], Awaitable[None]],
) -> Plan:
    """The alert changes the newly stored `rows` (reading rows: type, effective_at, values)
    make, for every condition they belong to. `lock` is awaited once, before the first alert
    row is locked (the caller's lock order)."""
    plan = Plan()
    locked = False
    by_type: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        if row["type"] in RULES:
            by_type.setdefault(row["type"], []).append(row)
    for reading_type, new in sorted(by_type.items()):
        rule = RULES[reading_type]
        if not await _concerned(session, patient_id=patient_id, rule=rule, new=new):
            continue
        if not locked:
            await lock()
            locked = True
        await _plan_condition(session, plan, patient_id=patient_id, rule=rule, new=new)
    return plan


async def _concerned(
    session: AsyncSession,
    *,
    patient_id: uuid.UUID,
    rule: EpisodeRule,
    new: Sequence[Mapping[str, Any]],
) -> bool:
    """Whether new readings can change the condition's episodes: one meets it, or one falls
    inside a stored episode (it may end or split it); far from any, a reading meeting nothing
    changes nothing. One unlocked read."""
    if any(rule.levels[0].meets(r["values"]) for r in new):
        return True
    t0 = min(r["effective_at"] for r in new)
    t1 = max(r["effective_at"] for r in new)
    stored = await _stored(session, patient_id, rule.condition, t0, t1, lock=False)
    return any(_reaches(a, t0, t1) for a in stored)


async def _plan_condition(
    session: AsyncSession,
    plan: Plan,
    *,
    patient_id: uuid.UUID,
    rule: EpisodeRule,
    new: Sequence[Mapping[str, Any]],
) -> None:
    t0 = min(r["effective_at"] for r in new)
    t1 = max(r["effective_at"] for r in new)
    first: datetime = t0 - CONTEXT
    last: datetime | None = t1 + CONTEXT
    stored = await _stored(session, patient_id, rule.condition, first, last)
    while True:
        widened_first = min([first, *(a.first_at for a in stored)])
        widened_last: datetime | None = last
        if last is not None:
            if any(a.ended_at is None for a in stored):
                widened_last = None
            else:
                widened_last = max([last, *(a.ended_at + CONTEXT for a in stored if a.ended_at)])
        computed: list[Episode] = []
        if (widened_first, widened_last) == (first, last):
            samples = await _samples(session, patient_id, rule, first, last)
            cuts = [c for a in stored if (c := cut_at(a)) is not None]
            computed = episodes(samples, rule, cuts=cuts)
            if not (computed and computed[-1].ended_at is None and last is not None):
                break
            widened_last = None  # an episode goes on at the window's end: read to the newest
        first, last = widened_first, widened_last
        stored = await _stored(session, patient_id, rule.condition, first, last)
    _match(plan, patient_id, rule, computed, stored)


def _overlaps(alert: Alert, episode: Episode) -> bool:
    return alert.first_at <= episode.last_at and episode.first_at <= alert.last_at


def _values(episode: Episode) -> dict[str, Any]:
    return {
        "kind": episode.kind,
        "severity": episode.severity,
        "source_id": episode.first_id,
        "first_at": episode.first_at,
        "last_at": episode.last_at,
        "ended_at": episode.ended_at,
        "count": episode.count,
        "worst": episode.worst,
    }


def _match(
    plan: Plan,
    patient_id: uuid.UUID,
    rule: EpisodeRule,
    computed: Iterable[Episode],
    stored: Sequence[Alert],
) -> None:
    used: set[uuid.UUID] = set()
    for episode in computed:
        overlapping = sorted(
            (a for a in stored if a.id not in used and _overlaps(a, episode)),
            key=lambda a: (frozen(a), a.first_at, str(a.id)),
        )
        if not overlapping:
            plan.opened.append(
                {
                    "patient_id": patient_id,
                    "status": "open",
                    "condition": rule.condition,
                    "source_type": SOURCE_TYPE,
                    "details": {},
                    **_values(episode),
                }
            )
            continue
        kept, *others = overlapping
        used.update(a.id for a in overlapping)
        if not frozen(kept):
            wanted = _values(episode)
            if any(getattr(kept, name) != value for name, value in wanted.items()):
                plan.changed[kept.id] = wanted
        for other in others:
            if not frozen(other):
                plan.changed[other.id] = _withdrawal(
                    other, WITHDRAWN_JOINED.format(alert_id=kept.id)
                )
    for alert in stored:
        if alert.id not in used and not frozen(alert):
            plan.changed[alert.id] = _withdrawal(alert, WITHDRAWN_NO_EPISODE)


def _withdrawal(alert: Alert, note: str) -> dict[str, Any]:
    return {
        "status": "resolved",
        "resolved_by": None,
        "resolved_note": note,
        "ended_at": alert.ended_at or alert.last_at,
    }
