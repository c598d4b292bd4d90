"""Clinical alerts: episodes opened and changed by other services in their own transaction,
worked by staff (docs/rules.md "Alert episodes"; docs/api.md "Alerts, refined").

Invariants:
- every alert that opens or changes passes through `_record` (the one place: webhooks
  `alert.opened` / `alert.updated` belong there), called by the four ways alerts move, each
  returning the ids it opened and changed (`Changes`): `readings_stored` (reading episodes),
  `open_alerts` (a check-in's answers), `sync_standing` (the date: `no_data`, `report_due`)
  and `transition` (a clinician acknowledges or resolves);
- at most one episode per patient and condition goes on at a time: a partial unique index
  decides (`uq_alerts_ongoing`), and a write that would make a second is a 409 (retry), never
  two; reading episodes come from the stored readings (`app/alerts/episodes.py`), so a resent
  reading (stored once) counts once and batches split otherwise give the same episodes;
- a check-in's alerts are events of their own, opened once per check-in (a unique index) and
  over at once; they stay open for the clinicians like any other;
- status moves open -> acknowledged -> resolved (or open -> resolved), independently of the
  episode being over (`ended_at`); repeating the current step is a no-op answered 200 (clients
  retry; its note is kept from the first time), moving backwards is 409; resolving an episode
  still going on ends it (later readings begin a new one);
- locks are taken in one order, the patient's stored standing row first, then alert rows (the
  worker and the refresh before every commit take that row too), so a clinician acting on an
  alert, a batch of readings and the worker never deadlock;
- staff move the alerts of their organization's patients only (`patients.reach`; the reads
  are `queries.py`); every change a caller makes is audited; what the date alone changes
  (`sync_standing`, run by the stored standing's refresh) has no caller and is not.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts import episodes, notify, queries, standing
from app.alerts.models import Alert
from app.alerts.queries import ALERTS
from app.alerts.schemas import AlertRead, Transition
from app.audit import service as audit_service
from app.auth.principal import Principal
from app.clock import local_date, utcnow
from app.db import new_id, upsert_insert
from app.errors import Conflict
from app.outcomes.models import PatientStanding
from app.outcomes.touch import touch
from app.patients.models import Patient

Severity = Literal["urgent", "warning"]

# Which statuses each action may start from, and where it leads.
_TRANSITIONS: dict[Transition, tuple[tuple[str, ...], str]] = {
    "acknowledge": (("open",), "acknowledged"),
    "resolve": (("open", "acknowledged"), "resolved"),
}


@dataclass(frozen=True, slots=True)
class AlertSpec:
    """An alert that is an event of its own (a check-in's answer): what, how urgent, the record
    that raised it and when (default: now)."""

    kind: str
    severity: Severity
    source_type: str
    source_id: uuid.UUID
    details: dict[str, Any] = field(default_factory=dict)
    at: datetime | None = None


@dataclass(slots=True)
class Changes:
    """The alerts a write opened and changed (extended, ended, escalated, moved by staff)."""

    opened: list[uuid.UUID] = field(default_factory=list)
    updated: list[uuid.UUID] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.opened or self.updated)


async def _record(
    session: AsyncSession,
    *,
    principal: Principal | None,
    patient: Patient,
    changes: Changes,
) -> Changes:
    """The one place every alert opened or changed passes (with its patient, whose
    `organization_id` says whose it is), in the transaction of the change: audited for the
    caller when a caller made it; what the date moved (no caller, `principal` None) is not.
    Asynchronous, so what it emits (webhooks' `alert.opened` / `alert.updated`) can write."""
    if principal is not None:
        for action, ids in (("create", changes.opened), ("update", changes.updated)):
            for alert_id in ids:
                audit_service.record_patient(
                    session,
                    principal=principal,
                    patient=patient,
                    action=action,  # type: ignore[arg-type]
                    resource_type="alert",
                    resource_id=alert_id,
                )
    if changes:
        await notify.emit_changes(
            session, patient=patient, opened=changes.opened, updated=changes.updated
        )
    return changes


async def _lock_patient(session: AsyncSession, patient_id: uuid.UUID) -> None:
    """Take the patient's stored standing row before any alert row (see the lock order)."""
    await session.execute(
        select(PatientStanding.patient_id)
        .where(PatientStanding.patient_id == patient_id)
        .with_for_update()
    )


async def _insert(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[uuid.UUID]:
    """Insert alert rows; a row the unique indexes refuse is left out of the ids returned."""
    if not rows:
        return []
    now = utcnow()
    full = [{"id": new_id(), "created_at": now, **row} for row in rows]
    statement = upsert_insert(session)(ALERTS).on_conflict_do_nothing().returning(ALERTS.c.id)
    return [row[0] for row in (await session.execute(statement, full)).all()]


async def _update(session: AsyncSession, alert_id: uuid.UUID, values: Mapping[str, Any]) -> None:
    await session.execute(
        update(Alert)
        .where(Alert.id == alert_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def _apply(session: AsyncSession, plan: episodes.Plan) -> Changes:
    """Write a plan of reading episodes. Order keeps `uq_alerts_ongoing` true after every
    statement: first what ends, then what goes on, then what opens."""
    now = utcnow()
    ending = {k: v for k, v in plan.changed.items() if v.get("ended_at") is not None}
    going_on = {k: v for k, v in plan.changed.items() if k not in ending}
    for alert_id, values in (*ending.items(), *going_on.items()):
        if values.get("status") == "resolved":
            values = {**values, "resolved_at": now}
        await _update(session, alert_id, values)
    opened = await _insert(session, plan.opened)
    if len(opened) != len(plan.opened):
        # Only another transaction opening the same episode at once can do this.
        raise Conflict("A concurrent write changed this patient's alerts; retry the request.")
    return Changes(opened=opened, updated=list(plan.changed))


async def readings_stored(
    session: AsyncSession,
    *,
    principal: Principal,
    patient: Patient,
    rows: Sequence[Mapping[str, Any]],
) -> Changes:
    """Bring the patient's reading episodes up to date with newly stored readings (rows with
    `type`, `effective_at`, `values`); the caller holds the patient's readings lock."""

    async def lock() -> None:
        await _lock_patient(session, patient.id)

    plan = await episodes.plan_readings(session, patient_id=patient.id, rows=rows, lock=lock)
    changes = await _apply(session, plan)
    if changes:
        touch(session, patient.id)
    return await _record(session, principal=principal, patient=patient, changes=changes)


async def open_alerts(
    session: AsyncSession, *, principal: Principal, patient: Patient, specs: Sequence[AlertSpec]
) -> Changes:
    """Open alerts that are events of their own (each over at once), once per source."""
    now = utcnow()
    rows = [
        {
            "patient_id": patient.id,
            "kind": s.kind,
            "severity": s.severity,
            "status": "open",
            "condition": s.kind,
            "source_type": s.source_type,
            "source_id": s.source_id,
            "first_at": s.at or now,
            "last_at": s.at or now,
            "ended_at": s.at or now,
            "count": 1,
            "worst": None,
            "details": s.details,
        }
        for s in specs
    ]
    changes = Changes(opened=await _insert(session, rows))
    if changes:
        touch(session, patient.id)
    return await _record(session, principal=principal, patient=patient, changes=changes)


async def open_alert(
    session: AsyncSession, *, principal: Principal, patient: Patient, spec: AlertSpec
) -> uuid.UUID | None:
    """Open one alert; None when its source already opened it."""
    changes = await open_alerts(session, principal=principal, patient=patient, specs=[spec])
    return changes.opened[0] if changes.opened else None


async def standing_alerts(
    session: AsyncSession, *, patient_ids: Sequence[uuid.UUID], since: datetime
) -> tuple[dict[uuid.UUID, list[Alert]], dict[uuid.UUID, dict[str, datetime]]]:
    """The patients' `no_data` and `report_due` alerts that matter to `sync_standing`: those
    going on (locked), and per condition the latest time a clinician resolved one (`report_due`
    ever, `no_data` from `since`)."""
    kinds = (standing.NO_DATA, standing.REPORT_DUE)
    ongoing: dict[uuid.UUID, list[Alert]] = defaultdict(list)
    for alert in await session.scalars(
        select(Alert)
        .where(Alert.patient_id.in_(patient_ids), Alert.kind.in_(kinds), Alert.ended_at.is_(None))
        .order_by(Alert.patient_id, Alert.condition)
        .with_for_update()
    ):
        ongoing[alert.patient_id].append(alert)
    resolved: dict[uuid.UUID, dict[str, datetime]] = defaultdict(dict)
    rows = await session.execute(
        select(Alert.patient_id, Alert.condition, func.max(Alert.resolved_at))
        .where(
            Alert.patient_id.in_(patient_ids),
            Alert.resolved_by.is_not(None),
            or_(
                Alert.kind == standing.REPORT_DUE,
                and_(Alert.kind == standing.NO_DATA, Alert.resolved_at >= since),
            ),
        )
        .group_by(Alert.patient_id, Alert.condition)
    )
    for patient_id, condition, at in rows:
        if at is not None:
            resolved[patient_id][condition] = at
    return ongoing, resolved


async def sync_standing(
    session: AsyncSession,
    *,
    patient: Patient,
    wanted: Sequence[standing.Wanted],
    ongoing: Sequence[Alert],
    resolved: Mapping[str, datetime],
) -> Changes:
    """Make the patient's `no_data` and `report_due` alerts going on those `wanted`: end the
    others now, open the missing ones (a `report_due` once per window: not again after a
    clinician resolved it). Run inside the stored standing's refresh, which has locked the
    patient and re-evaluates them after this (so nothing is touched)."""
    now = utcnow()
    keep = {w.condition for w in wanted}
    changes = Changes()
    for alert in ongoing:
        if alert.condition not in keep:
            await _update(session, alert.id, {"ended_at": now})
            changes.updated.append(alert.id)
    going = {a.condition for a in ongoing}
    rows = [
        {
            "patient_id": patient.id,
            "kind": w.kind,
            "severity": "warning",
            "status": "open",
            "condition": w.condition,
            "source_type": standing.SOURCE_TYPE,
            "source_id": w.source_id,
            "first_at": w.first_at,
            "last_at": w.first_at,
            "ended_at": None,
            "count": 0,
            "worst": None,
            "details": w.details,
        }
        for w in wanted
        if w.condition not in going
        and not (w.kind == standing.REPORT_DUE and w.condition in resolved)
    ]
    changes.opened = await _insert(session, rows)
    if len(changes.opened) != len(rows):
        raise Conflict("A concurrent write changed this patient's alerts; retry the request.")
    return await _record(session, principal=None, patient=patient, changes=changes)


def resolved_days(resolved: Mapping[str, datetime], zone: str) -> dict[str, date]:
    """The local day of each resolution, as `standing.wanted` counts silence from it."""
    return {condition: local_date(at, zone=zone) for condition, at in resolved.items()}


async def transition(
    session: AsyncSession,
    *,
    principal: Principal,
    alert_id: uuid.UUID,
    action: Transition,
    note: str | None = None,
) -> AlertRead:
    """Acknowledge or resolve an alert of a reachable patient (404 otherwise), with an optional
    note kept with who and when."""
    alert, patient = await queries.reachable_alert(session, principal, alert_id)
    await _lock_patient(session, patient.id)
    sources, target = _TRANSITIONS[action]
    now = utcnow()
    values: dict[str, Any] = {"status": target}
    if target == "acknowledged":
        values |= {"acknowledged_at": now, "acknowledged_by": principal.id}
        values |= {"acknowledged_note": note}
    else:
        values |= {"resolved_at": now, "resolved_by": principal.id, "resolved_note": note}
    # Conditional update: of two concurrent clinicians exactly one moves the alert. Resolving
    # an episode still going on ends it then (`episodes.cut_at`).
    moved = (
        await session.execute(
            update(Alert)
            .where(Alert.id == alert.id, Alert.status.in_(sources))
            .values(**values)
            .returning(Alert.id, Alert.ended_at)
            .execution_options(synchronize_session=False)
        )
    ).first()
    if moved is not None and target == "resolved" and moved[1] is None:
        await _update(session, alert.id, {"ended_at": now})
    refreshed = await session.scalar(
        select(Alert).where(Alert.id == alert.id).execution_options(populate_existing=True)
    )
    assert refreshed is not None
    if moved is None and refreshed.status != target:
        raise Conflict(f"The alert is {refreshed.status}; it cannot be {target} now.")
    if moved is not None:
        touch(session, patient.id)
        await _record(
            session, principal=principal, patient=patient, changes=Changes(updated=[alert.id])
        )
    (read,) = await queries.reads(session, [(refreshed, patient)])
    return read
