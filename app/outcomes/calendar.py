"""The ACCESS reporting calendar of one care period: its windows and their status; pure.

docs/rules.md "Reporting calendar" (every number from the ruleset's `Calendar` and `Windows`):

- baseline: day 1 to day `baseline_days`;
- quarterly: `quarterly_opens_after_days` to `quarterly_closes_after_days` after the report date
  of the period's previous complete report (baseline or quarterly), or after the last day of
  the baseline window when there is none; a window that closed without a report is followed by
  one counted from the day it closed; no quarterly window opens once the end-of-period window
  has regularly opened, or after a complete end-of-period report;
- end of period: from the track's early-success day to `end_of_period_closes_day`.

A window is `reported` once a complete report of its type lies in it (a follow-on period's
baseline may be the previous period's complete end-of-period report), `missed` once it closed
without one, `due_soon` while open and closing within `due_soon_days` days (on that day or
sooner), else `open` or `upcoming`. Invariants: no I/O and no clock (the caller passes the
patient's today); windows come in the order they open; the quarterly sequence stops at the first
window that is neither reported nor closed, since the next one depends on when that one is
reported.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from app.outcomes.observations import CarePeriod, Value
from app.outcomes.rules import ReportType, Ruleset

WindowStatus = Literal["upcoming", "open", "due_soon", "reported", "missed"]


@dataclass(frozen=True, slots=True)
class ReportFacts:
    """A prepared report as the rules need it: when, what type, complete, and its values."""

    id: uuid.UUID
    type: ReportType
    report_date: date
    complete: bool
    attained: bool | None = None
    values: Mapping[str, Value | None] = field(default_factory=dict)  # by measure name


@dataclass(frozen=True, slots=True)
class Window:
    type: ReportType
    opens: date
    closes: date

    def holds(self, day: date) -> bool:
        return self.opens <= day <= self.closes


@dataclass(frozen=True, slots=True)
class WindowState:
    window: Window
    status: WindowStatus
    report: ReportFacts | None = None  # the complete report, else the latest prepared one


@dataclass(frozen=True, slots=True)
class WindowProblem:
    """A report date outside its window: `WindowNotOpen` or `WindowClosed`, and the window."""

    error: Literal["WindowNotOpen", "WindowClosed"]
    window: Window
    detail: str


def baseline_window(period: CarePeriod, *, rules: Ruleset) -> Window:
    return Window("baseline", period.start, rules.windows.baseline_last(period.start))


def end_of_period_window(period: CarePeriod, *, rules: Ruleset) -> Window:
    c = rules.calendar
    return Window(
        "end_of_period",
        c.date_of(period.start, c.early_success_day[period.track]),
        c.date_of(period.start, c.end_of_period_closes_day),
    )


def _in(window: Window, reports: Sequence[ReportFacts], *, complete: bool) -> list[ReportFacts]:
    return sorted(
        (
            r
            for r in reports
            if r.type == window.type
            and window.holds(r.report_date)
            and (r.complete or not complete)
        ),
        key=lambda r: r.report_date,
    )


def quarterly_windows(
    period: CarePeriod, *, rules: Ruleset, reports: Sequence[ReportFacts], today: date
) -> list[Window]:
    """The quarterly windows up to the first one neither reported nor closed on `today`."""
    c = rules.calendar
    baselines = [r for r in reports if r.type == "baseline" and r.complete]
    anchor = (
        min(r.report_date for r in baselines)
        if baselines
        else rules.windows.baseline_last(period.start)
    )
    stop = c.date_of(period.start, c.end_of_period_opens_day)
    # An early end-of-period report ends the quarterly reports too.
    finals = [r.report_date for r in reports if r.type == "end_of_period" and r.complete]
    if finals:
        stop = min(stop, min(finals) + timedelta(days=1))
    found: list[Window] = []
    while True:
        window = Window(
            "quarterly",
            anchor + timedelta(days=c.quarterly_opens_after_days),
            anchor + timedelta(days=c.quarterly_closes_after_days),
        )
        if window.opens >= stop:
            return found
        found.append(window)
        done = _in(window, reports, complete=True)
        if done:
            anchor = done[0].report_date
        elif window.closes < today:
            anchor = window.closes
        else:
            return found


def _state(
    window: Window,
    *,
    rules: Ruleset,
    reports: Sequence[ReportFacts],
    today: date,
    inherited: ReportFacts | None = None,
) -> WindowState:
    done = _in(window, reports, complete=True)
    if done:
        return WindowState(window, "reported", done[-1])
    if inherited is not None:
        return WindowState(window, "reported", inherited)
    prepared = _in(window, reports, complete=False)
    latest = prepared[-1] if prepared else None
    if today < window.opens:
        return WindowState(window, "upcoming", latest)
    if today > window.closes:
        return WindowState(window, "missed", latest)
    if (window.closes - today).days <= rules.calendar.due_soon_days:
        return WindowState(window, "due_soon", latest)
    return WindowState(window, "open", latest)


def schedule(
    period: CarePeriod,
    *,
    rules: Ruleset,
    reports: Sequence[ReportFacts],
    today: date,
    inherited_baseline: ReportFacts | None = None,
) -> list[WindowState]:
    """Every window of the period known on `today`, in the order they open, with its status.
    `inherited_baseline`: the previous period's complete end-of-period report, which a
    follow-on period may use as its baseline."""
    windows = [
        baseline_window(period, rules=rules),
        *quarterly_windows(period, rules=rules, reports=reports, today=today),
        end_of_period_window(period, rules=rules),
    ]
    return [
        _state(
            w,
            rules=rules,
            reports=reports,
            today=today,
            inherited=inherited_baseline if w.type == "baseline" else None,
        )
        for w in sorted(windows, key=lambda w: w.opens)
    ]


def window_for(
    period: CarePeriod,
    *,
    rules: Ruleset,
    reports: Sequence[ReportFacts],
    report_type: ReportType,
    report_date: date,
) -> Window | WindowProblem:
    """The window a report of `report_type` dated `report_date` falls in, or why it cannot be
    made then. Quarterly windows are counted from the reports dated before it."""
    if report_type == "baseline":
        window = baseline_window(period, rules=rules)
    elif report_type == "end_of_period":
        window = end_of_period_window(period, rules=rules)
    else:
        earlier = [r for r in reports if r.report_date < report_date]
        sequence = quarterly_windows(period, rules=rules, reports=earlier, today=report_date)
        holding = [w for w in sequence if w.holds(report_date)]
        if holding:
            return holding[-1]
        if not sequence:
            window = Window("quarterly", period.start, period.start)  # none before the EOP
            return WindowProblem(
                "WindowClosed",
                window,
                "There is no quarterly window left: the end-of-period window has opened.",
            )
        window = sequence[-1]
    if report_date < window.opens:
        return WindowProblem(
            "WindowNotOpen",
            window,
            f"The {_name(window.type)} window opens on {window.opens.isoformat()} "
            f"(it closes on {window.closes.isoformat()}).",
        )
    if report_date > window.closes:
        return WindowProblem(
            "WindowClosed",
            window,
            f"The {_name(window.type)} window closed on {window.closes.isoformat()} "
            f"(it opened on {window.opens.isoformat()}).",
        )
    return window


def _name(report_type: ReportType) -> str:
    return report_type.replace("_", "-")
