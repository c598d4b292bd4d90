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

Overdue rule: a scheduled instrument is overdue once more than `GRACE_DAYS` (3) full days have
passed since it became due (due on the 1st -> overdue on the 5th), giving a patient a long weekend
before the care team is nudged. `daily` is due today only and never overdue: a missed day is not
carried over, the next day brings a new one.

When several enrollments schedule the same instrument (PGIC with MSK and BH), it is listed once,
with the earliest `due_since`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from app.checkins.instruments import CATALOG

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


def due_on(today: date, *, periods: Sequence[CarePeriod], history: Sequence[Done]) -> list[Due]:
    """The instruments due on the patient's local date `today`, in catalog order.

    `periods` are the patient's active enrollments; `history` their scorable check-ins (any
    instrument, any date: the rules pick what they need).
    """
    found: dict[str, Due] = {}
    if not any(d.instrument == "daily" and d.local_date == today for d in history):
        found["daily"] = Due("daily", today, False, "everyone: once a day", None)
    for period in sorted(periods, key=lambda p: (p.start, p.track)):
        for item in _period_due(period, today, history):
            current = found.get(item.instrument)
            if current is None or item.due_since < current.due_since:
                found[item.instrument] = item
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
