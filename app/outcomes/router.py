"""Outcome routes: HTTP only, one service call each.

Invariants: a patient's progress is reached through `ReachablePatient` (out of reach: 404); the
organization's attainment is for its staff only; both answer with the ruleset in use.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from app.auth.dependencies import CurrentPrincipal, CurrentStaff
from app.clock import utc_today
from app.db import SessionDep
from app.outcomes import organization, progress
from app.outcomes.dependencies import RulesDep
from app.outcomes.rules import Track
from app.outcomes.schemas import PatientProgress, TrackAttainment
from app.patients.dependencies import ReachablePatient

router = APIRouter(tags=["outcomes"])


AsOf = Annotated[
    date | None,
    Query(description="Report date (the patient's local day); default: today."),
]


@router.get("/v1/patients/{patient_id}/progress")
async def get_progress(
    patient: ReachablePatient,
    principal: CurrentPrincipal,
    session: SessionDep,
    rules: RulesDep,
    as_of: AsOf = None,
) -> PatientProgress:
    """Where the patient stands against each outcome target, per active enrollment."""
    return await progress.patient_progress(
        session, principal=principal, patient=patient, rules=rules, as_of=as_of
    )


@router.get("/v1/organization/attainment")
async def get_attainment(
    principal: CurrentStaff,
    session: SessionDep,
    rules: RulesDep,
    track: Annotated[Track | None, Query(description="One track; default: every track.")] = None,
    as_of: Annotated[date | None, Query(description="Report date; default: today (UTC).")] = None,
) -> TrackAttainment:
    """The organization's Outcome Attainment Rate, threshold and projected payment."""
    return await organization.organization_attainment(
        session,
        principal=principal,
        rules=rules,
        track=track,
        as_of=as_of or utc_today(),
    )
