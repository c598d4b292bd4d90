"""Which check-ins are due on a patient's local date: pure rules over plain data (no I/O).

The rules (docs/rules.md "Outcome measures"):

- `daily`: every day, for everyone (enrolled or not).
- MSK: `pain_nrs` every 7 days; `promis_pi_6a` and `promis_pf_6b` every 30 days.
- BH: `phq9` every 14 days if the enrollment lists depression, `gad7` every 14 days if it lists
  anxiety; `whodas12` once in the first 60 days of the care period (baseline, reported within
  60 days of the care-period start: docs/rules.md "Data rules") and once in its last 60 days
  (end of period).
- MSK and BH: `pgic` once in the last 60 days of the care period (the CMS ACCESS IG reports PGIC
  in both tracks: Bundle-MSKReportDataBundleExample, Bundle-BHReportDataBundleExample, and its
  MSK and BH PGIC questionnaires).

Only active enrollments count, and only on the days of their care period (start_date ..
end_date). Only scorable check-ins inside the current care period count as done: a PHQ-9 with two
items missing measures nothing, and a new care period needs its own baseline.

- Interval instrument: due since the care-period start until first done, then since the last
  completion + interval.
- Window instrument: due since the window opens, until done once inside the window; not due
  outside it (a baseline missed in the first 60 days waits for the end-of-period window).

Report rule: while a reporting window of a care period is open and holds no complete report
(baseline days 1-60, each quarterly window, the end-of-period window from the validity's span
before day 365 to day 425, as the caller passes it: docs/rules.md "Outcome measures"), each
check-in instrument that window's report needs (the ruleset's measures for the track, its
conditions and the report type: PGIC only at the end of the period, WHODAS at the baseline and
the end) is due once its latest scorable completion in the care period is older than the PROM
validity (`[windows] observation_days`, 15 days: a report counts a PROM only from the 15 days up
to its date, docs/rules.md "Data rules"). Due since the day the window opened or the day the
last completion aged out (completed + validity days), whichever is later. So a patient who
follows the schedule always has a PROM a report prepared today can use, and answering it covers
the next two weeks. The end-of-period window outlasts the care period (to day 425), and so does
this rule. The caller passes the windows (`ReportWindow`) and the validity days.

Overdue rule: a scheduled instrument is overdue once more than `GRACE_DAYS` (3) full days have
passed since it became due (due on the 1st -> overdue on the 5th), giving a patient a long weekend
before the care team is nudged. `daily` is due today only and never overdue: a missed day is not
carried over, the next day brings a new one.

When several rules or enrollments schedule the same instrument (PGIC with MSK and BH; PHQ-9 by
its interval and by a report), it is listed once, with the earliest `due_since` (on a tie, the
care period's own schedule before a report's).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, cast

from app.checkins.instruments import CATALOG
from app.outcomes.rules import ReportType, Ruleset, Track, checkin_source

GRACE_DAYS: Final = 3
WINDOW_DAYS: Final = 60

# (instrument, interval in days, condition required or None) per track.
INTERVALS: Final[dict[str, tuple[tuple[str, int, str | None], ...]]] = {
    "MSK": (
        ("pain_nrs", 7, None),
        ("promis_pi_6a", 30, None),
        ("promis_pf_6b", 30, None),
    ),
    "BH": (
        ("phq9", 14, "depression"),
        ("gad7", 14, "anxiety"),
    ),
}
START_WINDOW: Final[dict[str, tuple[str, ...]]] = {"BH": ("whodas12",)}
END_WINDOW: Final[dict[str, tuple[str, ...]]] = {"BH": ("whodas12", "pgic"), "MSK": ("pgic",)}

# The instruments each track's outcomes are judged on: a check-in of one of them belongs to the
# patient's active enrollment in that track (and pins the instrument version for its care period).
TRACK_INSTRUMENTS: Final[dict[str, frozenset[str]]] = {
    track: frozenset(
        [code for code, _, _ in INTERVALS.get(track, ())]
        + list(START_WINDOW.get(track, ()))
        + list(END_WINDOW.get(track, ()))
    )
    for track in ("eCKM", "CKM", "MSK", "BH")
}


@dataclass(frozen=True, slots=True)
class CarePeriod:
    """An active enrollment as the schedule sees it."""

    enrollment_id: uuid.UUID
    track: str
    conditions: tuple[str, ...]
    start: date
    end: date  # inclusive

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True, slots=True)
class Done:
    """A scorable check-in already stored: which instrument, on which local date."""

    instrument: str
    local_date: date


@dataclass(frozen=True, slots=True)
class Due:
    instrument: str
    due_since: date
    overdue: bool
    reason: str
    enrollment_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class ReportWindow:
    """A reporting window of a care period without a complete report, and the check-in
    instruments its report needs (`report_instruments`)."""

    enrollment_id: uuid.UUID
    type: ReportType
    opens: date
    closes: date  # inclusive
    instruments: tuple[str, ...]


def report_instruments(
    rules: Ruleset, *, period: CarePeriod, report_type: ReportType
) -> tuple[str, ...]:
    """The check-in instruments a report of `report_type` must carry for the period: the
    sources of its check-in measures in the ruleset, in measure order."""
    track = cast("Track", period.track)
    found: list[str] = []
    for rule in rules.measures_for(track):
        if rule.from_checkins and rule.required_in(
            report_type, track=track, conditions=period.conditions
        ):
            found += [part[0] for s in rule.sources if (part := checkin_source(s)) is not None]
    return tuple(dict.fromkeys(found))


def _dates(history: Iterable[Done], instrument: str, first: date, last: date) -> list[date]:
    return sorted(
        d.local_date
        for d in history
        if d.instrument == instrument and first <= d.local_date <= last
    )


def _overdue(today: date, due_since: date) -> bool:
    return (today - due_since).days > GRACE_DAYS


def _interval_due(
    period: CarePeriod, today: date, history: Sequence[Done], code: str, days: int
) -> Due | None:
    done = _dates(history, code, period.start, today)
    due_since = done[-1] + timedelta(days=days) if done else period.start
    if due_since > today:
        return None
    reason = f"{period.track}: every {days} days"
    if not done:
        reason += " (first of the care period)"
    return Due(code, due_since, _overdue(today, due_since), reason, period.enrollment_id)


def _window_due(
    period: CarePeriod,
    today: date,
    history: Sequence[Done],
    code: str,
    window: tuple[date, date],
    what: str,
) -> Due | None:
    first, last = window
    if not first <= today <= last or _dates(history, code, first, today):
        return None
    reason = f"{period.track}: {what} ({first.isoformat()} to {last.isoformat()})"
    return Due(code, first, _overdue(today, first), reason, period.enrollment_id)


def _period_due(period: CarePeriod, today: date, history: Sequence[Done]) -> list[Due]:
    if not period.covers(today):
        return []
    found: list[Due] = []
    for code, days, condition in INTERVALS.get(period.track, ()):
        if condition is None or condition in period.conditions:
            item = _interval_due(period, today, history, code, days)
            if item is not None:
                found.append(item)
    start_last = min(period.start + timedelta(days=WINDOW_DAYS - 1), period.end)
    for code in START_WINDOW.get(period.track, ()):
        item = _window_due(
            period, today, history, code, (period.start, start_last), "start of the care period"
        )
        if item is not None:
            found.append(item)
    end_first = max(period.end - timedelta(days=WINDOW_DAYS - 1), period.start)
    for code in END_WINDOW.get(period.track, ()):
        item = _window_due(
            period, today, history, code, (end_first, period.end), "last 60 days of the care period"
        )
        if item is not None:
            found.append(item)
    return found


def _report_due(
    window: ReportWindow,
    period: CarePeriod,
    today: date,
    history: Sequence[Done],
    validity_days: int,
) -> list[Due]:
    if not window.opens <= today <= window.closes:
        return []
    found: list[Due] = []
    for code in window.instruments:
        done = _dates(history, code, period.start, today)
        due_since = window.opens
        if done:
            due_since = max(due_since, done[-1] + timedelta(days=validity_days))
        if due_since > today:
            continue
        reason = (
            f"{period.track}: the {window.type.replace('_', '-')} report "
            f"({window.opens.isoformat()} to {window.closes.isoformat()}) needs one from the "
            f"last {validity_days} days"
        )
        found.append(Due(code, due_since, _overdue(today, due_since), reason, period.enrollment_id))
    return found


def due_on(
    today: date,
    *,
    periods: Sequence[CarePeriod],
    history: Sequence[Done],
    windows: Sequence[ReportWindow] = (),
    validity_days: int | None = None,
) -> list[Due]:
    """The instruments due on the patient's local date `today`, in catalog order.

    `periods` are the patient's active enrollments; `history` their scorable check-ins (any
    instrument, any date: the rules pick what they need); `windows` the reporting windows of
    those periods without a complete report, and `validity_days` how long a PROM counts for a
    report (the report rule; a window of a period not in `periods` is ignored).
    """
    if windows and validity_days is None:
        raise ValueError("reporting windows need the PROM validity (validity_days)")
    found: dict[str, Due] = {}

    def add(items: Iterable[Due]) -> None:
        for item in items:
            current = found.get(item.instrument)
            if current is None or item.due_since < current.due_since:
                found[item.instrument] = item

    if not any(d.instrument == "daily" and d.local_date == today for d in history):
        found["daily"] = Due("daily", today, False, "everyone: once a day", None)
    for period in sorted(periods, key=lambda p: (p.start, p.track)):
        add(_period_due(period, today, history))
    by_id = {p.enrollment_id: p for p in periods}
    for window in sorted(windows, key=lambda w: (w.opens, w.type)):
        owner = by_id.get(window.enrollment_id)
        if owner is not None and validity_days is not None:
            add(_report_due(window, owner, today, history, validity_days))
    order = {code: i for i, code in enumerate(CATALOG)}
    return sorted(found.values(), key=lambda d: order[d.instrument])


def owning_periods(
    instrument: str, *, day: date, periods: Sequence[CarePeriod]
) -> list[CarePeriod]:
    """The active enrollments a check-in of `instrument` on `day` belongs to, first started first.

    Those whose track uses the instrument and whose care period covers the day: usually one,
    two for PGIC with MSK and BH (the check-in is stored against the first; the version rule
    applies to both).
    """
    matching = [
        p for p in periods if instrument in TRACK_INSTRUMENTS.get(p.track, ()) and p.covers(day)
    ]
    return sorted(matching, key=lambda p: (p.start, p.track))
