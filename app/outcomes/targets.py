"""Outcome targets: whether a value meets one, the goal to reach, the trend; pure functions.

docs/rules.md "Outcome measures" (every threshold from the ruleset): a target is met by control
(below the track's control value; weight: a BMI below the limit without gaining more than the
allowed share) or by improvement from the baseline (an absolute change, or a share of it).
Invariants: no I/O; a value that needs a baseline to be judged is never met without one (the
caller decides what a missing baseline means); floating-point edges are compared with a small
tolerance, so a change of exactly the required amount counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Literal

from app.outcomes.observations import Point, within
from app.outcomes.rules import MeasureRule, Track

Status = Literal[
    "met", "on_track", "off_track", "insufficient_data", "no_baseline", "not_applicable"
]
# Least advanced first: a patient's overall status is the first of these among their measures.
NEED_ORDER: tuple[Status, ...] = (
    "no_baseline",
    "off_track",
    "insufficient_data",
    "on_track",
    "met",
)
_EPSILON = 1e-9


def meets(
    rule: MeasureRule,
    *,
    track: Track,
    baseline: float,
    current: float,
    bmi: float | None = None,
) -> bool:
    """Whether `current` meets the target: control, or improvement from `baseline`."""
    control = rule.control_threshold(track)
    if control is not None and current < control:
        return True
    if rule.control_bmi_below is not None and bmi is not None and baseline:
        gain_percent = (current - baseline) / baseline * 100
        max_gain = rule.control_max_gain_percent or 0.0
        if bmi < rule.control_bmi_below and gain_percent <= max_gain + _EPSILON:
            return True
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
    rule: MeasureRule, *, track: Track, baseline: float | None
) -> dict[str, float | str | None]:
    """The target as the API shows it: its routes and the goal from this baseline."""
    target: dict[str, float | str | None] = {"kind": rule.kind}
    if rule.kind == "submission":
        target["sources"] = ", ".join(rule.sources)
        return target
    target["unit"] = rule.unit
    target["better"] = rule.better
    control = rule.control_threshold(track)
    if control is not None:
        target["control_below"] = control
    if rule.control_bmi_below is not None:
        target["control_bmi_below"] = rule.control_bmi_below
        target["control_max_gain_percent"] = rule.control_max_gain_percent
    if rule.improvement is not None:
        target["improvement"] = rule.improvement
    if rule.improvement_percent is not None:
        target["improvement_percent"] = rule.improvement_percent
    target["goal"] = goal(rule, baseline=baseline)
    target["provisional"] = "yes" if rule.provisional else "no"
    return target


def trend_projection(
    points: Sequence[Point], *, first: date, last: date, end: date
) -> float | None:
    """Least-squares line through the daily means of the window, evaluated on `end`; None
    with fewer than two days of data (no trend at all)."""
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


def least_advanced(statuses: Iterable[Status]) -> Status | None:
    """The least advanced of `statuses` in `NEED_ORDER` (None: none of them, e.g. no measure
    applies)."""
    present = set(statuses)
    return next((s for s in NEED_ORDER if s in present), None)
