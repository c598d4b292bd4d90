"""Progress toward one outcome target: baseline, current value, status; pure functions.

Inputs are plain observations (one list per source, e.g. eligible cuff readings or scored PHQ-9
check-ins, see `observations`) and a ruleset; no I/O. Definitions (docs/rules.md "Outcome
measures", "Data rules"; every number is in the ruleset):

- Blood pressure: the mean of >= `bp_min_readings` eligible readings within `observation_days`.
  Baseline: the first such window whose first reading falls in the first `baseline_days` of the
  care period. Current: the `observation_days` ending on the report date.
- Weight and PROMs: baseline is the first value in the first `baseline_days`; current is the
  latest value in the `observation_days` ending on the report date.
- Labs: baseline is the latest result from `lab_days` before the start to the end of the
  baseline window; current is the latest result within `lab_days` of the report date (it may be
  the baseline result itself, which then shows control but no improvement).
- Submission-only measures (eGFR and UACR, WHODAS) are met when present, not against a target.
- The report date is the as-of date, or the period's last day once the period is over (the
  end-of-period report describes the period itself).
- Status: `met` when the target holds for the current value; otherwise `insufficient_data` when
  a needed value is missing; otherwise the least-squares trend of the last `trend_days` projected
  to the period's last day decides `on_track` or `off_track` (no trend yet: `on_track`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from app.outcomes import needed
from app.outcomes.observations import CarePeriod, Point, Value, mean, recent, single, within
from app.outcomes.rules import MeasureName, MeasureRule, Ruleset, Windows

Status = Literal["met", "on_track", "off_track", "insufficient_data", "not_applicable"]
# Least advanced first: a patient's overall status is the first of these among their measures.
NEED_ORDER: tuple[Status, ...] = ("off_track", "insufficient_data", "on_track", "met")
_EPSILON = 1e-9


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


def baseline_value(
    rule: MeasureRule, *, windows: Windows, period: CarePeriod, points: Sequence[Point]
) -> Value | None:
    w = windows
    last = w.baseline_last(period.start)
    if rule.is_blood_pressure:
        candidates = within(points, first=period.start, last=w.baseline_reach(period.start))
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
                return mean(candidates[first:stop])
        return None
    if rule.from_labs:
        found = within(points, first=period.start - timedelta(days=w.lab_days), last=last)
        return single(found[-1]) if found else None
    found = within(points, first=period.start, last=last)
    return single(found[0]) if found else None


def current_value(
    rule: MeasureRule,
    *,
    windows: Windows,
    period: CarePeriod,
    points: Sequence[Point],
    as_of: date,
) -> Value | None:
    if rule.from_labs:
        # A lab stays valid for `lab_days`: the baseline result itself may still be current.
        report = period.report_date(as_of)
        valid = within(points, first=report - timedelta(days=windows.lab_days - 1), last=report)
        return single(valid[-1]) if valid else None
    window = recent(points, windows=windows, period=period, as_of=as_of)
    if rule.is_blood_pressure:
        return mean(window) if len(window) >= windows.bp_min_readings else None
    return single(window[-1]) if window else None


def meets(rule: MeasureRule, *, period: CarePeriod, baseline: float | None, current: float) -> bool:
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


def goal(rule: MeasureRule, *, baseline: float | None) -> float | None:
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
    rule: MeasureRule, *, period: CarePeriod, baseline: Value | None
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
    target["goal"] = goal(rule, baseline=baseline.value if baseline else None)
    target["provisional"] = "yes" if rule.provisional else "no"
    return target


def trend_projection(
    points: Sequence[Point], *, first: date, last: date, end: date
) -> float | None:
    """Least-squares line through the daily means of the window, evaluated on `end`."""
    by_day: dict[date, list[float]] = {}
    for p in within(points, first=first, last=last):
        by_day.setdefault(p.day, []).append(p.value)
    if len(by_day) < 2:
        return None
    xs = [d.toordinal() for d in by_day]
    ys = [sum(v) / len(v) for v in by_day.values()]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    return round(mean_y + slope * (end.toordinal() - mean_x), 1)


def _submission(
    rule: MeasureRule,
    *,
    windows: Windows,
    period: CarePeriod,
    sources: Mapping[str, Sequence[Point]],
    as_of: date,
) -> Progress:
    """A submission-only measure: eGFR and UACR once per period (each may predate it by
    `lab_days`), or a check-in at the start and again in the last `final_window_days`."""
    w = windows
    report = period.report_date(as_of)
    target = target_of(rule, period=period, baseline=None)
    if rule.from_labs:
        found: dict[str, Point] = {}
        for source in rule.sources:
            points = within(
                sources.get(source, ()),
                first=period.start - timedelta(days=w.lab_days),
                last=report,
            )
            if points:
                found[source] = points[-1]
        if len(found) < len(rule.sources):
            missing = [s for s in rule.sources if s not in found]
            return Progress(
                rule.name,
                True,
                "insufficient_data",
                target,
                needed=needed.labs_missing(missing),
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
    baseline = baseline_value(rule, windows=w, period=period, points=checkins)
    final_first = period.end - timedelta(days=w.final_window_days - 1)
    closing = within(checkins, first=final_first, last=report)
    current = single(closing[-1]) if closing else None
    if baseline is None:
        return Progress(
            rule.name, True, "insufficient_data", target, needed=needed.first_checkin(rule)
        )
    if current is not None:
        return Progress(rule.name, True, "met", target, baseline=baseline, current=current)
    return Progress(
        rule.name,
        True,
        "on_track" if report < final_first else "insufficient_data",
        target,
        baseline=baseline,
        needed=needed.closing_checkin(rule, opens=final_first, end=period.end, report=report),
    )


class _Unknown:
    """No baseline was passed in: compute it from the points."""


UNKNOWN = _Unknown()


def evaluate(
    rule: MeasureRule,
    *,
    rules: Ruleset,
    period: CarePeriod,
    sources: Mapping[str, Sequence[Point]],
    as_of: date,
    known_baseline: Value | _Unknown | None = UNKNOWN,
) -> Progress:
    """Progress of one measure. `sources` maps each source name to its points, oldest first;
    `known_baseline` is a baseline kept from an earlier evaluation (its window closed)."""
    w = rules.windows
    if not rule.applies_to(period.track, conditions=period.conditions):
        return Progress(
            rule.name, False, "not_applicable", target_of(rule, period=period, baseline=None)
        )
    if rule.kind == "submission":
        return _submission(rule, windows=w, period=period, sources=sources, as_of=as_of)
    points = sources.get(rule.sources[0], ())
    baseline = (
        baseline_value(rule, windows=w, period=period, points=points)
        if isinstance(known_baseline, _Unknown)
        else known_baseline
    )
    current = current_value(rule, windows=w, period=period, points=points, as_of=as_of)
    target = target_of(rule, period=period, baseline=baseline)
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

    if current is not None and meets(rule, period=period, baseline=base, current=current.value):
        return progress("met")
    report = period.report_date(as_of)
    baseline_closed = report > w.baseline_last(period.start)
    can_control = rule.control_threshold(period.track) is not None
    same_lab = current is not None and baseline is not None and current.ids == baseline.ids
    if rule.from_labs and same_lab:
        return progress("insufficient_data", needed=needed.new_lab(rule))
    if current is None or (baseline is None and not baseline_closed):
        return progress(
            "insufficient_data",
            needed=needed.missing(
                rule, windows=w, period=period, points=points, as_of=as_of, baseline=baseline
            ),
        )
    if baseline is None and not can_control:
        return progress("insufficient_data", needed=needed.no_baseline(windows=w))
    first = report - timedelta(days=w.trend_days - 1)
    projected = trend_projection(
        points, first=max(first, period.start), last=report, end=period.end
    )
    sentence = needed.improve(rule, track=period.track, goal=goal(rule, baseline=base))
    if projected is None:
        return progress("on_track", needed=sentence)
    on_track = meets(rule, period=period, baseline=base, current=projected)
    return progress("on_track" if on_track else "off_track", needed=sentence, projected=projected)


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


def least_advanced(statuses: Iterable[Status]) -> Status | None:
    """The least advanced of `statuses` in `NEED_ORDER` (None: none of them, e.g. no measure
    applies)."""
    present = set(statuses)
    return next((s for s in NEED_ORDER if s in present), None)
