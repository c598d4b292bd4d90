"""Webhook events for alerts: `alert.opened` and `alert.updated`, written to the outbox in the
transaction of the change (docs/api.md "Webhooks"). Ids and categories only: never a value."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.models import Alert
from app.patients.models import Patient
from app.webhooks import events
from app.webhooks.events import EventType


async def emit_changes(
    session: AsyncSession,
    *,
    patient: Patient,
    opened: Sequence[uuid.UUID],
    updated: Sequence[uuid.UUID],
) -> None:
    """One event per alert opened or changed, for the endpoints subscribed to it."""
    organization_id = patient.organization_id
    candidates: tuple[tuple[EventType, Sequence[uuid.UUID]], ...] = (
        ("alert.opened", opened),
        ("alert.updated", updated),
    )
    wanted = {
        event: ids
        for event, ids in candidates
        if ids and await events.wanted(session, organization_id=organization_id, event=event)
    }
    if not wanted:
        return
    every = [alert_id for ids in wanted.values() for alert_id in ids]
    rows = {
        row.id: row
        for row in (
            await session.execute(
                select(Alert.id, Alert.kind, Alert.severity, Alert.status).where(
                    Alert.id.in_(every)
                )
            )
        ).all()
    }
    for event, ids in wanted.items():
        for alert_id in ids:
            row = rows[alert_id]
            await events.emit(
                session,
                organization_id=organization_id,
                event=event,
                data={
                    "alert_id": str(alert_id),
                    "patient_id": str(patient.id),
                    "kind": row.kind,
                    "severity": row.severity,
                    "status": row.status,
                },
            )
