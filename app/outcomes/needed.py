"""What a patient still has to do for a measure, in words (`needed` in docs/api.md "Progress
toward outcome targets"); pure.

Invariants: every number in a sentence (readings needed, days, dates, goals) comes from the
ruleset or from the evaluation that chose the sentence, never from a literal here; a sentence
names what to do and by when, not why a rule exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from app.outcomes.observations import CarePeriod, Point, Value, recent
from app.outcomes.rules import MeasureRule, Track, Windows


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def what(rule: MeasureRule) -> str:
    """The observation a measure needs, as the patient would call it."""
    if rule.is_blood_pressure:
        return "blood pressure readings with your connected cuff"
    if rule.sources == ("weight",):
        return "a weight measurement"
    if rule.from_labs:
        return f"a {rule.label} lab result"
    return f"the {rule.label} check-in"


def missing(
    rule: MeasureRule,
    *,
    windows: Windows,
    period: CarePeriod,
    points: Sequence[Point],
    as_of: date,
    baseline: Value | None,
) -> str:
    """A needed value is missing: the baseline while it may still be set, else the current."""
    w = windows
    baseline_last = w.baseline_last(period.start)
    if baseline is None and period.report_date(as_of) <= baseline_last:
        by = baseline_last.isoformat()
        if rule.is_blood_pressure:
            return (
                f"Take {w.bp_min_readings} blood pressure readings with your connected cuff "
                f"within {w.observation_days} days, starting by {by}, to set your starting point."
            )
        return f"Your starting point needs {what(rule)} by {by}."
    if rule.is_blood_pressure:
        have = len(recent(points, windows=w, period=period, as_of=as_of))
        more = w.bp_min_readings - have
        return (
            f"Take {_plural(more, 'more blood pressure reading')} with your connected cuff in "
            f"the next {w.observation_days} days ({w.bp_min_readings} within "
            f"{w.observation_days} days are needed)."
        )
    if rule.from_labs:
        return f"Your care team needs {what(rule)} from the last {w.lab_days // 30} months."
    return f"Complete {what(rule)} (one from the last {w.observation_days} days is needed)."


def new_lab(rule: MeasureRule) -> str:
    """The only lab result is the baseline itself: it shows control, never improvement."""
    return f"Your care team needs a new {rule.label} lab result to show improvement."


def no_baseline(*, windows: Windows) -> str:
    return (
        "No starting value was recorded in the first "
        f"{windows.baseline_days} days, so improvement cannot be shown."
    )


def improve(rule: MeasureRule, *, track: Track, goal: float | None) -> str:
    """The values that would meet the target: control, the improvement goal, or BMI control."""
    parts = []
    control = rule.control_threshold(track)
    unit = f" {rule.unit}" if rule.unit and not rule.unit.startswith("{") else ""
    if control is not None:
        parts.append(f"below {control:g}{unit}")
    if goal is not None:
        parts.append(f"{'at most' if rule.better == 'lower' else 'at least'} {goal:g}{unit}")
    if rule.control_bmi_below is not None:
        parts.append(f"a BMI below {rule.control_bmi_below:g} without gaining weight")
    return f"Goal for {rule.label}: " + " or ".join(parts) + "."


def labs_missing(sources: Sequence[str]) -> str:
    return f"Your care team needs a {' and '.join(sources)} lab result this care period."


def first_checkin(rule: MeasureRule) -> str:
    return f"Complete {what(rule)} to record your starting point."


def closing_checkin(rule: MeasureRule, *, opens: date, end: date, report: date) -> str:
    """The closing check-in: from when its window opens, or before the period ends."""
    if report < opens:
        return f"Complete {what(rule)} again from {opens.isoformat()}."
    return f"Complete {what(rule)} again before {end.isoformat()}."
