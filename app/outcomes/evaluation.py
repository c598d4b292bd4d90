"""Evaluate enrollments against the outcome rules as of a date, keeping closed baselines.

Invariants: a patient's progress, the clinician panel and an organization's attainment all go
through `evaluate_subjects`, so they cannot disagree; enrollments are evaluated on the same
report date in one batch (one load of observations, one of kept baselines); a baseline is kept
only once its window has closed (`baselines`), and a kept baseline is used in place of the
observations of its window, which are then not read; measures come in `MEASURE_ORDER`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import local_today
from app.outcomes import baselines, targets
from app.outcomes.loading import load_points
from app.outcomes.observations import CarePeriod, Value
from app.outcomes.rules import MEASURE_ORDER, MeasureRule, Ruleset, Track
from app.outcomes.targets import Progress, Status
from app.patients.models import Enrollment, Patient


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

    @property
    def statuses(self) -> frozenset[Status]:
        """The statuses of the applicable measures."""
        return frozenset(p.status for p in self.progress if p.applicable)


def _cached_rules(rules: Ruleset, *, period: CarePeriod) -> list[MeasureRule]:
    return [
        r
        for r in rules.measures_for(period.track)
        if baselines.cacheable(r) and r.applies_to(period.track, conditions=period.conditions)
    ]


async def evaluate_subjects(
    session: AsyncSession,
    *,
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
        closed = [s for s in group if baselines.closed(s.enrollment, rules=rules, as_of=day)]
        kept = await baselines.load(
            session, rules=rules, enrollment_ids=[s.enrollment.id for s in closed]
        )
        settled = {
            s.enrollment.id
            for s in closed
            if all(
                (s.enrollment.id, r.name) in kept for r in _cached_rules(rules, period=s.period())
            )
        }
        points = await load_points(
            session,
            rules=rules,
            enrollments=[s.enrollment for s in group],
            as_of=day,
            settled=settled,
        )
        closed_ids = {s.enrollment.id for s in closed}
        to_keep: list[tuple[Enrollment, str, Value | None]] = []
        for subject in group:
            period = subject.period()
            sources = points[subject.enrollment.id]
            progress = []
            for rule in sorted(
                rules.measures_for(period.track), key=lambda m: MEASURE_ORDER.index(m.name)
            ):
                key = (subject.enrollment.id, rule.name)
                result = targets.evaluate(
                    rule,
                    rules=rules,
                    period=period,
                    sources=sources,
                    as_of=day,
                    known_baseline=kept.get(key, targets.UNKNOWN),
                )
                progress.append(result)
                cache = subject.enrollment.id in closed_ids and key not in kept
                if cache and result.applicable and baselines.cacheable(rule):
                    to_keep.append((subject.enrollment, rule.name, result.baseline))
            attained = targets.attainment(
                progress, rule=rules.attainment.rule_for(period.track), period_over=day > period.end
            )
            results.append(Evaluated(subject, day, progress, attained))
        await baselines.store(session, rules=rules, entries=to_keep)
    return results


async def active_subjects(
    session: AsyncSession, *, patients: Sequence[Patient], track: str | None = None
) -> list[Subject]:
    """The patients' active enrollments (in `track` if given), oldest care period first."""
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
