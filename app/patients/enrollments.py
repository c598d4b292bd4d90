"""Enrollments: a patient's care periods per track (docs/api.md "Care periods and the ACCESS
reporting calendar").

Invariants:
- a care period lasts the ruleset's `period_days`; its status is derived from its dates on the
  patient's local today: `disenrolled` once ended, `completed` after its last day, else
  `active`;
- an initial period may not overlap another live period of the track (409); a follow-on period
  follows the track's latest live period and starts on or after its `follow_on_from_day` (so it
  may overlap that period's last days, or come any time after it); it records that period as
  `previous_id`, whose end-of-period report may be its baseline;
- a CKM enrollment ends an active eCKM one (docs/rules.md "Tracks and qualifying conditions":
  the eCKM -> CKM switch);
- enrollment decisions for a patient are serialized by locking the patient's row (SQLite
  serializes writers anyway), and (patient, track, start date) is unique;
- only an active period can be disenrolled; every read and change is audited in the same
  transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.auth.principal import Principal
from app.clock import local_today, utcnow
from app.db import flush_or_conflict
from app.errors import Conflict, FieldError, Invalid, NotFound
from app.outcomes.rules import Ruleset
from app.outcomes.touch import touch
from app.patients.eligibility import enrollment_problem
from app.patients.models import Enrollment, Patient
from app.patients.schemas import (
    DisenrollRequest,
    EnrollmentCreate,
    EnrollmentList,
    EnrollmentRead,
    EnrollmentStatus,
    EnrollmentUpdate,
)

_audit = audit_service.Trail("enrollment")


def status_of(enrollment: Enrollment, *, today: date) -> EnrollmentStatus:
    if enrollment.ended_at is not None:
        return "disenrolled"
    return "completed" if today > enrollment.end_date else "active"


def to_read(enrollment: Enrollment, *, today: date) -> EnrollmentRead:
    return EnrollmentRead.model_validate(
        {
            **{
                name: getattr(enrollment, name)
                for name in EnrollmentRead.model_fields
                if name not in ("status", "day")
            },
            "status": status_of(enrollment, today=today),
            "day": (today - enrollment.start_date).days + 1,
        }
    )


async def _live(session: AsyncSession, *, patient: Patient, track: str) -> list[Enrollment]:
    """The track's periods not disenrolled, oldest first, with the patient's row locked."""
    await session.execute(select(Patient.id).where(Patient.id == patient.id).with_for_update())
    rows = await session.scalars(
        select(Enrollment)
        .where(
            Enrollment.patient_id == patient.id,
            Enrollment.track == track,
            Enrollment.ended_at.is_(None),
        )
        .order_by(Enrollment.start_date)
    )
    return list(rows)


def _overlapping(periods: Sequence[Enrollment], *, start: date, end: date) -> list[Enrollment]:
    return [p for p in periods if p.start_date <= end and start <= p.end_date]


def _follow_on_problem(
    body: EnrollmentCreate, *, live: Sequence[Enrollment], rules: Ruleset
) -> tuple[Enrollment | None, str | None]:
    """The period a follow-on follows, or why it cannot be created."""
    earlier = [p for p in live if p.start_date < body.start_date]
    if not earlier:
        return None, (
            f"A follow-on period follows an earlier {body.track} care period of the patient; "
            "there is none."
        )
    previous = earlier[-1]
    c = rules.calendar
    first = c.date_of(previous.start_date, c.follow_on_from_day)
    if body.start_date < first:
        return previous, (
            f"A follow-on period may start on or after {first.isoformat()} (day "
            f"{c.follow_on_from_day} of the care period that started on "
            f"{previous.start_date.isoformat()})."
        )
    return previous, None


async def enroll(
    session: AsyncSession,
    *,
    principal: Principal,
    patient: Patient,
    rules: Ruleset,
    body: EnrollmentCreate,
) -> EnrollmentRead:
    """Start a care period in a track (422 for conditions or dates that do not qualify)."""
    problem = enrollment_problem(
        body.track, conditions=body.conditions, region=body.region, period=body.period
    )
    if problem is not None:
        raise Invalid(problem)
    today = local_today(patient.timezone)
    end = rules.calendar.end(body.start_date)
    live = await _live(session, patient=patient, track=body.track)
    taken = f"The patient already has an active {body.track} enrollment."
    previous = None
    if body.period == "follow_on":
        previous, reason = _follow_on_problem(body, live=live, rules=rules)
        if reason is not None:
            raise Invalid(reason, fields=[FieldError(path="start_date", message=reason)])
    others = [p for p in live if p is not previous]
    if _overlapping(others, start=body.start_date, end=end):
        raise Conflict(taken)
    if body.track == "CKM":
        await _switch_from_eckm(session, principal=principal, patient=patient, today=today)
    enrollment = Enrollment(
        patient_id=patient.id,
        track=body.track,
        conditions=list(body.conditions),
        region=body.region,
        period=body.period,
        start_date=body.start_date,
        end_date=end,
        previous_id=previous.id if previous else None,
        control_group=body.control_group,
        referring_clinician=(
            body.referring_clinician.model_dump(exclude_none=True)
            if body.referring_clinician
            else None
        ),
        created_by=principal.id,
    )
    session.add(enrollment)
    await flush_or_conflict(session, detail=taken)
    touch(session, patient.id)
    _audit(
        session, principal=principal, patient=patient, action="create", resource_id=enrollment.id
    )
    return to_read(enrollment, today=today)


async def _switch_from_eckm(
    session: AsyncSession, *, principal: Principal, patient: Patient, today: date
) -> None:
    """End the patient's active eCKM period: a CKM condition moved them to CKM."""
    for eckm in await _live(session, patient=patient, track="eCKM"):
        if status_of(eckm, today=today) == "active":
            eckm.ended_at = utcnow()
            eckm.end_reason = "switched_to_ckm"
            await session.flush()
            _audit(
                session, principal=principal, patient=patient, action="update", resource_id=eckm.id
            )


async def list_enrollments(
    session: AsyncSession, *, principal: Principal, patient: Patient
) -> EnrollmentList:
    """The patient's enrollments, current and past, newest first."""
    rows = await session.scalars(
        select(Enrollment)
        .where(Enrollment.patient_id == patient.id)
        .order_by(Enrollment.start_date.desc(), Enrollment.created_at.desc())
    )
    today = local_today(patient.timezone)
    _audit(session, principal=principal, patient=patient, action="read")
    return EnrollmentList(items=[to_read(e, today=today) for e in rows])


async def owned(session: AsyncSession, *, patient: Patient, enrollment_id: uuid.UUID) -> Enrollment:
    """The patient's enrollment with this id (404 for any other)."""
    enrollment = await session.scalar(
        select(Enrollment).where(
            Enrollment.id == enrollment_id, Enrollment.patient_id == patient.id
        )
    )
    if enrollment is None:
        raise NotFound("No such enrollment.")
    return enrollment


async def update_enrollment(
    session: AsyncSession,
    *,
    principal: Principal,
    patient: Patient,
    enrollment_id: uuid.UUID,
    body: EnrollmentUpdate,
) -> EnrollmentRead:
    """Set the control-group flag or the referring clinician (staff)."""
    enrollment = await owned(session, patient=patient, enrollment_id=enrollment_id)
    changes = body.model_dump(exclude_unset=True)
    if "control_group" in changes:
        enrollment.control_group = changes["control_group"]
    if "referring_clinician" in changes:
        clinician = body.referring_clinician
        enrollment.referring_clinician = (
            clinician.model_dump(exclude_none=True) if clinician else None
        )
    await session.flush()
    touch(session, patient.id)
    _audit(
        session, principal=principal, patient=patient, action="update", resource_id=enrollment.id
    )
    return to_read(enrollment, today=local_today(patient.timezone))


async def disenroll(
    session: AsyncSession,
    *,
    principal: Principal,
    patient: Patient,
    enrollment_id: uuid.UUID,
    body: DisenrollRequest,
) -> EnrollmentRead:
    """End an active care period with its reason (404 unknown, 409 already ended)."""
    today = local_today(patient.timezone)
    # Conditional update: of two concurrent disenrolls exactly one changes the row.
    ended = await session.execute(
        update(Enrollment)
        .where(
            Enrollment.id == enrollment_id,
            Enrollment.patient_id == patient.id,
            Enrollment.ended_at.is_(None),
            Enrollment.end_date >= today,
        )
        .values(ended_at=utcnow(), end_reason=body.reason)
        .returning(Enrollment.id)
    )
    if ended.scalar_one_or_none() is None:
        existing = await owned(session, patient=patient, enrollment_id=enrollment_id)
        raise Conflict(f"The enrollment is {status_of(existing, today=today)}; it cannot end now.")
    enrollment = await session.scalar(
        select(Enrollment)
        .where(Enrollment.id == enrollment_id)
        .execution_options(populate_existing=True)
    )
    assert enrollment is not None
    touch(session, patient.id)
    _audit(
        session, principal=principal, patient=patient, action="update", resource_id=enrollment.id
    )
    return to_read(enrollment, today=today)
