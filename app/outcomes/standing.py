"""Where one care period stands on a date: each measure, attainment, the reporting windows; pure.

A pure function of (care period, its data, its reports, the patient's today), so its result can
be stored and compared with a fresh evaluation. docs/api.md "Care periods and the ACCESS
reporting calendar" and docs/rules.md "Data rules":

- a measure's baseline is its value in the period's baseline report; else, for a follow-on
  period, in the previous period's complete end-of-period report; else its value on the
  earliest day of the baseline window with valid data (`values.earliest_baseline`);
- its current value is its value by the data rules today (no later than the day the
  end-of-period window closes: readings up to then count);
- status: `no_baseline` once the baseline window has closed without one (it cannot count);
  `met` when the current value meets the target from the baseline; `insufficient_data` when a
  value is missing or there is no trend at all; else the trend of the last `trend_days`
  projected to the period's end decides `on_track` or `off_track`;
- `attained` only from a complete end-of-period report (false once that window closed without
  one, else null); `projected` is what an end-of-period report made today would say.

Invariants: no I/O and no clock; every number from the ruleset; the windows' needs, the
projection and a prepared report all come from `snapshot.compose`, so they agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from app.outcomes import needed
from app.outcomes.calendar import ReportFacts, Window, WindowState, schedule
from app.outcomes.observations import CarePeriod, Value
from app.outcomes.rules import MEASURE_ORDER, MeasureName, MeasureRule, Ruleset
from app.outcomes.snapshot import Baseline, compose, judge, required
from app.outcomes.targets import Status, goal, target_of, trend_projection
from app.outcomes.values import Sources, earliest_baseline, missing_readings, value_on

PeriodStatus = Literal["active", "completed", "disenrolled"]
ACTIONABLE = ("open", "due_soon", "upcoming")


@dataclass(frozen=True, slots=True)
class MeasureStanding:
    rule: MeasureRule
    applicable: bool
    status: Status
    target: dict[str, float | str | None]
    baseline: Baseline | None = None
    current: Value | None = None
    needed: str | None = None
    projected: float | None = None


@dataclass(frozen=True, slots=True)
class WindowNeeds:
    state: WindowState
    needed: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Standing:
    period: CarePeriod
    today: date
    status: PeriodStatus
    measures: list[MeasureStanding]
    windows: list[WindowNeeds]
    attained: bool | None
    projected: bool | None

    @property
    def day(self) -> int:
        return self.period.day(self.today)

    @property
    def next_window(self) -> Window | None:
        """The window to act on next: the soonest-closing open one, else the next to open."""
        open_ = [w.state.window for w in self.windows if w.state.status in ("open", "due_soon")]
        if open_:
            return min(open_, key=lambda w: w.closes)
        upcoming = [w.state.window for w in self.windows if w.state.status == "upcoming"]
        return min(upcoming, key=lambda w: w.opens) if upcoming else None

    @property
    def end_of_period(self) -> WindowState | None:
        """The end-of-period window's state (None for a disenrolled period: no windows)."""
        return next((w.state for w in self.windows if w.state.window.type == "end_of_period"), None)

    @property
    def statuses(self) -> frozenset[Status]:
        """The statuses that say where the period stands: its applicable measures', and a
        missing baseline the period needs even without a target (it blocks attainment)."""
        return frozenset(
            m.status for m in self.measures if m.applicable or m.status == "no_baseline"
        )


def period_status(period: CarePeriod, *, today: date, disenrolled: bool) -> PeriodStatus:
    if disenrolled:
        return "disenrolled"
    return "completed" if today > period.end else "active"


def baselines_of(
    period: CarePeriod,
    *,
    rules: Ruleset,
    sources: Sources,
    reports: Sequence[ReportFacts],
    inherited: ReportFacts | None,
    today: date,
) -> dict[MeasureName, Baseline]:
    """Each measure's baseline known on `today` (report, inherited report, else the data)."""
    own = sorted(
        (r for r in reports if r.type == "baseline" and r.report_date <= today),
        key=lambda r: r.report_date,
    )
    found: dict[MeasureName, Baseline] = {}
    for rule in rules.measures_for(period.track):
        for report in (*reversed(own), inherited):
            value = report.values.get(rule.name) if report is not None else None
            if report is not None and value is not None:
                found[rule.name] = Baseline(value, report.report_date, from_report=True)
                break
        else:
            earliest = earliest_baseline(
                rule, windows=rules.windows, period=period, sources=sources, until=today
            )
            if earliest is not None:
                found[rule.name] = Baseline(earliest[1], earliest[0], from_report=False)
    return found


def _measure(
    rule: MeasureRule,
    *,
    rules: Ruleset,
    period: CarePeriod,
    sources: Sources,
    baseline: Baseline | None,
    today: date,
    report_date: date,
    end_window: Window,
) -> MeasureStanding:
    w = rules.windows
    track = period.track
    base = baseline.value.value if baseline else None
    target = target_of(rule, track=track, baseline=base)
    baseline_open = today <= w.baseline_last(period.start)
    if not rule.applies_to(track, conditions=period.conditions):
        if track not in rule.baseline_for or baseline is not None:
            return MeasureStanding(rule, False, "not_applicable", target, baseline)
        # No target, but the baseline report needs it (an eCKM patient's HbA1c and LDL):
        # without it the period cannot attain, and the patient should know.
        if baseline_open:
            by = w.baseline_last(period.start)
            text = needed.baseline_missing(rule, windows=w, by=by, more=0)
            return MeasureStanding(rule, False, "not_applicable", target, needed=text)
        return MeasureStanding(
            rule, False, "no_baseline", target, needed=needed.no_baseline(windows=w)
        )
    current = value_on(rule, windows=w, sources=sources, report_date=report_date)

    def standing(status: Status, text: str | None = None, **more: float) -> MeasureStanding:
        return MeasureStanding(rule, True, status, target, baseline, current, text, **more)

    more = missing_readings(rule, windows=w, sources=sources, report_date=report_date)
    needs_baseline = rule.kind == "target" or "baseline" in rule.reported_in
    if needs_baseline and baseline is None:
        if baseline_open:
            by = w.baseline_last(period.start)
            return standing(
                "insufficient_data", needed.baseline_missing(rule, windows=w, by=by, more=more)
            )
        return standing("no_baseline", needed.no_baseline(windows=w))
    if rule.kind == "submission":
        if "end_of_period" not in rule.reported_in:
            return standing("met")
        if current is not None and end_window.holds(report_date):
            return standing("met")
        status: Status = "on_track" if today < end_window.opens else "insufficient_data"
        text = needed.closing_checkin(
            rule, opens=end_window.opens, closes=end_window.closes, today=today
        )
        return standing(status, text)
    assert baseline is not None  # a target measure without one returned above
    if current is None:
        return standing("insufficient_data", needed.current_missing(rule, windows=w, more=more))
    if judge(rule, period=period, value=current, baseline=baseline) == "met":
        return standing("met")
    sentence = needed.improve(rule, track=track, goal=goal(rule, baseline=base))
    if rule.from_labs:
        if current.ids == baseline.value.ids:
            return standing("insufficient_data", needed.new_lab(rule))
        return standing("off_track", sentence)
    first = max(period.start, report_date - timedelta(days=w.trend_days - 1))
    projected = trend_projection(
        sources.get(rule.sources[0], ()), first=first, last=report_date, end=period.end
    )
    if projected is None:
        return standing("insufficient_data", needed.no_trend(rule, windows=w))
    on_track = judge(
        rule, period=period, value=Value(projected, current.at, 1, (), bmi=None), baseline=baseline
    )
    return standing("on_track" if on_track == "met" else "off_track", sentence, projected=projected)


def _window_needs(
    state: WindowState, *, rules: Ruleset, period: CarePeriod, sources: Sources, today: date
) -> WindowNeeds:
    window = state.window
    if state.status in ("reported", "missed"):
        return WindowNeeds(state)
    w = rules.windows
    if state.status == "upcoming":
        return WindowNeeds(
            state,
            [
                needed.for_upcoming_window(
                    rule, windows=w, opens=window.opens, closes=window.closes
                )
                for rule in required(period, rules=rules, report_type=window.type)
            ],
        )
    snapshot = compose(
        period,
        rules=rules,
        report_type=window.type,
        report_date=today,
        sources=sources,
        baselines={},
    )
    return WindowNeeds(
        state,
        [
            needed.for_open_window(
                m.rule,
                windows=w,
                closes=window.closes,
                more=missing_readings(m.rule, windows=w, sources=sources, report_date=today),
            )
            for m in snapshot.measures
            if m.value is None
        ],
    )


def evaluate(
    period: CarePeriod,
    *,
    rules: Ruleset,
    sources: Sources,
    reports: Sequence[ReportFacts],
    today: date,
    inherited: ReportFacts | None = None,
    disenrolled: bool = False,
) -> Standing:
    """The period's standing on the patient's `today`. `reports` are the period's own;
    `inherited`: the previous period's complete end-of-period report (follow-on periods)."""
    status = period_status(period, today=today, disenrolled=disenrolled)
    states = schedule(
        period, rules=rules, reports=reports, today=today, inherited_baseline=inherited
    )
    end_window = next(s.window for s in states if s.window.type == "end_of_period")
    report_date = min(today, end_window.closes)
    baselines = baselines_of(
        period, rules=rules, sources=sources, reports=reports, inherited=inherited, today=today
    )
    measures = [
        _measure(
            rule,
            rules=rules,
            period=period,
            sources=sources,
            baseline=baselines.get(rule.name),
            today=today,
            report_date=report_date,
            end_window=end_window,
        )
        for rule in sorted(
            rules.measures_for(period.track), key=lambda m: MEASURE_ORDER.index(m.name)
        )
    ]
    final = [
        r for r in reports if r.type == "end_of_period" and r.complete and r.report_date <= today
    ]
    attained: bool | None
    if final:
        attained = max(final, key=lambda r: r.report_date).attained
    else:
        attained = False if today > end_window.closes else None
    projected: bool | None = None
    if status != "disenrolled":
        if attained is not None:
            projected = attained
        else:
            projection = compose(
                period,
                rules=rules,
                report_type="end_of_period",
                report_date=report_date,
                sources=sources,
                baselines=baselines,
            )
            projected = bool(projection.attained)
    windows = (
        []
        if status == "disenrolled"
        else [
            _window_needs(s, rules=rules, period=period, sources=sources, today=today)
            for s in states
        ]
    )
    return Standing(period, today, status, measures, windows, attained, projected)
