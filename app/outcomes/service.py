"""Progress toward outcome targets, per patient and per organization.

Invariants: numbers come from the ruleset in use (named in every answer); one loader fetches the
observations of many enrollments in two queries (windows passed as a VALUES list), so a
patient's progress and an organization's attainment are computed by the same code; only
eligible, undeleted readings and scorable check-ins count; reads are audited.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Date, Select, and_, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from app.alerts.models import Alert
from app.audit import service as audit_service
from app.auth.principal import Principal
from app.checkins.models import Checkin
from app.clock import local_today
from app.outcomes import baselines, targets
from app.outcomes.rules import MEASURE_ORDER, MeasureRule, Ruleset, Track
from app.outcomes.schemas import (
    CarePeriodRead,
    EnrollmentProgress,
    MeasuredValue,
    MeasureProgressRead,
    PatientProgress,
    PaymentProjection,
    Stratum,
    TrackAttainment,
)
from app.outcomes.targets import CarePeriod, Point, Progress
from app.patients.models import Enrollment, Patient
from app.readings.models import Reading
from app.sqltypes import add_days

CHECKIN_PREFIX = "checkin:"
# Least advanced first: a patient's panel status is the first of these among their measures.
NEED_ORDER = ("off_track", "insufficient_data", "on_track", "met")


@dataclass(frozen=True, slots=True)
class Subject:
    """One enrollment to evaluate, with what the rules need of its patient."""

    patient: Patient
    enrollment: Enrollment

    def period(self) -> CarePeriod:
        e = self.enrollment
        track: Track = e.track  # type: ignore[assignment]
        return CarePeriod(
            track, tuple(e.conditions), e.start_date, e.end_date, self.patient.height_cm
        )


@dataclass(frozen=True, slots=True)
class Evaluated:
    subject: Subject
    as_of: date
    progress: list[Progress]
    attained: bool | None


def _sources(rules: Ruleset, track: Track) -> set[str]:
    return {s for m in rules.measures_for(track) for s in m.sources}


def _window_conditions(
    rules: Ruleset,
    day: InstrumentedAttribute[date],
    as_of: date,
    *,
    closing: bool,
    skip: Collection[uuid.UUID] = (),
) -> ColumnElement[bool]:
    """The days whose observations the rules can use, from the enrollment's own dates: the
    baseline window, the recent days (trend and validity), labs' year and, for check-ins, the
    closing window of the period. Computed in SQL, so any number of enrollments is one query."""
    w = rules.windows
    start, end = Enrollment.start_date, Enrollment.end_date
    as_of_value = literal(as_of, Date())
    report = case((end < as_of_value, end), else_=as_of_value)
    recent = max(w.trend_days, w.observation_days)
    baseline: ColumnElement[bool] = day.between(
        start, add_days(start, w.baseline_days + w.observation_days - 2)
    )
    if skip:
        baseline = and_(Enrollment.id.not_in(list(skip)), baseline)
    windows: list[ColumnElement[bool]] = [
        baseline,
        day.between(add_days(report, 1 - recent), report),
    ]
    if closing:
        windows.append(day.between(add_days(end, 1 - w.final_window_days), report))
    else:
        windows.append(
            and_(Reading.type.in_(sorted(targets.LAB_SOURCES)),
                 day.between(add_days(start, -w.lab_days), report))
        )  # fmt: skip
    return or_(*windows)


async def load_points(
    session: AsyncSession,
    rules: Ruleset,
    subjects: Sequence[Subject],
    as_of: date,
    *,
    settled: Collection[uuid.UUID] = (),
) -> dict[uuid.UUID, dict[str, list[Point]]]:
    """Observations per enrollment id and source, oldest first, limited to the windows used;
    `settled` enrollments have their readings' baselines kept, so their baseline window of
    readings is not read again."""
    found: dict[uuid.UUID, dict[str, list[Point]]] = {
        s.enrollment.id: defaultdict(list) for s in subjects
    }
    if not subjects:
        return found
    wanted: set[str] = set()
    for subject in subjects:
        wanted |= _sources(rules, subject.period().track)
    enrollment_ids = [s.enrollment.id for s in subjects]
    connection = await session.connection()  # Core rows: no ORM bookkeeping per row
    reading_types = sorted(s for s in wanted if not s.startswith(CHECKIN_PREFIX))
    if reading_types:
        # Values extracted in SQL: decoding every row's JSON in Python would dominate the time.
        rows = await connection.execute(
            select(
                Enrollment.id,
                Reading.id,
                Reading.type,
                Reading.effective_at,
                Reading.local_date,
                Reading.values["value"].as_float(),
                Reading.values["systolic"].as_float(),
                Reading.values["diastolic"].as_float(),
            )
            .join(Enrollment, Enrollment.patient_id == Reading.patient_id)
            .where(
                Enrollment.id.in_(enrollment_ids),
                Reading.type.in_(reading_types),
                Reading.deleted_at.is_(None),
                Reading.eligible.is_(True),
                _window_conditions(rules, Reading.local_date, as_of, closing=False, skip=settled),
            )
            .order_by(Reading.effective_at, Reading.id)
        )
        for enrollment_id, rid, kind, at, day, value, systolic, diastolic in rows:
            if kind == "blood_pressure":
                point = Point(rid, at, day, systolic, diastolic)
            else:
                point = Point(rid, at, day, value)
            found[enrollment_id][kind].append(point)
    instruments = {s.split(":")[1]: s for s in wanted if s.startswith(CHECKIN_PREFIX)}
    if instruments:
        checkin_rows = await connection.execute(
            select(
                Enrollment.id,
                Checkin.id,
                Checkin.instrument,
                Checkin.completed_at,
                Checkin.local_date,
                Checkin.total,
                Checkin.t_score,
            )
            .join(Enrollment, Enrollment.patient_id == Checkin.patient_id)
            .where(
                Enrollment.id.in_(enrollment_ids),
                Checkin.instrument.in_(sorted(instruments)),
                Checkin.scorable.is_(True),
                _window_conditions(rules, Checkin.local_date, as_of, closing=True),
            )
            .order_by(Checkin.completed_at, Checkin.id)
        )
        for enrollment_id, cid, instrument, at, day, total, t_score in checkin_rows:
            source = instruments[instrument]
            score = t_score if source.endswith(":t_score") else total
            if score is not None:
                found[enrollment_id][source].append(Point(cid, at, day, float(score)))
    return found


async def evaluate_subjects(
    session: AsyncSession,
    rules: Ruleset,
    subjects: Sequence[Subject],
    as_of: date | None = None,
) -> list[Evaluated]:
    """Progress of each enrollment, as of `as_of` (default: each patient's local today)."""
    results: list[Evaluated] = []
    groups: dict[date, list[Subject]] = defaultdict(list)
    for subject in subjects:
        groups[as_of or local_today(subject.patient.timezone)].append(subject)
    for day, group in groups.items():
        closed = [s for s in group if baselines.closed(rules, s.enrollment, day)]
        kept = await baselines.load(session, rules, [s.enrollment.id for s in closed])
        settled = {
            s.enrollment.id
            for s in closed
            if all((s.enrollment.id, r.name) in kept for r in _cached_rules(rules, s))
        }
        points = await load_points(session, rules, group, day, settled=settled)
        closed_ids = {s.enrollment.id for s in closed}
        to_keep: list[tuple[Enrollment, str, targets.Value | None]] = []
        for subject in group:
            period = subject.period()
            sources = points[subject.enrollment.id]
            progress = []
            for rule in sorted(
                rules.measures_for(period.track), key=lambda m: MEASURE_ORDER.index(m.name)
            ):
                key = (subject.enrollment.id, rule.name)
                known = kept.get(key, targets.UNKNOWN)
                result = targets.evaluate(rule, rules, period, sources, day, known)
                progress.append(result)
                cache = subject.enrollment.id in closed_ids and key not in kept
                if cache and result.applicable and baselines.cacheable(rule):
                    to_keep.append((subject.enrollment, rule.name, result.baseline))
            attained = targets.attainment(
                progress, rule=rules.attainment.rule_for(period.track), period_over=day > period.end
            )
            results.append(Evaluated(subject, day, progress, attained))
        await baselines.store(session, rules, to_keep)
    return results


def _cached_rules(rules: Ruleset, subject: Subject) -> list[MeasureRule]:
    period = subject.period()
    return [
        r
        for r in rules.measures_for(period.track)
        if baselines.cacheable(r) and r.applies_to(period.track, list(period.conditions))
    ]


def _value(
    progress: Progress, value: targets.Value | None, height_cm: float | None
) -> MeasuredValue | None:
    if value is None:
        return None
    bmi = None
    if progress.measure == "weight" and height_cm:
        bmi = round(value.value / (height_cm / 100) ** 2, 1)
    is_checkin = progress.measure in _CHECKIN_MEASURES
    return MeasuredValue(
        value=value.value,
        at=value.at,
        n=value.n,
        source="checkins" if is_checkin else "readings",
        source_ids=list(value.ids),
        diastolic=value.secondary,
        bmi=bmi,
        components=value.components or None,
    )


_CHECKIN_MEASURES = frozenset(
    {
        "pain_intensity",
        "pain_interference",
        "physical_function",
        "depression",
        "anxiety",
        "function_whodas",
    }
)


def to_read(rules: Ruleset, evaluated: Evaluated) -> EnrollmentProgress:
    subject = evaluated.subject
    period = subject.period()
    height = subject.patient.height_cm
    return EnrollmentProgress(
        enrollment_id=subject.enrollment.id,
        track=subject.enrollment.track,
        care_period=CarePeriodRead(
            start=period.start, end=period.end, day=period.day(evaluated.as_of)
        ),
        attained=evaluated.attained,
        measures=[
            MeasureProgressRead(
                measure=p.measure,
                label=rules.measure(p.measure).label,
                applicable=p.applicable,
                status=p.status,
                baseline=_value(p, p.baseline, height),
                current=_value(p, p.current, height),
                target=p.target,
                projected=p.projected,
                needed=p.needed,
            )
            for p in evaluated.progress
        ],
    )


def panel_status(evaluated: Iterable[Evaluated]) -> str | None:
    """The least advanced status among a patient's applicable measures (None: nothing applies)."""
    statuses = {p.status for e in evaluated for p in e.progress if p.applicable}
    return next((s for s in NEED_ORDER if s in statuses), None)


async def active_subjects(
    session: AsyncSession, patients: Sequence[Patient], *, track: str | None = None
) -> list[Subject]:
    by_id = {p.id: p for p in patients}
    if not by_id:
        return []
    statement = select(Enrollment).where(
        Enrollment.patient_id.in_(by_id), Enrollment.status == "active"
    )
    if track is not None:
        statement = statement.where(Enrollment.track == track)
    enrollments = await session.scalars(statement.order_by(Enrollment.start_date))
    return [Subject(by_id[e.patient_id], e) for e in enrollments]


async def patient_progress(
    session: AsyncSession,
    *,
    principal: Principal,
    patient: Patient,
    rules: Ruleset,
    as_of: date | None,
) -> PatientProgress:
    subjects = await active_subjects(session, [patient])
    day = as_of or local_today(patient.timezone)
    evaluated = await evaluate_subjects(session, rules, subjects, day)
    audit_service.record_patient(
        session,
        principal=principal,
        patient=patient,
        action="read",
        resource_type="progress",
    )
    return PatientProgress(
        patient_id=patient.id,
        as_of=day,
        rules_version=rules.version,
        items=[to_read(rules, e) for e in evaluated],
    )


def _cohort_statement(
    principal: Principal, track: str | None, as_of: date, eop_days: int
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


def _rate(attained: int, patients: int) -> float | None:
    return round(attained / patients, 4) if patients else None


def _summarize(
    rules: Ruleset, track: str | None, as_of: date, evaluated: Sequence[Evaluated]
) -> TrackAttainment:
    patients = len(evaluated)
    attained = sum(1 for e in evaluated if e.attained is True)
    rate = _rate(attained, patients)
    threshold = rules.attainment.threshold_for(as_of) if track is not None else None
    threshold_met = rate >= threshold if rate is not None and threshold is not None else None
    total = 0.0
    for e in evaluated:
        rate_card = rules.payment.rates[e.subject.period().track]
        if e.subject.enrollment.period == "follow_on":
            total += rate_card.follow_on or 0.0
        else:
            total += rate_card.initial
            if e.subject.patient.rural:
                total += rate_card.rural_addon
    withheld = round(total * rules.payment.withhold, 2)
    earned = bool(threshold_met)
    statuses: dict[str, int] = defaultdict(int)
    for e in evaluated:
        statuses["attained" if e.attained else (panel_status([e]) or "not_applicable")] += 1
    strata = {}
    for flag in ("dual_eligible", "rural", "limited_digital_access"):
        group = [e for e in evaluated if getattr(e.subject.patient, flag)]
        hit = sum(1 for e in group if e.attained is True)
        strata[flag] = Stratum(patients=len(group), attained=hit, rate=_rate(hit, len(group)))
    return TrackAttainment(
        track=track,
        as_of=as_of,
        rules_version=rules.version,
        patients=patients,
        attained=attained,
        rate=rate,
        threshold=threshold,
        threshold_met=threshold_met,
        statuses=dict(statuses),
        payment=PaymentProjection(
            outcome_aligned_payment=round(total, 2),
            withheld=withheld,
            withhold_earned=earned,
            projected=round(total if earned else total - withheld, 2),
        ),
        strata=strata,
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

    The cohort: enrollments started by `as_of`, not disenrolled before it, and not past the
    end-of-period reporting window. Without a track, every track is summarised in `tracks`.
    The threshold is the one in force for care periods starting on `as_of`.
    """
    rows = (
        await session.execute(
            _cohort_statement(principal, track, as_of, rules.windows.end_of_period_days)
        )
    ).all()
    subjects = [Subject(patient, enrollment) for enrollment, patient in rows]
    evaluated = await evaluate_subjects(session, rules, subjects, as_of)
    audit_service.record_many(
        session,
        principal=principal,
        organization_id=principal.organization_id,
        patient_ids=sorted({s.patient.id for s in subjects}),
        action="read",
        resource_type="attainment",
    )
    if track is not None:
        return _summarize(rules, track, as_of, evaluated)
    by_track: dict[str, list[Evaluated]] = defaultdict(list)
    for e in evaluated:
        by_track[e.subject.enrollment.track].append(e)
    summary = _summarize(rules, None, as_of, evaluated)
    summary.tracks = [_summarize(rules, t, as_of, by_track[t]) for t in sorted(by_track)]
    # Withholds are earned per track: the organization-wide payment is the tracks' sum.
    summary.payment = PaymentProjection(
        outcome_aligned_payment=round(
            sum(t.payment.outcome_aligned_payment for t in summary.tracks), 2
        ),
        withheld=round(sum(t.payment.withheld for t in summary.tracks), 2),
        withhold_earned=None,
        projected=round(sum(t.payment.projected for t in summary.tracks), 2),
    )
    return summary


@dataclass(frozen=True, slots=True)
class PanelEntry:
    """What a clinician's panel shows of a patient: the least advanced status, urgent alerts."""

    status: str | None
    statuses: frozenset[str]
    open_urgent_alerts: int

    @property
    def need(self) -> int:
        """Sort rank: open urgent alerts first, then off track, then insufficient data."""
        if self.open_urgent_alerts:
            return 0
        return {"off_track": 1, "insufficient_data": 2}.get(self.status or "", 3)


async def panel(
    session: AsyncSession, rules: Ruleset, patients: Sequence[Patient], *, track: str | None
) -> dict[uuid.UUID, PanelEntry]:
    subjects = await active_subjects(session, patients, track=track)
    evaluated = await evaluate_subjects(session, rules, subjects)
    by_patient: dict[uuid.UUID, list[Evaluated]] = defaultdict(list)
    for e in evaluated:
        by_patient[e.subject.patient.id].append(e)
    ids = [p.id for p in patients]
    urgent = dict(
        (
            await session.execute(
                select(Alert.patient_id, func.count())
                .where(
                    Alert.patient_id.in_(ids), Alert.status == "open", Alert.severity == "urgent"
                )
                .group_by(Alert.patient_id)
            )
        ).all()
    )
    return {
        p.id: PanelEntry(
            status=panel_status(by_patient[p.id]),
            statuses=frozenset(
                s.status for e in by_patient[p.id] for s in e.progress if s.applicable
            ),
            open_urgent_alerts=int(urgent.get(p.id, 0)),
        )
        for p in patients
    }
