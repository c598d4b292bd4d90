"""What a measure's value is on a report date, by the data rules; pure.

docs/rules.md "Data rules" (every number from the ruleset's `Windows`):

- blood pressure: the mean of >= `bp_min_readings` eligible readings of the `observation_days`
  up to and including the report date (all of them, not the last three);
- weight and PROM scores: the latest of those `observation_days`; a weight carries the BMI of
  the latest height taken at or before it;
- labs (HbA1c, LDL, eGFR, UACR): the latest result of the `lab_days` up to the report date;
  eGFR and UACR are one measure: both results, or nothing;
- a baseline found in the data is the value on the earliest day of the baseline window
  (`baseline_days`) on which the measure has a value by these rules, so blood-pressure readings
  on days 58, 65 and 70 make none: only one of them lies in a window ending by day 60.

Invariants: `sources` maps a source name (a reading type, `height`, or a `checkin:` source) to
its points, oldest first; nothing here reads a clock or the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta

from app.outcomes.observations import CarePeriod, Point, Value, mean, single, within
from app.outcomes.rules import MeasureRule, Windows

Sources = Mapping[str, Sequence[Point]]
HEIGHT = "height"


def _latest_at_or_before(points: Sequence[Point], point: Point) -> Point | None:
    found = None
    for candidate in points:
        if candidate.at > point.at:
            break
        found = candidate
    return found


def with_bmi(value: Value, point: Point, *, heights: Sequence[Point]) -> Value:
    """The weight value with the BMI of the latest height taken at or before it."""
    height = _latest_at_or_before(heights, point)
    if height is None or height.value <= 0:
        return value
    bmi = round(point.value / (height.value / 100) ** 2, 1)
    return replace(value, bmi=bmi, height_id=height.id)


def value_on(
    rule: MeasureRule, *, windows: Windows, sources: Sources, report_date: date
) -> Value | None:
    """The measure's value on `report_date`, or None when the data rules find none."""
    if rule.from_labs:
        found: dict[str, Point] = {}
        for source in rule.sources:
            valid = within(
                sources.get(source, ()), first=windows.labs_from(report_date), last=report_date
            )
            if valid:
                found[source] = valid[-1]
        if len(found) < len(rule.sources):
            return None
        if len(rule.sources) == 1:
            return single(found[rule.sources[0]])
        latest = max(found.values(), key=lambda p: p.at)
        return Value(
            value=found[rule.sources[0]].value,
            at=latest.at,
            n=len(found),
            ids=tuple(p.id for p in found.values()),
            components={s: p.value for s, p in found.items()},
        )
    points = within(
        sources.get(rule.sources[0], ()),
        first=windows.observations_from(report_date),
        last=report_date,
    )
    if rule.is_blood_pressure:
        return mean(points) if len(points) >= windows.bp_min_readings else None
    if not points:
        return None
    latest = points[-1]
    if rule.sources == ("weight",):
        return with_bmi(single(latest), latest, heights=sources.get(HEIGHT, ()))
    return single(latest)


def missing_readings(
    rule: MeasureRule, *, windows: Windows, sources: Sources, report_date: date
) -> int:
    """How many more blood-pressure readings a report on `report_date` would need."""
    have = within(
        sources.get(rule.sources[0], ()),
        first=windows.observations_from(report_date),
        last=report_date,
    )
    return max(0, windows.bp_min_readings - len(have))


def _candidate_days(
    rule: MeasureRule, *, windows: Windows, sources: Sources, first: date, last: date
) -> list[date]:
    """The days of `first` .. `last` on which the measure's value may change: the first day,
    and each later day with a new observation (a value only appears when one is added)."""
    days = {first}
    for source in rule.sources:
        days.update(p.day for p in sources.get(source, ()) if first < p.day <= last)
    return sorted(days)


def earliest_baseline(
    rule: MeasureRule,
    *,
    windows: Windows,
    period: CarePeriod,
    sources: Sources,
    until: date,
) -> tuple[date, Value] | None:
    """The value on the earliest day of the baseline window (no later than `until`) on which
    the measure has one, with that day; None when no day has."""
    last = min(windows.baseline_last(period.start), until)
    if last < period.start:
        return None
    for day in _candidate_days(
        rule, windows=windows, sources=sources, first=period.start, last=last
    ):
        value = value_on(rule, windows=windows, sources=sources, report_date=day)
        if value is not None:
            return day, value
    return None


def sources_needed_from(*, windows: Windows, period: CarePeriod) -> date:
    """The first day any rule may look at for this period: labs before a baseline."""
    return period.start - timedelta(days=windows.lab_days)
