from __future__ import annotations

from fastapi import APIRouter

from app.audit import service as audit_service
from app.audit.schemas import AuditEventRead
from app.auth.dependencies import CurrentPrincipal
from app.db import SessionDep
from app.pagination import Cursor, Limit, Page
from app.patients.dependencies import ReachablePatient

router = APIRouter(prefix="/v1/patients/{patient_id}", tags=["audit"])


@router.get("/access-log")
async def access_log(
    patient: ReachablePatient,
    principal: CurrentPrincipal,
    session: SessionDep,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[AuditEventRead]:
    """Who read or changed this patient's data, and when; newest first."""
    return await audit_service.access_log(
        session, principal=principal, patient=patient, limit=limit, cursor=cursor
    )
