"""An organization's attainment: load its care periods, evaluate them, audit the read, summarise.

Invariants: the periods counted are the organization's care periods started by the report date
(in the cohort year, if one is asked), disenrolled ones left out and control-group ones counted
apart (no OAP, not in the rate); they are evaluated by the same code as a patient's progress
(`evaluation`) on one stated day; every patient counted is audited; the numbers come from the
pure `attainment` module.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, extract, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.auth.principal import Principal
from app.outcomes import attainment
from app.outcomes.evaluation import Evaluated, Subject, evaluate_subjects
from app.outcomes.rules import Ruleset, Track
from app.outcomes.schemas import TrackAttainment
from app.outcomes.targets import least_advanced
from app.patients.models import Enrollment, Patient


def _periods(
    principal: Principal, *, track: str | None, cohort: int | None, as_of: date
) -> Select[Enrollment, Patient]:
    statement = (
        select(Enrollment, Patient)
        .join(Patient, Patient.id == Enrollment.patient_id)
        .where(
            Patient.organization_id == principal.organization_id,
            Enrollment.start_date <= as_of,
            Enrollment.ended_at.is_(None),
        )
    )
    if track is not None:
        statement = statement.where(Enrollment.track == track)
    if cohort is not None:
        statement = statement.where(extract("year", Enrollment.start_date) == cohort)
    return statement.order_by(Enrollment.track, Enrollment.id)


def _member(evaluated: Evaluated, *, as_of: date) -> attainment.Member:
    patient, enrollment = evaluated.subject.patient, evaluated.subject.enrollment
    standing = evaluated.standing
    end_window = standing.end_of_period
    assert end_window is not None  # disenrolled periods are not counted
    reported = end_window.status == "reported"
    return attainment.Member(
        track=standing.period.track,
        start=enrollment.start_date,
        attained=standing.attained,
        projected=standing.projected,
        closed=reported or as_of > end_window.window.closes,
        reported=reported,
        status=least_advanced(standing.statuses),
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
    cohort: int | None,
    as_of: date,
) -> TrackAttainment:
    """The Outcome Attainment Rate of the organization's care periods (in a track and a cohort
    year, if asked), on `as_of`. Without a track, every track is summarised in `tracks`."""
    rows = (
        await session.execute(_periods(principal, track=track, cohort=cohort, as_of=as_of))
    ).all()
    subjects = [Subject(patient, enrollment) for enrollment, patient in rows]
    counted = [s for s in subjects if not s.enrollment.control_group]
    control: list[Track] = [s.period().track for s in subjects if s.enrollment.control_group]
    evaluated = await evaluate_subjects(session, rules=rules, subjects=counted, today=as_of)
    audit_service.record_many(
        session,
        principal=principal,
        organization_id=principal.organization_id,
        patient_ids=sorted({s.patient.id for s in subjects}),
        action="read",
        resource_type="attainment",
    )
    members = [_member(e, as_of=as_of) for e in evaluated]
    if track is not None:
        return attainment.track_attainment(
            members,
            rules=rules,
            track=track,
            cohort=cohort,
            as_of=as_of,
            control_group_periods=len(control),
        )
    return attainment.across_tracks(
        members, rules=rules, cohort=cohort, as_of=as_of, control_group=control
    )
