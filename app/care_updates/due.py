"""Which care-coordination updates a care period needs, and when each is due; pure.

docs/rules.md "Care-coordination updates" (numbers: the ruleset's `[care_updates]`):

- a care period with a referring clinician needs an `initiation` update when it starts (its
  local start day), a `completion` update when it ends (day 366, the day after its last, or the
  day it was disenrolled or switched to CKM), and an `escalation` update for every urgent alert
  episode that began while it ran (one per episode and period);
- each is due `*_days` after the local day of its event; a period without a referring
  clinician needs none (there is no one to send them to), nor one that ended before it began;
- an update's status follows from the instants its local days begin: `upcoming` before the day
  of its event, `due` until its due day is over, then `overdue`; `sent` once staff say so. In the
  worklist the same instants give `open`, `due_soon` (within the calendar's `due_soon_days` of
  the due day, that day included, as a reporting window) and `missed`; unlike a closed
  window, a missed update can still be sent, so it stays `missed` until it is.

Invariants: no I/O and no clock (`now` is passed in); the instants are the starts of the
patient's local days in their zone (`app.alerts.standing.midnight`), so a status judged on an
instant is the status judged on the patient's local day.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final, Literal

from app.alerts.standing import midnight
from app.clock import local_date
from app.outcomes.rules import Ruleset

Kind = Literal["initiation", "escalation", "completion"]
KINDS: Final[tuple[Kind, ...]] = ("initiation", "escalation", "completion")
UpdateStatus = Literal["upcoming", "due", "overdue", "sent"]
WorklistStatus = Literal["upcoming", "open", "due_soon", "missed"]


@dataclass(frozen=True, slots=True)
class Period:
    """A care period as these rules read it."""

    enrollment_id: uuid.UUID
    track: str
    start: date
    end: date  # its last day (day 365)
    ended_at: datetime | None  # disenrolled (or switched to CKM) at
    referred: bool  # it has a referring clinician


@dataclass(frozen=True, slots=True)
class Escalation:
    """An urgent alert episode of the patient."""

    alert_id: uuid.UUID
    first_at: datetime


@dataclass(frozen=True, slots=True)
class Timing:
    """When an update is needed and due, as local days and as the instants they begin."""

    event_on: date
    due: date
    timezone: str
    opens_at: datetime
    due_soon_at: datetime
    overdue_at: datetime


@dataclass(frozen=True, slots=True)
class Wanted:
    """An update a care period needs."""

    enrollment_id: uuid.UUID
    track: str
    kind: Kind
    alert_id: uuid.UUID | None
    event_at: datetime
    timing: Timing

    @property
    def key(self) -> tuple[uuid.UUID, str, uuid.UUID | None]:
        return (self.enrollment_id, self.kind, self.alert_id)


def due_days(kind: Kind, *, rules: Ruleset) -> int:
    c = rules.care_updates
    return {
        "initiation": c.initiation_days,
        "escalation": c.escalation_days,
        "completion": c.completion_days,
    }[kind]


def timing(kind: Kind, *, event_at: datetime, zone: str, rules: Ruleset) -> Timing:
    """The local days of an update whose event happened at `event_at`, and their instants."""
    event_on = local_date(event_at, zone=zone)
    due = event_on + timedelta(days=due_days(kind, rules=rules))
    return Timing(
        event_on=event_on,
        due=due,
        timezone=zone,
        opens_at=midnight(event_on, zone),
        due_soon_at=midnight(due - timedelta(days=rules.calendar.due_soon_days), zone),
        overdue_at=midnight(due + timedelta(days=1), zone),
    )


def span(period: Period, zone: str) -> tuple[datetime, datetime]:
    """The instants the period begins (its first local day) and ends (after its last day, or
    when it was ended earlier)."""
    begins = midnight(period.start, zone)
    ends = midnight(period.end + timedelta(days=1), zone)
    if period.ended_at is not None:
        ends = min(ends, period.ended_at)
    return begins, ends


def wanted(
    periods: Iterable[Period], escalations: Sequence[Escalation], *, zone: str, rules: Ruleset
) -> list[Wanted]:
    """Every update the patient's care periods need (a patient's periods, their urgent alert
    episodes, the patient's zone)."""
    found: list[Wanted] = []

    def add(period: Period, kind: Kind, at: datetime, alert_id: uuid.UUID | None = None) -> None:
        found.append(
            Wanted(
                period.enrollment_id,
                period.track,
                kind,
                alert_id,
                at,
                timing(kind, event_at=at, zone=zone, rules=rules),
            )
        )

    for period in periods:
        begins, ends = span(period, zone)
        if not period.referred or ends <= begins:
            continue
        add(period, "initiation", begins)
        for episode in escalations:
            if begins <= episode.first_at < ends:
                add(period, "escalation", episode.first_at, episode.alert_id)
        add(period, "completion", ends)
    return found


def status(
    *, now: datetime, opens_at: datetime, overdue_at: datetime, sent_at: datetime | None
) -> UpdateStatus:
    """An update's status at `now`."""
    if sent_at is not None:
        return "sent"
    if now < opens_at:
        return "upcoming"
    return "overdue" if now >= overdue_at else "due"


def worklist_status(
    *, now: datetime, opens_at: datetime, due_soon_at: datetime, overdue_at: datetime
) -> WorklistStatus:
    """An update not sent as the reporting worklist shows it at `now` (the statuses of a
    reporting window: docs/api.md "Care-coordination updates")."""
    if now < opens_at:
        return "upcoming"
    if now >= overdue_at:
        return "missed"
    return "due_soon" if now >= due_soon_at else "open"
