"""Enrollments: a patient's care periods per track.

Invariants: at most one active enrollment per patient and track (a partial unique index decides,
not a read-then-write); a CKM enrollment ends an active eCKM one (docs/rules.md "Tracks and
qualifying conditions": the eCKM -> CKM switch); of two concurrent disenrolls exactly one ends
the period; every read and change is audited in the same transaction.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.auth.principal import Principal
from app.clock import utcnow
from app.db import flush_or_conflict
from app.errors import Conflict, Invalid, NotFound
from app.patients.eligibility import care_period_end, enrollment_problem
from app.patients.models import Enrollment, Patient
from app.patients.schemas import (
    DisenrollRequest,
    EnrollmentCreate,
    EnrollmentList,
    EnrollmentRead,
)

_audit = audit_service.Trail("enrollment")


async def enroll(
    session: AsyncSession, *, principal: Principal, patient: Patient, body: EnrollmentCreate
) -> EnrollmentRead:
    """Start a 12-month care period in a track (422 for conditions that do not qualify)."""
    problem = enrollment_problem(
        body.track, conditions=body.conditions, region=body.region, period=body.period
    )
    if problem is not None:
        raise Invalid(problem)
    taken = f"The patient already has an active {body.track} enrollment."
    active = await _active_enrollments(session, patient.id)
    if body.track in active:
        raise Conflict(taken)
    switched = active.get("eCKM") if body.track == "CKM" else None
    if switched is not None:
        switched.status = "ended"
        switched.ended_at = utcnow()
        switched.end_reason = "switched_to_ckm"
        await session.flush()
        _audit(
            session, principal=principal, patient=patient, action="update", resource_id=switched.id
        )
    enrollment = Enrollment(
        patient_id=patient.id,
        track=body.track,
        conditions=list(body.conditions),
        region=body.region,
        period=body.period,
        start_date=body.start_date,
        end_date=care_period_end(body.start_date),
        status="active",
        created_by=principal.id,
    )
    session.add(enrollment)
    await flush_or_conflict(session, detail=taken)
    _audit(
        session, principal=principal, patient=patient, action="create", resource_id=enrollment.id
    )
    return EnrollmentRead.model_validate(enrollment)


async def _active_enrollments(
    session: AsyncSession, patient_id: uuid.UUID
) -> dict[str, Enrollment]:
    rows = await session.scalars(
        select(Enrollment).where(Enrollment.patient_id == patient_id, Enrollment.status == "active")
    )
    return {e.track: e for e in rows}


async def list_enrollments(
    session: AsyncSession, *, principal: Principal, patient: Patient
) -> EnrollmentList:
    """The patient's enrollments, current and past, newest first."""
    rows = await session.scalars(
        select(Enrollment)
        .where(Enrollment.patient_id == patient.id)
        .order_by(Enrollment.start_date.desc(), Enrollment.created_at.desc())
    )
    _audit(session, principal=principal, patient=patient, action="read")
    return EnrollmentList(items=[EnrollmentRead.model_validate(e) for e in rows])


async def disenroll(
    session: AsyncSession,
    *,
    principal: Principal,
    patient: Patient,
    enrollment_id: uuid.UUID,
    body: DisenrollRequest,
) -> EnrollmentRead:
    """End an active enrollment with its reason (404 unknown, 409 already ended)."""
    # Conditional update: of two concurrent disenrolls exactly one changes the row.
    ended = await session.scalar(
        update(Enrollment)
        .where(
            Enrollment.id == enrollment_id,
            Enrollment.patient_id == patient.id,
            Enrollment.status == "active",
        )
        .values(status="ended", ended_at=utcnow(), end_reason=body.reason)
        .returning(Enrollment)
        .execution_options(populate_existing=True)
    )
    if ended is None:
        existing = await session.scalar(
            select(Enrollment.id).where(
                Enrollment.id == enrollment_id, Enrollment.patient_id == patient.id
            )
        )
        if existing is None:
            raise NotFound("No such enrollment.")
        raise Conflict("The enrollment has already ended.")
    _audit(session, principal=principal, patient=patient, action="update", resource_id=ended.id)
    return EnrollmentRead.model_validate(ended)
