from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from app.auth.dependencies import CurrentPrincipal, RequireRole
from app.auth.principal import PEOPLE, Principal
from app.checkins import due_list
from app.checkins import service as checkins_service
from app.checkins.schemas import (
    CheckinCreate,
    CheckinRead,
    CheckinResult,
    DueList,
    InstrumentCode,
    InstrumentList,
)
from app.db import SessionDep
from app.errors import error_responses
from app.outcomes.dependencies import RulesDep
from app.pagination import Cursor, Limit, Page
from app.patients.dependencies import ReachablePatient

router = APIRouter(tags=["checkins"])

CHECKINS = "/v1/patients/{patient_id}/checkins"


@router.get("/v1/instruments")
async def list_instruments(
    _principal: Annotated[Principal, Depends(RequireRole(*PEOPLE))],
) -> InstrumentList:
    """The check-in instruments: items in questionnaire order, options with their scored values."""
    return checkins_service.catalog()


@router.get(f"{CHECKINS}/due")
async def list_due_checkins(
    patient: ReachablePatient, principal: CurrentPrincipal, session: SessionDep, rules: RulesDep
) -> DueList:
    """The instruments due today in the patient's time zone, from their active enrollments."""
    return await due_list.due(session, principal=principal, patient=patient, rules=rules)


@router.post(
    CHECKINS,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": CheckinResult, "description": "A repeat `client_id`: the stored result."},
        **error_responses(409),
    },
)
async def submit_checkin(
    body: CheckinCreate,
    patient: ReachablePatient,
    principal: CurrentPrincipal,
    session: SessionDep,
    response: Response,
) -> CheckinResult:
    """Submit a completed check-in; it is scored and stored, and a repeat is answered 200."""
    result, created = await checkins_service.submit(
        session, principal=principal, patient=patient, body=body
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return result


@router.get(CHECKINS)
async def list_checkins(
    patient: ReachablePatient,
    principal: CurrentPrincipal,
    session: SessionDep,
    instrument: Annotated[
        InstrumentCode | None, Query(description="Only check-ins of this instrument.")
    ] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[CheckinRead]:
    """The patient's check-ins with their stored scores, newest first."""
    items, next_cursor = await checkins_service.history(
        session,
        principal=principal,
        patient=patient,
        instrument=instrument,
        limit=limit,
        cursor=cursor,
    )
    return Page(items=items, next_cursor=next_cursor)
