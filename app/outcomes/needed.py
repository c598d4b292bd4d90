"""What a patient or clinician still has to do, in words they act on; pure.

Two kinds of sentence: a measure's `needed` in a patient's progress, and a reporting window's
`needed` list ("2 more cuff readings before 12 March 2027", "an LDL result"). Invariants: every
number in a sentence (readings, days, dates, goals) comes from the ruleset or from the
evaluation that chose the sentence, never from a literal here; a sentence names what to do and
by when, not why a rule exists.
"""

from __future__ import annotations

from datetime import date

from app.outcomes.rules import MeasureRule, Track, Windows

# How people name the lab results they are asked for.
_LAB_NAMES = {"hba1c": "an HbA1c", "ldl": "an LDL", "egfr": "an eGFR", "uacr": "a UACR"}


def day_text(day: date) -> str:
    """A date as people write it: 12 March 2027."""
    return f"{day.day} {day:%B %Y}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def what(rule: MeasureRule) -> str:
    """The observation a measure needs, as the patient would call it."""
    if rule.is_blood_pressure:
        return "blood pressure readings with your connected cuff"
    if rule.sources == ("weight",):
        return "a weight measurement"
    if rule.from_labs:
        return " and ".join(f"{_LAB_NAMES.get(s, s)} result" for s in rule.sources)
    return f"the {rule.label} check-in"


# --- a reporting window's needs ------------------------------------------------------------------


def for_open_window(rule: MeasureRule, *, windows: Windows, closes: date, more: int) -> str:
    """What an open window's report still lacks for one measure; `more`: cuff readings."""
    if rule.is_blood_pressure:
        return f"{_plural(more, 'more cuff reading')} before {day_text(closes)}"
    if rule.from_labs:
        return what(rule)
    return f"{what(rule)} by {day_text(closes)}"


def for_upcoming_window(rule: MeasureRule, *, windows: Windows, opens: date, closes: date) -> str:
    """What a window's report will need, before it opens."""
    span = f"in the {windows.observation_days} days before the report ({day_text(opens)} to "
    span += f"{day_text(closes)})"
    if rule.is_blood_pressure:
        return f"{windows.bp_min_readings} cuff readings {span}"
    if rule.from_labs:
        return f"{what(rule)} from the {windows.lab_days} days before the report"
    return f"{what(rule)} {span}"


# --- a measure's needs in a patient's progress ---------------------------------------------------


def baseline_missing(rule: MeasureRule, *, windows: Windows, by: date, more: int) -> str:
    """The baseline window is open and the measure has no baseline yet."""
    if rule.is_blood_pressure:
        return (
            f"Take {_plural(more, 'more blood pressure reading')} with your connected cuff "
            f"by {day_text(by)} ({windows.bp_min_readings} within {windows.observation_days} "
            "days) to set your starting point."
        )
    return f"Your starting point needs {what(rule)} by {day_text(by)}."


def no_baseline(*, windows: Windows) -> str:
    return (
        f"No starting value was recorded in the first {windows.baseline_days} days of the care "
        "period, so this measure cannot count toward the outcome."
    )


def current_missing(rule: MeasureRule, *, windows: Windows, more: int) -> str:
    """The measure has a baseline but no value valid today."""
    if rule.is_blood_pressure:
        return (
            f"Take {_plural(more, 'more blood pressure reading')} with your connected cuff in "
            f"the next {windows.observation_days} days ({windows.bp_min_readings} within "
            f"{windows.observation_days} days are needed)."
        )
    if rule.from_labs:
        return f"Your care team needs {what(rule)} from the last {windows.lab_days} days."
    return f"Complete {what(rule)} (one from the last {windows.observation_days} days counts)."


def new_lab(rule: MeasureRule) -> str:
    """The only lab result is the baseline itself: it can show control, never improvement."""
    return f"Your care team needs a new {rule.label} lab result to show improvement."


def no_trend(rule: MeasureRule, *, windows: Windows) -> str:
    return (
        f"Keep taking {what(rule)}: {windows.trend_days} days of data with at least two days "
        "of it show whether you are on track."
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


def closing_checkin(rule: MeasureRule, *, opens: date, closes: date, today: date) -> str:
    """A check-in the end-of-period report needs: from when its window opens, or by its close."""
    if today < opens:
        return f"Complete {what(rule)} again from {day_text(opens)}."
    return f"Complete {what(rule)} by {day_text(closes)}."
