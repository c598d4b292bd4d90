"""What a report holds when it is made on a date, and whether it shows attainment; pure.

docs/rules.md "Reporting calendar" and "Data rules": a report of a type carries the measures
that type needs for the period's track and conditions (`MeasureRule.required_in`), each valued
by the data rules on the report date (`values.value_on`). It is complete when every one has a
value. A complete end-of-period report judges each applicable target against the period's
baseline (`Baselines`): met, not met, or no baseline (which is never met); the period attains
when all of them are met (or any, where the ruleset says so for the track) and everything its
baseline report must carry has a baseline.

Invariants: no I/O, no clock; the same function prepares a stored report, tells what a window
still needs, and projects attainment as if the end-of-period report were made today, so the
three never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from app.outcomes.observations import CarePeriod, Value
from app.outcomes.rules import MEASURE_ORDER, MeasureName, MeasureRule, ReportType, Ruleset
from app.outcomes.targets import meets
from app.outcomes.values import Sources, value_on

Judgement = Literal["met", "not_met", "no_baseline"]


@dataclass(frozen=True, slots=True)
class Baseline:
    """A measure's baseline: a report's value, or the data's on its earliest valid day."""

    value: Value
    on: date
    from_report: bool


Baselines = Mapping[MeasureName, Baseline]


@dataclass(frozen=True, slots=True)
class MeasureSnapshot:
    rule: MeasureRule
    value: Value | None
    judgement: Judgement | None = None  # end-of-period reports, target measures


@dataclass(frozen=True, slots=True)
class Snapshot:
    report_type: ReportType
    report_date: date
    measures: tuple[MeasureSnapshot, ...]
    attained: bool | None  # complete end-of-period reports only

    @property
    def complete(self) -> bool:
        return all(m.value is not None for m in self.measures)

    @property
    def missing(self) -> list[MeasureName]:
        return [m.rule.name for m in self.measures if m.value is None]


def required(period: CarePeriod, *, rules: Ruleset, report_type: ReportType) -> list[MeasureRule]:
    """The measures a report of this type must carry for the period, in measure order."""
    found = [
        m
        for m in rules.measures_for(period.track)
        if m.required_in(report_type, track=period.track, conditions=period.conditions)
    ]
    return sorted(found, key=lambda m: MEASURE_ORDER.index(m.name))


def judge(
    rule: MeasureRule, *, period: CarePeriod, value: Value, baseline: Baseline | None
) -> Judgement:
    """A target measure's value against its baseline (no baseline: never met)."""
    if baseline is None:
        return "no_baseline"
    met = meets(
        rule,
        track=period.track,
        baseline=baseline.value.value,
        current=value.value,
        bmi=value.bmi,
    )
    return "met" if met else "not_met"


def attains(judgements: list[Judgement], *, rules: Ruleset, period: CarePeriod) -> bool:
    """All (or any, per the track's rule) target measures met; a period with none attains
    when its report is complete."""
    if not judgements:
        return True
    met = [j == "met" for j in judgements]
    return all(met) if rules.attainment.rule_for(period.track) == "all" else any(met)


def compose(
    period: CarePeriod,
    *,
    rules: Ruleset,
    report_type: ReportType,
    report_date: date,
    sources: Sources,
    baselines: Baselines,
) -> Snapshot:
    """The report of `report_type` that would be made on `report_date` from these data."""
    measures = []
    judgements: list[Judgement] = []
    for rule in required(period, rules=rules, report_type=report_type):
        value = value_on(rule, windows=rules.windows, sources=sources, report_date=report_date)
        judgement = None
        target = rule.kind == "target" and rule.applies_to(
            period.track, conditions=period.conditions
        )
        if report_type == "end_of_period" and target and value is not None:
            judgement = judge(rule, period=period, value=value, baseline=baselines.get(rule.name))
            judgements.append(judgement)
        measures.append(MeasureSnapshot(rule, value, judgement))
    snapshot = Snapshot(report_type, report_date, tuple(measures), None)
    if report_type != "end_of_period" or not snapshot.complete:
        return snapshot
    # Whatever the baseline report must carry needs a baseline, or the period cannot attain:
    # eGFR and UACR, WHODAS, and an eCKM patient's HbA1c and LDL count although no target
    # judges them.
    unreported = [
        m for m in required(period, rules=rules, report_type="baseline") if m.name not in baselines
    ]
    return Snapshot(
        report_type,
        report_date,
        snapshot.measures,
        not unreported and attains(judgements, rules=rules, period=period),
    )
