"""The alerts the date opens: `no_data` and `report_due`, from care periods' standings; pure.

docs/rules.md "Alert episodes", this product's policy (numbers: the ruleset's `[alerts]`):

- `no_data` (warning), per track: an active care period of the track (started, not ended,
  not disenrolled, attainment not decided) has had no reading or check-in that its applicable
  target measures use (labs aside: they are valid for a year) for more than `no_data_days`
  days; counted from the latest such observation's local day, or from the day before the
  period started, or from the day a clinician last resolved such an alert, whichever is
  latest. It opens at the patient's local midnight that begins day N + 1 of the silence.
- `report_due` (warning), per reporting window: open, no complete report in it, and closing
  within `report_due_days` days (that day included); at most once per window.

Invariants: no I/O and no clock (each standing carries its own `today`); `wanted` and
`next_change` read the same inputs, so the stored standing's `due_at` covers every moment at
which an alert opens or ends by the date alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from app.outcomes.rules import Ruleset
from app.outcomes.standing import Standing
from app.outcomes.values import Sources

NO_DATA: Final = "no_data"
REPORT_DUE: Final = "report_due"
SOURCE_TYPE: Final = "enrollment"


@dataclass(frozen=True, slots=True)
class Period:
    """A care period as these rules read it."""

    enrollment_id: uuid.UUID
    standing: Standing
    sources: Sources


@dataclass(frozen=True, slots=True)
class Wanted:
    """An alert that should be going on."""

    condition: str
    kind: str
    source_id: uuid.UUID  # the enrollment
    first_at: datetime
    details: dict[str, Any] = field(default_factory=dict)


def no_data_condition(track: str) -> str:
    return f"{NO_DATA}:{track}"


def report_due_condition(enrollment_id: uuid.UUID, report_type: str, opens: date) -> str:
    return f"{REPORT_DUE}:{enrollment_id}:{report_type}:{opens.isoformat()}"


def midnight(day: date, zone: str) -> datetime:
    """The instant the local day `day` begins in `zone`, in UTC."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _live(standing: Standing) -> bool:
    return standing.status != "disenrolled" and standing.attained is None


def _quiet_since(period: Period, *, rules: Ruleset, resolved_on: Mapping[str, date]) -> date | None:
    """The day the period's silence counts from (its last day with data, or the day before it
    started, or the last resolution), None when the period needs no data now."""
    standing = period.standing
    start = standing.period.start
    if not _live(standing) or standing.status != "active" or standing.today < start:
        return None
    names = {
        source
        for m in standing.measures
        if m.applicable and m.rule.kind == "target" and not m.rule.from_labs
        for source in m.rule.sources
    }
    if not names:
        return None
    days = [p.day for name in names for p in period.sources.get(name, ())]
    since = max([start - timedelta(days=1), *days])
    resolved = resolved_on.get(no_data_condition(standing.period.track))
    return max(since, resolved) if resolved else since


def wanted(
    periods: Sequence[Period],
    *,
    rules: Ruleset,
    zone: str,
    resolved_on: Mapping[str, date],
) -> list[Wanted]:
    """The `no_data` and `report_due` alerts a patient's periods call for on their today.

    `resolved_on`: per condition, the local day a clinician last resolved its alert."""
    found: dict[str, Wanted] = {}
    for period in periods:
        standing = period.standing
        track = standing.period.track
        since = _quiet_since(period, rules=rules, resolved_on=resolved_on)
        limit = rules.alerts.no_data_days[track]
        if since is not None and (standing.today - since).days > limit:
            condition = no_data_condition(track)
            if condition not in found:
                found[condition] = Wanted(
                    condition,
                    NO_DATA,
                    period.enrollment_id,
                    midnight(since + timedelta(days=limit + 1), zone),
                    {
                        "track": track,
                        "days": limit,
                        "last_data_on": None
                        if since < standing.period.start
                        else since.isoformat(),
                    },
                )
        if not _live(standing):
            continue
        for needs in standing.windows:
            window = needs.state.window
            left = (window.closes - standing.today).days
            if needs.state.status in ("open", "due_soon") and left <= rules.alerts.report_due_days:
                condition = report_due_condition(period.enrollment_id, window.type, window.opens)
                begins = max(window.opens, window.closes - timedelta(rules.alerts.report_due_days))
                found[condition] = Wanted(
                    condition,
                    REPORT_DUE,
                    period.enrollment_id,
                    midnight(begins, zone),
                    {
                        "track": track,
                        "report_type": window.type,
                        "opens": window.opens.isoformat(),
                        "closes": window.closes.isoformat(),
                        "enrollment_id": str(period.enrollment_id),
                    },
                )
    return list(found.values())


def next_change(periods: Sequence[Period], *, rules: Ruleset) -> date | None:
    """The next local day after today on which the date alone may open or end one of these
    alerts (a silence reaching its limit, a window entering its last days or closing)."""
    days: list[date] = []
    for period in periods:
        standing = period.standing
        today = standing.today
        track = standing.period.track
        since = _quiet_since(period, rules=rules, resolved_on={})
        candidates: list[date] = []
        if since is not None:
            candidates.append(since + timedelta(days=rules.alerts.no_data_days[track] + 1))
        elif _live(standing) and standing.status == "active" and today < standing.period.start:
            candidates.append(standing.period.start)
        if _live(standing):
            for needs in standing.windows:
                window = needs.state.window
                if needs.state.status in ("open", "due_soon", "upcoming"):
                    candidates.append(window.closes - timedelta(rules.alerts.report_due_days))
                    candidates.append(window.closes + timedelta(days=1))
        days.extend(d for d in candidates if d > today)
    return min(days) if days else None
