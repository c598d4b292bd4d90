from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from app.auth.dependencies import CurrentPrincipal, CurrentStaff, SettingsDep
from app.auth.schemas import AccessCode
from app.db import SessionDep
from app.errors import error_responses
from app.outcomes.dependencies import RulesDep
from app.outcomes.need import NeedCode
from app.pagination import Cursor, Limit, Page
from app.patients import enrollments as enrollments_service
from app.patients import service as patients_service
from app.patients.dependencies import ReachablePatient, StaffPatient
from app.patients.schemas import (
    ActivationCode,
    DisenrollRequest,
    EnrollmentCreate,
    EnrollmentList,
    EnrollmentRead,
    EnrollmentUpdate,
    OutcomeStatus,
    PanelOrder,
    PatientCreate,
    PatientCreated,
    PatientListItem,
    PatientRead,
    PatientUpdate,
    Track,
)

router = APIRouter(prefix="/v1/patients", tags=["patients"])


@router.post("", status_code=status.HTTP_201_CREATED, responses=error_responses(409))
async def create_patient(
    body: PatientCreate, principal: CurrentStaff, session: SessionDep, settings: SettingsDep
) -> PatientCreated:
    """Create a patient; the response carries their one-time activation code."""
    return await patients_service.create(
        session, principal=principal, body=body, activation_ttl_days=settings.activation_ttl_days
    )


@router.get("")
async def list_patients(
    principal: CurrentStaff,
    session: SessionDep,
    track: Annotated[
        Track | None, Query(description="Only patients with a shown care period in this track.")
    ] = None,
    status: Annotated[
        OutcomeStatus | None,
        Query(description="Only patients with an applicable measure in this outcome status."),
    ] = None,
    need: Annotated[
        NeedCode | None, Query(description="Only patients with this reason in their need.")
    ] = None,
    order: Annotated[
        PanelOrder,
        Query(description="need: the need score, highest first (docs/rules.md); or newest."),
    ] = "need",
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[PatientListItem]:
    """The organization's patients: the clinician's panel, most in need first, each row with
    its need score and reasons, tracks and care-period days (from stored standings)."""
    items, next_cursor = await patients_service.list_patients(
        session,
        principal=principal,
        track=track,
        status=status,
        need=need,
        order=order,
        limit=limit,
        cursor=cursor,
    )
    return Page(items=items, next_cursor=next_cursor)


@router.get("/{patient_id}")
async def get_patient(
    patient: ReachablePatient, principal: CurrentPrincipal, session: SessionDep
) -> PatientRead:
    """Read one patient (`me` for the calling patient)."""
    return await patients_service.read(session, principal=principal, patient=patient)


@router.patch("/{patient_id}", responses=error_responses(409))
async def update_patient(
    body: PatientUpdate,
    patient: ReachablePatient,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> PatientRead:
    """Change a patient's details; only the fields sent change."""
    return await patients_service.update_patient(
        session, principal=principal, patient=patient, body=body
    )


@router.post("/{patient_id}/activation-code", responses=error_responses(409))
async def reissue_activation_code(
    patient: StaffPatient, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> ActivationCode:
    """Issue a new activation code (the old one stops working), until the patient activates."""
    return await patients_service.reissue_activation(
        session,
        principal=principal,
        patient=patient,
        activation_ttl_days=settings.activation_ttl_days,
    )


@router.post("/{patient_id}/access-code", status_code=status.HTTP_201_CREATED)
async def issue_access_code(
    patient: StaffPatient, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> AccessCode:
    """A new one-time code for a patient who lost access (activated or not); they set a new
    password with it at `/v1/auth/activate`."""
    return await patients_service.issue_access_code(
        session, principal=principal, patient=patient, ttl_days=settings.activation_ttl_days
    )


@router.post(
    "/{patient_id}/enrollments", status_code=status.HTTP_201_CREATED, responses=error_responses(409)
)
async def create_enrollment(
    body: EnrollmentCreate,
    patient: StaffPatient,
    principal: CurrentPrincipal,
    session: SessionDep,
    rules: RulesDep,
) -> EnrollmentRead:
    """Enroll the patient in a track for a 12-month care period."""
    return await enrollments_service.enroll(
        session, principal=principal, patient=patient, rules=rules, body=body
    )


@router.get("/{patient_id}/enrollments")
async def list_enrollments(
    patient: ReachablePatient, principal: CurrentPrincipal, session: SessionDep
) -> EnrollmentList:
    """The patient's enrollments, current and past, newest first."""
    return await enrollments_service.list_enrollments(session, principal=principal, patient=patient)


@router.patch("/{patient_id}/enrollments/{enrollment_id}", responses=error_responses(404))
async def update_enrollment(
    enrollment_id: uuid.UUID,
    body: EnrollmentUpdate,
    patient: StaffPatient,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> EnrollmentRead:
    """Set a care period's control-group flag or its referring clinician."""
    return await enrollments_service.update_enrollment(
        session, principal=principal, patient=patient, enrollment_id=enrollment_id, body=body
    )


@router.post("/{patient_id}/enrollments/{enrollment_id}/disenroll", responses=error_responses(409))
async def disenroll(
    enrollment_id: uuid.UUID,
    body: DisenrollRequest,
    patient: ReachablePatient,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> EnrollmentRead:
    """End an active enrollment, with the reason."""
    return await enrollments_service.disenroll(
        session, principal=principal, patient=patient, enrollment_id=enrollment_id, body=body
    )
