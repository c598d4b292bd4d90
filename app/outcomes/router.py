"""Outcome routes: progress, attainment, the reporting calendar and reports; HTTP only, one
service call each.

Invariants: a patient's data is reached through `ReachablePatient` / `StaffPatient` (out of
reach: 404, then the role: 403); organization views are for its staff only; answers name the
ruleset in use.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.auth.dependencies import CurrentPrincipal, CurrentStaff
from app.db import SessionDep
from app.errors import error_responses
from app.outcomes import organization, progress, reporting, reports
from app.outcomes.dependencies import RulesDep
from app.outcomes.rules import Track
from app.outcomes.schemas import (
    PatientProgress,
    PatientReporting,
    ReportCreate,
    ReportRead,
    TrackAttainment,
    WindowStatus,
    WorklistItem,
)
from app.pagination import Cursor, Limit, Page
from app.patients.dependencies import ReachablePatient, StaffPatient
from app.schemas import Day

router = APIRouter(tags=["outcomes"])


AsOf = Annotated[
    Day | None,
    Query(description="The day to judge on (the patient's local day), 1900-2099; default: today."),
]
Cohort = Annotated[
    int | None,
    Query(ge=2026, le=2040, description="Care periods starting in this year; default: all."),
]


@router.get("/v1/patients/{patient_id}/progress")
async def get_progress(
    patient: ReachablePatient,
    principal: CurrentPrincipal,
    session: SessionDep,
    rules: RulesDep,
    as_of: AsOf = None,
) -> PatientProgress:
    """Where the patient stands against each outcome target, per care period."""
    return await progress.patient_progress(
        session, principal=principal, patient=patient, rules=rules, as_of=as_of
    )


@router.get("/v1/organization/attainment")
async def get_attainment(
    principal: CurrentStaff,
    session: SessionDep,
    rules: RulesDep,
    track: Annotated[Track | None, Query(description="One track; default: every track.")] = None,
    cohort: Cohort = None,
    as_of: Annotated[
        Day | None,
        Query(
            description="Count on this day, 1900-2099, every period evaluated afresh on it;"
            " default: today, from the stored standings (each patient's local today)."
        ),
    ] = None,
) -> TrackAttainment:
    """The organization's Outcome Attainment Rate, threshold and projected payment."""
    return await organization.organization_attainment(
        session,
        principal=principal,
        rules=rules,
        track=track,
        cohort=cohort,
        as_of=as_of,
    )


@router.get("/v1/patients/{patient_id}/reporting")
async def get_reporting(
    patient: ReachablePatient, principal: CurrentPrincipal, session: SessionDep, rules: RulesDep
) -> PatientReporting:
    """Each care period's reporting windows, their status and what each still needs."""
    return await reporting.patient_reporting(
        session, principal=principal, patient=patient, rules=rules
    )


@router.post(
    "/v1/patients/{patient_id}/reports",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": ReportRead, "description": "The stored report of that window and date."},
        **error_responses(409),
    },
)
async def prepare_report(
    body: ReportCreate,
    patient: StaffPatient,
    principal: CurrentPrincipal,
    session: SessionDep,
    rules: RulesDep,
    response: Response,
) -> ReportRead:
    """Prepare a report for a window on a report date (default today), frozen from then on."""
    report, created = await reports.prepare(
        session, principal=principal, patient=patient, rules=rules, body=body
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return report


@router.get("/v1/patients/{patient_id}/reports")
async def list_reports(
    patient: ReachablePatient,
    principal: CurrentPrincipal,
    session: SessionDep,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[ReportRead]:
    """The patient's reports, newest first."""
    return await reports.list_reports(
        session, principal=principal, patient=patient, limit=limit, cursor=cursor
    )


@router.get("/v1/patients/{patient_id}/reports/{report_id}", responses=error_responses(404))
async def get_report(
    report_id: uuid.UUID,
    patient: ReachablePatient,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> ReportRead:
    """One report, as it was frozen."""
    return await reports.get_report(
        session, principal=principal, patient=patient, report_id=report_id
    )


@router.get("/v1/organization/reporting")
async def get_worklist(
    principal: CurrentStaff,
    session: SessionDep,
    track: Annotated[Track | None, Query(description="One track; default: every track.")] = None,
    status: Annotated[
        WindowStatus | None,
        Query(description="open, due_soon or missed; default: all three."),
    ] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[WorklistItem]:
    """The organization's reporting windows to act on, the soonest closing first."""
    return await reporting.worklist(
        session,
        principal=principal,
        track=track,
        status=status,
        limit=limit,
        cursor=cursor,
    )
