"""Progress toward one outcome target: baseline, current value, status; pure functions.

Inputs are plain observations (one list per source, e.g. eligible cuff readings or scored PHQ-9
check-ins) and a ruleset; no I/O. Definitions (domain.md "Data rules", rules in the ruleset):

- Blood pressure: the mean of >= `bp_min_readings` eligible readings within `observation_days`.
  Baseline: the first such window whose first reading falls in the first `baseline_days` of the
  care period. Current: the `observation_days` ending on the report date.
- Weight and PROMs: baseline is the first value in the first `baseline_days`; current is the
  latest value in the `observation_days` ending on the report date.
- Labs: baseline is the latest result from `lab_days` before the start to the end of the
  baseline window; current is the latest result within `lab_days` of the report date (it may be
  the baseline result itself, which then shows control but no improvement).
- The report date is the as-of date, or the period's last day once the period is over (the
  end-of-period report describes the period itself).
- Status: `met` when the target holds for the current value; otherwise `insufficient_data` when
  a needed value is missing; otherwise the least-squares trend of the last `trend_days` projected
  to the period's last day decides `on_track` or `off_track` (no trend yet: `on_track`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from app.outcomes.rules import MeasureName, MeasureRule, Ruleset, Track

Status = Literal["met", "on_track", "off_track", "insufficient_data", "not_applicable"]
LAB_SOURCES = frozenset({"hba1c", "ldl", "egfr", "uacr"})
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class Point:
    """One observation: a reading or a scored check-in, in the measure's unit."""

    id: uuid.UUID
    at: datetime
    day: date  # the patient's local day
    value: float
    secondary: float | None = None  # blood pressure: diastolic


@dataclass(frozen=True, slots=True)
class Value:
    value: float
    at: datetime
    n: int
    ids: tuple[uuid.UUID, ...]
    secondary: float | None = None
    components: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CarePeriod:
    track: Track
    conditions: tuple[str, ...]
    start: date
    end: date
    height_cm: float | None = None

    def report_date(self, as_of: date) -> date:
        return min(as_of, self.end)

    def day(self, as_of: date) -> int:
        return (self.report_date(as_of) - self.start).days + 1


@dataclass(frozen=True, slots=True)
class Progress:
    measure: MeasureName
    applicable: bool
    status: Status
    target: dict[str, float | str | None]
    baseline: Value | None = None
    current: Value | None = None
    needed: str | None = None
    projected: float | None = None


def _days(points: Sequence[Point], first: date, last: date) -> list[Point]:
    return [p for p in points if first <= p.day <= last]


def _mean(points: Sequence[Point]) -> Value:
    secondaries = [p.secondary for p in points if p.secondary is not None]
    return Value(
        value=round(sum(p.value for p in points) / len(points), 1),
        at=max(p.at for p in points),
        n=len(points),
        ids=tuple(p.id for p in points),
        secondary=round(sum(secondaries) / len(secondaries), 1) if secondaries else None,
    )


def _single(point: Point) -> Value:
    return Value(value=point.value, at=point.at, n=1, ids=(point.id,), secondary=point.secondary)


def _is_bp(rule: MeasureRule) -> bool:
    return rule.sources == ("blood_pressure",)


def _is_lab(rule: MeasureRule) -> bool:
    return set(rule.sources) <= LAB_SOURCES


def baseline_value(
    rule: MeasureRule, rules: Ruleset, period: CarePeriod, points: Sequence[Point]
) -> Value | None:
    w = rules.windows
    last = period.start + timedelta(days=w.baseline_days - 1)
    if _is_bp(rule):
        candidates = _days(points, period.start, last + timedelta(days=w.observation_days - 1))
        # Two pointers over the day-ordered readings: the window starting at reading `first`
        # covers readings first..stop-1.
        stop = 0
        for first, point in enumerate(candidates):
            if point.day > last:
                break
            end = point.day + timedelta(days=w.observation_days - 1)
            stop = max(stop, first)
            while stop < len(candidates) and candidates[stop].day <= end:
                stop += 1
            if stop - first >= w.bp_min_readings:
                return _mean(candidates[first:stop])
        return None
    if _is_lab(rule):
        found = _days(points, period.start - timedelta(days=w.lab_days), last)
        return _single(found[-1]) if found else None
    found = _days(points, period.start, last)
    return _single(found[0]) if found else None


def current_value(
    rule: MeasureRule,
    rules: Ruleset,
    period: CarePeriod,
    points: Sequence[Point],
    as_of: date,
    baseline: Value | None,
) -> Value | None:
    w = rules.windows
    report = period.report_date(as_of)
    if _is_lab(rule):
        # A lab stays valid for `lab_days`: the baseline result itself may still be current.
        valid = _days(points, report - timedelta(days=w.lab_days - 1), report)
        return _single(valid[-1]) if valid else None
    first = max(period.start, report - timedelta(days=w.observation_days - 1))
    window = _days(points, first, report)
    if _is_bp(rule):
        return _mean(window) if len(window) >= w.bp_min_readings else None
    return _single(window[-1]) if window else None


def meets(rule: MeasureRule, period: CarePeriod, baseline: float | None, current: float) -> bool:
    """Whether `current` meets the target: control, or improvement from `baseline`."""
    control = rule.control_threshold(period.track)
    if control is not None and current < control:
        return True
    if rule.control_bmi_below is not None and baseline is not None and period.height_cm:
        bmi = current / (period.height_cm / 100) ** 2
        gain_percent = (current - baseline) / baseline * 100
        max_gain = rule.control_max_gain_percent or 0.0
        if bmi < rule.control_bmi_below and gain_percent <= max_gain + _EPSILON:
            return True
    if baseline is None:
        return False
    change = baseline - current if rule.better == "lower" else current - baseline
    if rule.improvement is not None and change >= rule.improvement - _EPSILON:
        return True
    return (
        rule.improvement_percent is not None
        and baseline != 0
        and change / abs(baseline) * 100 >= rule.improvement_percent - _EPSILON
    )


def goal(rule: MeasureRule, period: CarePeriod, baseline: float | None) -> float | None:
    """The value to reach (at most, or at least when higher is better) by improvement."""
    if baseline is None:
        return None
    sign = -1 if rule.better == "lower" else 1
    candidates = []
    if rule.improvement is not None:
        candidates.append(baseline + sign * rule.improvement)
    if rule.improvement_percent is not None:
        candidates.append(baseline * (1 + sign * rule.improvement_percent / 100))
    if not candidates:
        return None
    # The easier of the two improvement routes.
    return round(max(candidates) if rule.better == "lower" else min(candidates), 1)


def target_of(
    rule: MeasureRule, period: CarePeriod, baseline: Value | None
) -> dict[str, float | str | None]:
    target: dict[str, float | str | None] = {"kind": rule.kind}
    if rule.kind == "submission":
        target["sources"] = ", ".join(rule.sources)
        return target
    target["unit"] = rule.unit
    target["better"] = rule.better
    control = rule.control_threshold(period.track)
    if control is not None:
        target["control_below"] = control
    if rule.control_bmi_below is not None:
        target["control_bmi_below"] = rule.control_bmi_below
        target["control_max_gain_percent"] = rule.control_max_gain_percent
    if rule.improvement is not None:
        target["improvement"] = rule.improvement
    if rule.improvement_percent is not None:
        target["improvement_percent"] = rule.improvement_percent
    target["goal"] = goal(rule, period, baseline.value if baseline else None)
    target["provisional"] = "yes" if rule.provisional else "no"
    return target


def trend_projection(points: Sequence[Point], first: date, last: date, end: date) -> float | None:
    """Least-squares line through the daily means of the window, evaluated on `end`."""
    by_day: dict[date, list[float]] = {}
    for p in _days(points, first, last):
        by_day.setdefault(p.day, []).append(p.value)
    if len(by_day) < 2:
        return None
    xs = [d.toordinal() for d in by_day]
    ys = [sum(v) / len(v) for v in by_day.values()]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    return round(mean_y + slope * (end.toordinal() - mean_x), 1)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _what(rule: MeasureRule) -> str:
    if _is_bp(rule):
        return "blood pressure readings with your connected cuff"
    if rule.sources == ("weight",):
        return "a weight measurement"
    if _is_lab(rule):
        return f"a {rule.label} lab result"
    return f"the {rule.label} check-in"


def _needed_missing(
    rule: MeasureRule,
    rules: Ruleset,
    period: CarePeriod,
    points: Sequence[Point],
    as_of: date,
    baseline: Value | None,
) -> str:
    w = rules.windows
    report = period.report_date(as_of)
    baseline_last = period.start + timedelta(days=w.baseline_days - 1)
    if baseline is None and report <= baseline_last:
        by = baseline_last.isoformat()
        if _is_bp(rule):
            return (
                f"Take {w.bp_min_readings} blood pressure readings with your connected cuff "
                f"within {w.observation_days} days, starting by {by}, to set your starting point."
            )
        return f"Your starting point needs {_what(rule)} by {by}."
    if _is_bp(rule):
        first = max(period.start, report - timedelta(days=w.observation_days - 1))
        have = len(_days(points, first, report))
        more = w.bp_min_readings - have
        return (
            f"Take {_plural(more, 'more blood pressure reading')} with your connected cuff in "
            f"the next {w.observation_days} days ({w.bp_min_readings} within "
            f"{w.observation_days} days are needed)."
        )
    if _is_lab(rule):
        return f"Your care team needs {_what(rule)} from the last {w.lab_days // 30} months."
    return f"Complete {_what(rule)} (one from the last {w.observation_days} days is needed)."


def _submission(
    rule: MeasureRule,
    rules: Ruleset,
    period: CarePeriod,
    sources: Mapping[str, Sequence[Point]],
    as_of: date,
) -> Progress:
    w = rules.windows
    report = period.report_date(as_of)
    target = target_of(rule, period, None)
    if _is_lab(rule):
        found: dict[str, Point] = {}
        for source in rule.sources:
            points = _days(
                sources.get(source, ()), period.start - timedelta(days=w.lab_days), report
            )
            if points:
                found[source] = points[-1]
        if len(found) < len(rule.sources):
            missing = " and ".join(s for s in rule.sources if s not in found)
            return Progress(
                rule.name,
                True,
                "insufficient_data",
                target,
                needed=f"Your care team needs a {missing} lab result this care period.",
            )
        latest = max(found.values(), key=lambda p: p.at)
        value = Value(
            value=found[rule.sources[0]].value,
            at=latest.at,
            n=len(found),
            ids=tuple(p.id for p in found.values()),
            components={s: p.value for s, p in found.items()},
        )
        return Progress(rule.name, True, "met", target, baseline=value, current=value)
    checkins = sources.get(rule.sources[0], ())
    baseline = baseline_value(rule, rules, period, checkins)
    final_first = period.end - timedelta(days=w.final_window_days - 1)
    closing = _days(checkins, final_first, report)
    current = _single(closing[-1]) if closing else None
    if baseline is None:
        needed = f"Complete {_what(rule)} to record your starting point."
        return Progress(rule.name, True, "insufficient_data", target, needed=needed)
    if current is not None:
        return Progress(rule.name, True, "met", target, baseline=baseline, current=current)
    if report < final_first:
        needed = f"Complete {_what(rule)} again from {final_first.isoformat()}."
        return Progress(rule.name, True, "on_track", target, baseline=baseline, needed=needed)
    needed = f"Complete {_what(rule)} again before {period.end.isoformat()}."
    return Progress(rule.name, True, "insufficient_data", target, baseline=baseline, needed=needed)


class _Unknown:
    """No baseline was passed in: compute it from the points."""


UNKNOWN = _Unknown()


def evaluate(
    rule: MeasureRule,
    rules: Ruleset,
    period: CarePeriod,
    sources: Mapping[str, Sequence[Point]],
    as_of: date,
    known_baseline: Value | _Unknown | None = UNKNOWN,
) -> Progress:
    """Progress of one measure. `sources` maps each source name to its points, oldest first;
    `known_baseline` is a baseline kept from an earlier evaluation (its window closed)."""
    if not rule.applies_to(period.track, list(period.conditions)):
        return Progress(rule.name, False, "not_applicable", target_of(rule, period, None))
    if rule.kind == "submission":
        return _submission(rule, rules, period, sources, as_of)
    points = sources.get(rule.sources[0], ())
    baseline = (
        baseline_value(rule, rules, period, points)
        if isinstance(known_baseline, _Unknown)
        else known_baseline
    )
    current = current_value(rule, rules, period, points, as_of, baseline)
    target = target_of(rule, period, baseline)
    base = baseline.value if baseline else None

    def progress(status: Status, **more: object) -> Progress:
        return Progress(
            rule.name,
            True,
            status,
            target,
            baseline=baseline,
            current=current,
            **more,  # type: ignore[arg-type]
        )

    if current is not None and meets(rule, period, base, current.value):
        return progress("met")
    report = period.report_date(as_of)
    baseline_closed = report > period.start + timedelta(days=rules.windows.baseline_days - 1)
    can_control = rule.control_threshold(period.track) is not None
    same_lab = current is not None and baseline is not None and current.ids == baseline.ids
    if _is_lab(rule) and same_lab:
        return progress(
            "insufficient_data",
            needed=f"Your care team needs a new {rule.label} lab result to show improvement.",
        )
    if current is None or (baseline is None and not baseline_closed):
        return progress(
            "insufficient_data",
            needed=_needed_missing(rule, rules, period, points, as_of, baseline),
        )
    if baseline is None and not can_control:
        return progress(
            "insufficient_data",
            needed="No starting value was recorded in the first "
            f"{rules.windows.baseline_days} days, so improvement cannot be shown.",
        )
    first = report - timedelta(days=rules.windows.trend_days - 1)
    projected = trend_projection(points, max(first, period.start), report, period.end)
    if projected is None:
        return progress("on_track", needed=_improve_sentence(rule, period, base))
    status: Status = "on_track" if meets(rule, period, base, projected) else "off_track"
    return progress(status, needed=_improve_sentence(rule, period, base), projected=projected)


def _improve_sentence(rule: MeasureRule, period: CarePeriod, baseline: float | None) -> str:
    parts = []
    control = rule.control_threshold(period.track)
    unit = f" {rule.unit}" if rule.unit and not rule.unit.startswith("{") else ""
    if control is not None:
        parts.append(f"below {control:g}{unit}")
    target = goal(rule, period, baseline)
    if target is not None:
        parts.append(f"{'at most' if rule.better == 'lower' else 'at least'} {target:g}{unit}")
    if rule.control_bmi_below is not None:
        parts.append(f"a BMI below {rule.control_bmi_below:g} without gaining weight")
    return f"Goal for {rule.label}: " + " or ".join(parts) + "."


def attainment(
    progress: Sequence[Progress], *, rule: Literal["all", "any"], period_over: bool
) -> bool | None:
    """True when the patient attains; False once the period is over without it; else None."""
    applicable = [p for p in progress if p.applicable]
    if not applicable:
        return None
    met = [p.status == "met" for p in applicable]
    if all(met) if rule == "all" else any(met):
        return True
    return False if period_over else None
