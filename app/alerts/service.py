"""Clinical alerts: opened by other services in their own transaction, worked by staff.

Invariants:
- an alert is opened at most once per (patient, source type, source id, kind): a unique index
  decides (INSERT ... ON CONFLICT DO NOTHING), so a resent reading or check-in opens nothing;
- `open_alerts` is the one way to open alerts; readings (BP crisis, hypoglycaemia) and check-ins
  (PHQ-9 item 9) call it inside the request that stored the source;
- status moves open -> acknowledged -> resolved (or open -> resolved); repeating the current
  step is a no-op answered 200 (clients retry), moving backwards is 409;
- staff see the alerts of their organization's patients only (`patients.reach`);
  every read and change is audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.models import Alert
from app.alerts.schemas import AlertRead
from app.audit import service as audit_service
from app.auth.principal import Principal
from app.clock import utcnow
from app.db import new_id, upsert_insert
from app.errors import Conflict, NotFound
from app.outcomes.touch import touch
from app.pagination import Page, keyset_page
from app.patients import reach
from app.patients.models import Patient

Severity = Literal["urgent", "warning"]
Transition = Literal["acknowledge", "resolve"]

# Which statuses each action may start from, and where it leads.
_TRANSITIONS: dict[Transition, tuple[tuple[str, ...], str]] = {
    "acknowledge": (("open",), "acknowledged"),
    "resolve": (("open", "acknowledged"), "resolved"),
}


@dataclass(frozen=True, slots=True)
class AlertSpec:
    """An alert to open: what, how urgent, and the record that triggered it."""

    kind: str
    severity: Severity
    source_type: str
    source_id: uuid.UUID
    details: dict[str, Any] = field(default_factory=dict)


async def open_alerts(
    session: AsyncSession, *, principal: Principal, patient: Patient, specs: Sequence[AlertSpec]
) -> list[uuid.UUID]:
    """Open the alerts not yet open for their source; returns the ids of those opened now."""
    if not specs:
        return []
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "patient_id": patient.id,
            "kind": s.kind,
            "severity": s.severity,
            "status": "open",
            "source_type": s.source_type,
            "source_id": s.source_id,
            "details": s.details,
            "created_at": now,
        }
        for s in specs
    ]
    table = cast("Table", Alert.__table__)
    statement = upsert_insert(session)(table).on_conflict_do_nothing().returning(table.c.id)
    opened = [row[0] for row in (await session.execute(statement, rows)).all()]
    if opened:
        touch(session, patient.id)
    for alert_id in opened:
        audit_service.record_patient(
            session,
            principal=principal,
            patient=patient,
            action="create",
            resource_type="alert",
            resource_id=alert_id,
        )
    return opened


async def open_alert(
    session: AsyncSession, *, principal: Principal, patient: Patient, spec: AlertSpec
) -> uuid.UUID | None:
    """Open one alert; None when its source already opened it."""
    opened = await open_alerts(session, principal=principal, patient=patient, specs=[spec])
    return opened[0] if opened else None


async def list_alerts(
    session: AsyncSession,
    *,
    principal: Principal,
    status: str | None,
    patient_id: uuid.UUID | None,
    severity: str | None,
    limit: int,
    cursor: str | None,
) -> Page[AlertRead]:
    reachable = reach.reachable_patients(principal).with_only_columns(Patient.id)
    statement = select(Alert).where(Alert.patient_id.in_(reachable.scalar_subquery()))
    if status is not None:
        statement = statement.where(Alert.status == status)
    if severity is not None:
        statement = statement.where(Alert.severity == severity)
    if patient_id is not None:
        statement = statement.where(Alert.patient_id == patient_id)
    alerts, next_cursor = await keyset_page(
        session,
        statement=statement,
        time_column=Alert.created_at,
        id_column=Alert.id,
        limit=limit,
        cursor=cursor,
    )
    audit_service.record_many(
        session,
        principal=principal,
        organization_id=principal.organization_id,
        patient_ids=sorted({a.patient_id for a in alerts}),
        action="read",
        resource_type="alert",
    )
    return Page(items=[AlertRead.model_validate(a) for a in alerts], next_cursor=next_cursor)


async def open_counts(
    session: AsyncSession, *, patient_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    """Open (not yet acknowledged) alerts per patient and severity, for patients the caller has
    already reached (those without any are absent); not audited here: the caller audits the
    read it is part of."""
    if not patient_ids:
        return {}
    rows = await session.execute(
        select(Alert.patient_id, Alert.severity, func.count())
        .where(Alert.patient_id.in_(patient_ids), Alert.status == "open")
        .group_by(Alert.patient_id, Alert.severity)
    )
    found: dict[uuid.UUID, dict[str, int]] = {}
    for patient_id, severity, count in rows:
        found.setdefault(patient_id, {})[severity] = int(count)
    return found


async def _reachable_alert(
    session: AsyncSession, principal: Principal, alert_id: uuid.UUID
) -> tuple[Alert, Patient]:
    row = (
        await session.execute(
            select(Alert, Patient)
            .join(Patient, Patient.id == Alert.patient_id)
            .where(
                Alert.id == alert_id,
                Alert.patient_id.in_(
                    reach.reachable_patients(principal)
                    .with_only_columns(Patient.id)
                    .scalar_subquery()
                ),
            )
        )
    ).first()
    if row is None:
        raise NotFound("No such alert.")
    return row[0], row[1]


async def transition(
    session: AsyncSession, *, principal: Principal, alert_id: uuid.UUID, action: Transition
) -> AlertRead:
    """Acknowledge or resolve an alert of a reachable patient (404 otherwise)."""
    alert, patient = await _reachable_alert(session, principal, alert_id)
    sources, target = _TRANSITIONS[action]
    now = utcnow()
    values: dict[str, Any] = {"status": target}
    if target == "acknowledged":
        values |= {"acknowledged_at": now, "acknowledged_by": principal.id}
    else:
        values |= {"resolved_at": now, "resolved_by": principal.id}
    # Conditional update: of two concurrent clinicians exactly one moves the alert.
    moved = (
        await session.execute(
            update(Alert)
            .where(Alert.id == alert.id, Alert.status.in_(sources))
            .values(**values)
            .returning(Alert.id)
            .execution_options(synchronize_session=False)
        )
    ).first()
    refreshed = await session.scalar(
        select(Alert).where(Alert.id == alert.id).execution_options(populate_existing=True)
    )
    assert refreshed is not None
    if moved is None and refreshed.status != target:
        raise Conflict(f"The alert is {refreshed.status}; it cannot be {target} now.")
    if moved is not None:
        touch(session, patient.id)
        audit_service.record_patient(
            session,
            principal=principal,
            patient=patient,
            action="update",
            resource_type="alert",
            resource_id=alert.id,
        )
    return AlertRead.model_validate(refreshed)
