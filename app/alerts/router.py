from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query

from app.alerts import queries as alerts_queries
from app.alerts import service as alerts_service
from app.alerts.schemas import AlertNote, AlertRead, AlertStatus, Severity
from app.auth.dependencies import CurrentStaff
from app.db import SessionDep
from app.errors import error_responses
from app.pagination import Cursor, Limit, Page

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])

NoteBody = Annotated[AlertNote | None, Body()]


@router.get("")
async def list_alerts(
    principal: CurrentStaff,
    session: SessionDep,
    status: Annotated[AlertStatus | None, Query(description="Only alerts in this status.")] = None,
    patient_id: Annotated[uuid.UUID | None, Query(description="Only this patient's.")] = None,
    severity: Annotated[Severity | None, Query(description="Only this severity.")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[AlertRead]:
    """The organization's alerts, the latest episode start first."""
    return await alerts_queries.list_alerts(
        session,
        principal=principal,
        status=status,
        patient_id=patient_id,
        severity=severity,
        limit=limit,
        cursor=cursor,
    )


@router.get("/{alert_id}", responses=error_responses(404))
async def get_alert(alert_id: uuid.UUID, principal: CurrentStaff, session: SessionDep) -> AlertRead:
    """One alert of a patient of the caller's organization."""
    return await alerts_queries.get_alert(session, principal=principal, alert_id=alert_id)


@router.post("/{alert_id}/acknowledge", responses=error_responses(404, 409))
async def acknowledge_alert(
    alert_id: uuid.UUID, principal: CurrentStaff, session: SessionDep, body: NoteBody = None
) -> AlertRead:
    """Acknowledge an open alert (repeating it changes nothing; a resolved one is 409)."""
    return await alerts_service.transition(
        session,
        principal=principal,
        alert_id=alert_id,
        action="acknowledge",
        note=body.note if body else None,
    )


@router.post("/{alert_id}/resolve", responses=error_responses(404, 409))
async def resolve_alert(
    alert_id: uuid.UUID, principal: CurrentStaff, session: SessionDep, body: NoteBody = None
) -> AlertRead:
    """Resolve an open or acknowledged alert (repeating it changes nothing)."""
    return await alerts_service.transition(
        session,
        principal=principal,
        alert_id=alert_id,
        action="resolve",
        note=body.note if body else None,
    )
