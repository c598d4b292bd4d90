"""A clinician panel's need score for one patient, with its reasons; pure.

docs/rules.md "Need score (the clinician panel's order)", this product's policy, not a CMS rule.
The score is the sum of its reasons' points:

- the patient's open urgent and warning alerts, per alert (they belong to no care period):
  open means no clinician has acknowledged or resolved it yet, so an episode that is over
  counts until someone has looked at it (docs/rules.md "Alert episodes");
- for each current care period neither disenrolled nor already decided (`attained` known):
  each reporting window due soon or missed; each measure that counts (applicable, or a missing
  baseline the period needs) off track, without a baseline or short of data; an end-of-period
  report today that would not attain; and, while the period is active, each day beyond
  `quiet_after_days` without any data its track needs (capped at `quiet_cap`).

Invariants: no I/O and no clock (a standing carries its own `today`); every weight comes from
the ruleset's `[need]` section and a weight of 0 drops its reason; reasons come by points
(highest first), then code in `NeedCode` order, then track in `Track` order (the patient's own
first); ties keep the order of the periods given, then of windows and measures.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from app.outcomes.needed import day_text
from app.outcomes.observations import CarePeriod
from app.outcomes.rules import ReportType, Ruleset, Track
from app.outcomes.standing import Standing
from app.outcomes.values import Sources

NeedCode = Literal[
    "urgent_alerts",
    "warning_alerts",
    "report_due_soon",
    "off_track",
    "no_baseline",
    "projected_short",
    "report_missed",
    "no_recent_data",
    "insufficient_data",
]
NEED_CODES: tuple[NeedCode, ...] = NeedCode.__args__  # type: ignore[attr-defined]
_TRACKS: tuple[Track | None, ...] = (None, *Track.__args__)  # type: ignore[attr-defined]
_REPORT_NAMES: dict[ReportType, str] = {
    "baseline": "Baseline report",
    "quarterly": "Quarterly report",
    "end_of_period": "End-of-period report",
}
_MEASURE_TEXTS: dict[str, str] = {
    "off_track": "{label} off track ({track})",
    "no_baseline": "{label} has no baseline ({track})",
    "insufficient_data": "{label} lacks data ({track})",
}


@dataclass(frozen=True, slots=True)
class Reason:
    code: NeedCode
    points: int
    text: str  # a sentence a clinician acts on
    track: Track | None = None  # None: the patient's, not a care period's (alerts)


@dataclass(frozen=True, slots=True)
class Need:
    score: int
    reasons: tuple[Reason, ...]  # points descending, then code (NeedCode order), then track


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def last_data_day(period: CarePeriod, *, rules: Ruleset, sources: Sources) -> date | None:
    """The latest local day of any point among the sources of the period's track's measures
    (the data the track needs); None if there is none in `sources`."""
    names = {s for rule in rules.measures_for(period.track) for s in rule.sources}
    return max((p.day for name in names for p in sources.get(name, ())), default=None)


def _period_reasons(standing: Standing, *, last: date | None, rules: Ruleset) -> Iterator[Reason]:
    weights = rules.need
    track = standing.period.track
    for needs in standing.windows:
        window = needs.state.window
        name, closes = _REPORT_NAMES[window.type], day_text(window.closes)
        if needs.state.status == "due_soon":
            missing = _plural(len(needs.needed), "item") if needs.needed else "nothing"
            text = f"{name} ({track}) due by {closes}, {missing} missing"
            yield Reason("report_due_soon", weights.report_due_soon, text, track)
        elif needs.state.status == "missed":
            text = f"{name} ({track}) missed, closed {closes}"
            yield Reason("report_missed", weights.report_missed, text, track)
    measure_points: dict[str, tuple[NeedCode, int]] = {
        "off_track": ("off_track", weights.off_track),
        "no_baseline": ("no_baseline", weights.no_baseline),
        "insufficient_data": ("insufficient_data", weights.insufficient_data),
    }
    for m in standing.measures:
        if (m.applicable or m.status == "no_baseline") and m.status in measure_points:
            code, points = measure_points[m.status]
            text = _MEASURE_TEXTS[m.status].format(label=m.rule.label, track=track)
            yield Reason(code, points, text, track)
    if standing.projected is False:
        text = f"An end-of-period report today would not attain ({track})"
        yield Reason("projected_short", weights.projected_short, text, track)
    if standing.status == "active":
        # Without any data, the silence is as long as the data loaded to judge the period.
        lookback = max(rules.windows.trend_days, rules.windows.observation_days)
        days = lookback if last is None else (standing.today - last).days
        if days > weights.quiet_after_days:
            points = min(
                weights.per_quiet_day * (days - weights.quiet_after_days), weights.quiet_cap
            )
            span = f"in the last {days} days" if last is None else f"for {_plural(days, 'day')}"
            yield Reason("no_recent_data", points, f"No data the {track} track needs {span}", track)


def need_of(
    periods: Sequence[tuple[Standing, date | None]],
    *,
    rules: Ruleset,
    open_alerts: Mapping[str, int],
) -> Need:
    """The patient's need: `periods` are the patient's current care periods' standings each
    with its last data day (from `last_data_day`); `open_alerts` counts the patient's open (not
    yet acknowledged or resolved) alerts by severity ("urgent", "warning", "info"...), whether
    or not their episodes are over."""
    weights = rules.need
    reasons: list[Reason] = []
    alerts: tuple[tuple[str, NeedCode, int], ...] = (
        ("urgent", "urgent_alerts", weights.points_per_urgent_alert),
        ("warning", "warning_alerts", weights.points_per_warning_alert),
    )
    for severity, code, per_alert in alerts:
        count = open_alerts.get(severity, 0)
        if count > 0:
            reasons.append(
                Reason(code, per_alert * count, _plural(count, f"open {severity} alert"))
            )
    for standing, last in periods:
        if standing.status != "disenrolled" and standing.attained is None:
            reasons.extend(_period_reasons(standing, last=last, rules=rules))
    kept = sorted(
        (r for r in reasons if r.points > 0),
        key=lambda r: (-r.points, NEED_CODES.index(r.code), _TRACKS.index(r.track)),
    )
    return Need(sum(r.points for r in kept), tuple(kept))
