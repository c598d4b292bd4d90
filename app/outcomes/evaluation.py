"""Evaluate care periods on the patients' local today: load what the rules need, then `standing`.

Invariants: a patient's progress, the reporting calendar, the worklist, the clinician panel and
an organization's attainment all go through `evaluate_subjects`, so they cannot disagree; the
periods evaluated on the same day are loaded together (one query for readings, one for
check-ins, one for reports); a follow-on period reads its previous period's complete
end-of-period report, which may be its baseline.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import local_today, utc_today
from app.outcomes import standing as standing_rules
from app.outcomes.archive import reports_of
from app.outcomes.calendar import ReportFacts
from app.outcomes.loading import load_points
from app.outcomes.observations import CarePeriod, PeriodKind
from app.outcomes.rules import Ruleset, Track
from app.outcomes.standing import Standing
from app.outcomes.values import Sources
from app.patients.models import Enrollment, Patient


@dataclass(frozen=True, slots=True)
class Subject:
    """One enrollment to evaluate, with its patient."""

    patient: Patient
    enrollment: Enrollment

    def period(self) -> CarePeriod:
        e = self.enrollment
        track: Track = e.track  # type: ignore[assignment]
        kind: PeriodKind = e.period  # type: ignore[assignment]
        return CarePeriod(
            track, tuple(e.conditions), e.start_date, e.end_date, kind, e.control_group
        )

    def today(self) -> date:
        return local_today(self.patient.timezone)


@dataclass(frozen=True, slots=True)
class Evaluated:
    subject: Subject
    standing: Standing
    sources: Sources  # the observations it was judged on


def _final(reports: Sequence[ReportFacts]) -> ReportFacts | None:
    complete = [r for r in reports if r.type == "end_of_period" and r.complete]
    return max(complete, key=lambda r: r.report_date) if complete else None


async def evaluate_subjects(
    session: AsyncSession,
    *,
    rules: Ruleset,
    subjects: Sequence[Subject],
    today: date | None = None,
) -> list[Evaluated]:
    """Each period's standing on `today` (default: each patient's local today)."""
    groups: dict[date, list[Subject]] = defaultdict(list)
    for subject in subjects:
        groups[today or subject.today()].append(subject)
    ids = [s.enrollment.id for s in subjects]
    previous = [s.enrollment.previous_id for s in subjects if s.enrollment.previous_id]
    reports = await reports_of(session, enrollment_ids=[*ids, *previous])
    results: list[Evaluated] = []
    for day, group in groups.items():
        points = await load_points(
            session, rules=rules, enrollments=[s.enrollment for s in group], today=day
        )
        for subject in group:
            e = subject.enrollment
            own = [r for r in reports[e.id] if r.report_date <= day]
            inherited = _final(reports[e.previous_id]) if e.previous_id else None
            result = standing_rules.evaluate(
                subject.period(),
                rules=rules,
                sources=points[e.id],
                reports=own,
                today=day,
                inherited=inherited,
                disenrolled=e.ended_at is not None,
            )
            results.append(Evaluated(subject, result, points[e.id]))
    order = {enrollment_id: i for i, enrollment_id in enumerate(ids)}
    return sorted(results, key=lambda r: order[r.subject.enrollment.id])


async def current_subjects(
    session: AsyncSession,
    *,
    patients: Sequence[Patient],
    track: str | None = None,
    rules: Ruleset,
) -> list[Subject]:
    """The patients' care periods that still matter: not disenrolled, and not past the days
    they are shown after their end-of-period window closed (in `track` if given), oldest
    first."""
    by_id = {p.id: p for p in patients}
    if not by_id:
        return []
    c = rules.calendar
    # A day of margin either side of UTC's today: each patient's own today decides below.
    statement = select(Enrollment).where(
        Enrollment.patient_id.in_(by_id),
        Enrollment.ended_at.is_(None),
        Enrollment.end_date >= utc_today() - timedelta(days=c.shown_after_end_days + 1),
    )
    if track is not None:
        statement = statement.where(Enrollment.track == track)
    enrollments = await session.scalars(statement.order_by(Enrollment.start_date))
    subjects = [Subject(by_id[e.patient_id], e) for e in enrollments]
    return [s for s in subjects if s.today() <= c.shown_until(s.enrollment.start_date)]
