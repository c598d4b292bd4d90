"""An organization's attainment: its care periods' standings, summarised by `attainment`.

Invariants: the periods counted are the organization's care periods started by the day counted
(in the cohort year, if one is asked), disenrolled ones left out and control-group ones counted
apart (no OAP, not in the rate). Today's attainment reads the stored standings (`stored.py`),
each period as of its patient's local today, so its cost does not grow with evaluation work;
another day (`as_of`) evaluates every period afresh on that one day, by the same code. Every
patient counted is audited; the numbers come from the pure `attainment` module.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, Date, Select, case, extract, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.auth.principal import Principal
from app.clock import utc_today
from app.outcomes import attainment
from app.outcomes.evaluation import Evaluated, Subject, evaluate_subjects
from app.outcomes.models import PeriodStanding
from app.outcomes.rules import Ruleset, Track
from app.outcomes.schemas import TrackAttainment
from app.outcomes.stored_rows import complete
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


def _member(evaluated: Evaluated, *, rules: Ruleset, as_of: date) -> attainment.Member:
    patient, enrollment = evaluated.subject.patient, evaluated.subject.enrollment
    standing = evaluated.standing
    end_window = standing.end_of_period
    assert end_window is not None  # disenrolled periods are not counted
    reported = end_window.status == "reported"
    baseline_complete, current_complete = complete(standing, rules=rules)
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
        baseline_complete=baseline_complete,
        current_complete=current_complete,
    )


async def _evaluated_on(
    session: AsyncSession,
    *,
    principal: Principal,
    rules: Ruleset,
    track: Track | None,
    cohort: int | None,
    as_of: date,
) -> tuple[list[attainment.Member], list[Track]]:
    """Every counted period evaluated afresh on `as_of`, and the control group's tracks."""
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
    return [_member(e, rules=rules, as_of=as_of) for e in evaluated], control


def _threshold_start(*, rules: Ruleset) -> ColumnElement[date]:
    """The first day of the attainment threshold in force for a stored period's start
    (the earliest threshold's before it): a day with the same threshold, so periods that
    differ only by their start date's day group together."""
    ordered = sorted(rules.attainment.thresholds, key=lambda t: t.from_)
    if len(ordered) == 1:
        return literal(ordered[0].from_, Date())
    return case(
        *(
            (PeriodStanding.start_date >= t.from_, literal(t.from_, Date()))
            for t in reversed(ordered[1:])
        ),
        else_=literal(ordered[0].from_, Date()),
    )


async def _stored(
    session: AsyncSession,
    *,
    principal: Principal,
    rules: Ruleset,
    track: Track | None,
    cohort: int | None,
) -> tuple[list[attainment.Member], list[Track]]:
    """Every counted period as stored (each on its patient's local today), identical ones
    counted together by the database, and the control group's tracks."""
    s = PeriodStanding
    where = [
        s.organization_id == principal.organization_id,
        s.start_date <= s.evaluated_on,
    ]
    if track is not None:
        where.append(s.track == track)
    if cohort is not None:
        where.append(s.start_date.between(date(cohort, 1, 1), date(cohort, 12, 31)))
    columns = (
        s.track,
        _threshold_start(rules=rules).label("start"),
        s.control_group,
        s.attained,
        s.projected,
        s.end_closed,
        s.end_reported,
        s.outcome_status,
        s.period_kind,
        s.baseline_complete,
        s.current_complete,
        Patient.rural,
        Patient.dual_eligible,
        Patient.limited_digital_access,
    )
    rows = await session.execute(
        select(*columns, func.count().label("periods"))
        .join(Patient, Patient.id == s.patient_id)
        .where(*where)
        .group_by(*columns)
    )
    members, control = [], []
    for row in rows:
        if row.control_group:
            control.extend([row.track] * row.periods)
            continue
        members.append(
            attainment.Member(
                track=row.track,
                start=row.start,
                attained=row.attained,
                projected=row.projected,
                closed=row.end_closed,
                reported=row.end_reported,
                status=row.outcome_status,
                follow_on=row.period_kind == "follow_on",
                rural=row.rural,
                dual_eligible=row.dual_eligible,
                limited_digital_access=row.limited_digital_access,
                baseline_complete=row.baseline_complete,
                current_complete=row.current_complete,
                periods=row.periods,
            )
        )
    await audit_service.record_selected(
        session,
        principal=principal,
        organization_id=principal.organization_id,
        patient_ids=select(s.patient_id).where(*where),
        action="read",
        resource_type="attainment",
    )
    return members, control


async def organization_attainment(
    session: AsyncSession,
    *,
    principal: Principal,
    rules: Ruleset,
    track: Track | None,
    cohort: int | None,
    as_of: date | None,
) -> TrackAttainment:
    """The Outcome Attainment Rate of the organization's care periods (in a track and a cohort
    year, if asked): today's from stored standings, or on `as_of` evaluated afresh. Without a
    track, every track is summarised in `tracks`."""
    if as_of is None:
        day = utc_today()
        members, control = await _stored(
            session, principal=principal, rules=rules, track=track, cohort=cohort
        )
    else:
        day = as_of
        members, control = await _evaluated_on(
            session, principal=principal, rules=rules, track=track, cohort=cohort, as_of=as_of
        )
    if track is not None:
        return attainment.track_attainment(
            members,
            rules=rules,
            track=track,
            cohort=cohort,
            as_of=day,
            control_group_periods=len(control),
        )
    return attainment.across_tracks(
        members, rules=rules, cohort=cohort, as_of=day, control_group=control
    )
