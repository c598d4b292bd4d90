"""An organization's attainment: load its cohort, evaluate it, audit the read, summarise.

Invariants: the cohort of a report date is the organization's enrollments started by then, not
disenrolled before it, and not past the end-of-period reporting window (`end_of_period_days`);
they are evaluated by the same code as a patient's progress (`evaluation`); every patient
counted is audited; the numbers come from the pure `attainment` module.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.auth.principal import Principal
from app.outcomes import attainment, targets
from app.outcomes.evaluation import Evaluated, Subject, evaluate_subjects
from app.outcomes.rules import Ruleset, Track
from app.outcomes.schemas import TrackAttainment
from app.patients.models import Enrollment, Patient


def _cohort_statement(
    principal: Principal, *, track: str | None, as_of: date, eop_days: int
) -> Select[Enrollment, Patient]:
    """Enrollments of the organization counted on `as_of`: started, not left before, and not
    past the end-of-period reporting window."""
    day_after = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    statement = (
        select(Enrollment, Patient)
        .join(Patient, Patient.id == Enrollment.patient_id)
        .where(
            Patient.organization_id == principal.organization_id,
            Enrollment.start_date <= as_of,
            Enrollment.end_date >= as_of - timedelta(days=eop_days),
            or_(Enrollment.status == "active", Enrollment.ended_at >= day_after),
        )
    )
    if track is not None:
        statement = statement.where(Enrollment.track == track)
    return statement.order_by(Enrollment.track, Enrollment.id)


def _member(evaluated: Evaluated) -> attainment.Member:
    patient, enrollment = evaluated.subject.patient, evaluated.subject.enrollment
    return attainment.Member(
        track=evaluated.subject.period().track,
        attained=evaluated.attained,
        status=targets.least_advanced(evaluated.statuses),
        follow_on=enrollment.period == "follow_on",
        rural=patient.rural,
        dual_eligible=patient.dual_eligible,
        limited_digital_access=patient.limited_digital_access,
    )


async def organization_attainment(
    session: AsyncSession,
    *,
    principal: Principal,
    rules: Ruleset,
    track: Track | None,
    as_of: date,
) -> TrackAttainment:
    """The Outcome Attainment Rate of the organization's cohort in a track, as of a date.

    Without a track, every track is summarised in `tracks`. The threshold is the one in force
    for care periods starting on `as_of`.
    """
    statement = _cohort_statement(
        principal, track=track, as_of=as_of, eop_days=rules.windows.end_of_period_days
    )
    rows = (await session.execute(statement)).all()
    subjects = [Subject(patient, enrollment) for enrollment, patient in rows]
    evaluated = await evaluate_subjects(session, rules=rules, subjects=subjects, as_of=as_of)
    audit_service.record_many(
        session,
        principal=principal,
        organization_id=principal.organization_id,
        patient_ids=sorted({s.patient.id for s in subjects}),
        action="read",
        resource_type="attainment",
    )
    members = [_member(e) for e in evaluated]
    if track is not None:
        return attainment.track_attainment(members, rules=rules, track=track, as_of=as_of)
    return attainment.across_tracks(members, rules=rules, as_of=as_of)
