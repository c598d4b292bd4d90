"""Reading alerts: the list and one alert (with the patient's name and tracks), and the open
counts the panel shows. Staff see their organization's patients' alerts only
(`patients.reach`); every read a caller makes is audited."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.models import Alert
from app.alerts.schemas import AlertRead
from app.audit import service as audit_service
from app.auth.principal import Principal
from app.errors import NotFound
from app.outcomes.rules import Track
from app.pagination import Page, keyset_page
from app.patients import reach
from app.patients.models import Enrollment, Patient

ALERTS = cast("Table", Alert.__table__)
_TRACK_ORDER: tuple[Track, ...] = Track.__args__  # type: ignore[attr-defined]


def _reachable_ids(principal: Principal) -> Any:
    return reach.reachable_patients(principal).with_only_columns(Patient.id).scalar_subquery()


async def reads(session: AsyncSession, rows: Sequence[tuple[Alert, Patient]]) -> list[AlertRead]:
    """Alerts as read: with their patient's name and current tracks."""
    patient_ids = sorted({p.id for _, p in rows})
    tracks: dict[uuid.UUID, set[str]] = defaultdict(set)
    if patient_ids:
        for patient_id, track in await session.execute(
            select(Enrollment.patient_id, Enrollment.track).where(
                Enrollment.patient_id.in_(patient_ids), Enrollment.ended_at.is_(None)
            )
        ):
            tracks[patient_id].add(track)
    order = {t: i for i, t in enumerate(_TRACK_ORDER)}
    return [
        AlertRead.model_validate(
            {
                **{column.key: getattr(alert, column.key) for column in ALERTS.columns},
                "patient_name": f"{patient.given_name} {patient.family_name}",
                "tracks": sorted(tracks[patient.id], key=lambda t: order.get(t, len(order))),
            }
        )
        for alert, patient in rows
    ]


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
    """The organization's alerts, the latest episode start first (`first_at`, then id)."""
    statement = select(Alert).where(Alert.patient_id.in_(_reachable_ids(principal)))
    if status is not None:
        statement = statement.where(Alert.status == status)
    if severity is not None:
        statement = statement.where(Alert.severity == severity)
    if patient_id is not None:
        statement = statement.where(Alert.patient_id == patient_id)
    alerts, next_cursor = await keyset_page(
        session,
        statement=statement,
        time_column=Alert.first_at,
        id_column=Alert.id,
        limit=limit,
        cursor=cursor,
    )
    patients = {
        p.id: p
        for p in await session.scalars(
            select(Patient).where(Patient.id.in_({a.patient_id for a in alerts}))
        )
    }
    pairs = [(a, patients[a.patient_id]) for a in alerts]
    audit_service.record_many(
        session,
        principal=principal,
        organization_id=principal.organization_id,
        patient_ids=sorted({a.patient_id for a, _ in pairs}),
        action="read",
        resource_type="alert",
    )
    return Page(items=await reads(session, pairs), next_cursor=next_cursor)


async def open_counts(
    session: AsyncSession, *, patient_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    """Open (not yet acknowledged) alerts per patient and severity, for patients the caller has
    already reached (those without any are absent); an episode that is over still counts until
    a clinician acknowledges it. Not audited here: the caller audits the read it is part of."""
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


async def reachable_alert(
    session: AsyncSession, principal: Principal, alert_id: uuid.UUID
) -> tuple[Alert, Patient]:
    row = (
        await session.execute(
            select(Alert, Patient)
            .join(Patient, Patient.id == Alert.patient_id)
            .where(Alert.id == alert_id, Alert.patient_id.in_(_reachable_ids(principal)))
            .execution_options(populate_existing=True)
        )
    ).first()
    if row is None:
        raise NotFound("No such alert.")
    return row[0], row[1]


async def get_alert(
    session: AsyncSession, *, principal: Principal, alert_id: uuid.UUID
) -> AlertRead:
    """One alert of a reachable patient (404 otherwise)."""
    alert, patient = await reachable_alert(session, principal, alert_id)
    audit_service.record_patient(
        session,
        principal=principal,
        patient=patient,
        action="read",
        resource_type="alert",
        resource_id=alert.id,
    )
    (read,) = await reads(session, [(alert, patient)])
    return read
