"""Which care-coordination updates a care period needs and when, against docs/rules.md
"Care-coordination updates" and the ruleset's `[care_updates]`: initiation and escalation within
10 days, completion within 30. Expected days are written out here, not recomputed by the code.
Day 1 is 2026-07-05 (New York); the period's last day, day 365, is 2027-07-04.
"""

from __future__ import annotations

import tomllib
import uuid
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from app.care_updates import due
from app.outcomes.rules import DEFAULT_RULESET, Ruleset, load_ruleset

RULES = load_ruleset()
NEW_YORK = "America/New_York"
NY = ZoneInfo(NEW_YORK)
PERIOD = uuid.UUID("00000000-0000-4000-8000-0000000000e1")
ALERT = uuid.UUID("00000000-0000-4000-8000-0000000000a1")


def period(
    *, ended_at: datetime | None = None, referred: bool = True, start: date = date(2026, 7, 5)
) -> due.Period:
    return due.Period(PERIOD, "eCKM", start, date(2027, 7, 4), ended_at, referred)


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NY)


def wanted(p: due.Period, *escalations: datetime) -> list[tuple[str, date, date]]:
    found = due.wanted(
        [p],
        [due.Escalation(ALERT, moment) for moment in escalations],
        zone=NEW_YORK,
        rules=RULES,
    )
    return [(w.kind, w.timing.event_on, w.timing.due) for w in found]


def test_the_ruleset_numbers_are_the_documented_ones() -> None:
    # docs/rules.md "Care-coordination updates".
    c = RULES.care_updates
    assert (c.initiation_days, c.escalation_days, c.completion_days) == (10, 10, 30)


def _ruleset_with(**numbers: Any) -> dict[str, Any]:
    data = tomllib.loads(DEFAULT_RULESET.read_text())
    data["care_updates"] = {**data["care_updates"], **numbers}
    return data


@pytest.mark.parametrize(
    ("numbers", "message"),
    [
        ({"initiation_days": 0}, "greater than or equal to 1"),
        ({"escalation_days": -3}, "greater than or equal to 1"),
        ({"completion_days": 0}, "greater than or equal to 1"),
        ({"completion_days": "thirty"}, "valid integer"),
        ({"weekly_days": 7}, "Extra inputs are not permitted"),
    ],
)
def test_the_ruleset_refuses_numbers_it_cannot_keep(numbers: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Ruleset.model_validate(_ruleset_with(**numbers))


def test_a_ruleset_without_the_section_is_refused() -> None:
    data = tomllib.loads(DEFAULT_RULESET.read_text())
    del data["care_updates"]
    with pytest.raises(ValidationError, match="care_updates"):
        Ruleset.model_validate(data)


@pytest.mark.parametrize(
    ("kind", "event_on", "due_on"),
    [
        ("initiation", date(2026, 7, 5), date(2026, 7, 15)),
        ("escalation", date(2026, 8, 2), date(2026, 8, 12)),
        ("escalation", date(2026, 12, 28), date(2027, 1, 7)),  # across a year
        ("completion", date(2027, 7, 5), date(2027, 8, 4)),
        ("completion", date(2027, 2, 10), date(2027, 3, 12)),  # February has 28 days
    ],
)
def test_due_days_per_kind(kind: due.Kind, event_on: date, due_on: date) -> None:
    timing = due.timing(kind, event_at=at(event_on), zone=NEW_YORK, rules=RULES)
    assert (timing.event_on, timing.due) == (event_on, due_on)


def test_a_referred_period_needs_initiation_and_completion() -> None:
    assert wanted(period()) == [
        ("initiation", date(2026, 7, 5), date(2026, 7, 15)),
        ("completion", date(2027, 7, 5), date(2027, 8, 4)),  # day 366, the day after the last
    ]


def test_a_period_without_a_referring_clinician_needs_none() -> None:
    assert wanted(period(referred=False), at(date(2026, 8, 2))) == []


def test_each_urgent_episode_in_the_period_needs_an_escalation_by_its_local_day() -> None:
    # 23:30 in New York on 1 August is 03:30 UTC on 2 August: the patient's day counts.
    late_evening = at(date(2026, 8, 1), 23, 30)
    assert late_evening.astimezone(UTC).date() == date(2026, 8, 2)
    assert wanted(period(), late_evening, at(date(2026, 9, 3))) == [
        ("initiation", date(2026, 7, 5), date(2026, 7, 15)),
        ("escalation", date(2026, 8, 1), date(2026, 8, 11)),
        ("escalation", date(2026, 9, 3), date(2026, 9, 13)),
        ("completion", date(2027, 7, 5), date(2027, 8, 4)),
    ]


@pytest.mark.parametrize(
    ("moment", "in_period"),
    [
        (at(date(2026, 7, 4), 23, 59), False),  # the evening before day 1
        (at(date(2026, 7, 5), 0, 0), True),  # day 1 begins
        (at(date(2027, 7, 4), 23, 59), True),  # day 365
        (at(date(2027, 7, 5), 0, 0), False),  # day 366: completed
    ],
)
def test_an_episode_counts_while_the_period_runs(moment: datetime, in_period: bool) -> None:
    kinds = [kind for kind, _, _ in wanted(period(), moment)]
    assert ("escalation" in kinds) is in_period


def test_disenrolling_moves_completion_to_that_day_and_ends_escalations() -> None:
    ended = at(date(2026, 10, 20), 15)
    before, after = at(date(2026, 10, 20), 14), at(date(2026, 10, 20), 16)
    assert wanted(period(ended_at=ended), before, after) == [
        ("initiation", date(2026, 7, 5), date(2026, 7, 15)),
        ("escalation", date(2026, 10, 20), date(2026, 10, 30)),  # before it ended, not after
        ("completion", date(2026, 10, 20), date(2026, 11, 19)),
    ]


def test_a_period_ended_before_it_began_needs_none() -> None:
    assert wanted(period(start=date(2026, 8, 1), ended_at=at(date(2026, 7, 20)))) == []


def test_the_instants_are_the_patients_midnights_across_daylight_saving() -> None:
    # Due 2026-11-09: due_soon from 26 October (14 days before, EDT), overdue from 10 November
    # (EST).
    timing = due.timing("escalation", event_at=at(date(2026, 10, 30)), zone=NEW_YORK, rules=RULES)
    assert timing.due == date(2026, 11, 9)
    assert timing.opens_at == datetime(2026, 10, 30, 4, tzinfo=UTC)
    assert timing.due_soon_at == datetime(2026, 10, 26, 4, tzinfo=UTC)
    assert timing.overdue_at == datetime(2026, 11, 10, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "status", "listed"),
    [
        (at(date(2026, 10, 29), 23, 59), "upcoming", "upcoming"),
        (at(date(2026, 10, 30), 0, 0), "due", "due_soon"),  # 10 days: within the 14
        (at(date(2026, 11, 9), 23, 59), "due", "due_soon"),  # the due day, to its end
        (at(date(2026, 11, 10), 0, 0), "overdue", "missed"),
    ],
)
def test_status_follows_the_clock(now: datetime, status: str, listed: str) -> None:
    t = due.timing("escalation", event_at=at(date(2026, 10, 30)), zone=NEW_YORK, rules=RULES)
    assert due.status(now=now, opens_at=t.opens_at, overdue_at=t.overdue_at, sent_at=None) == (
        status
    )
    assert (
        due.worklist_status(
            now=now, opens_at=t.opens_at, due_soon_at=t.due_soon_at, overdue_at=t.overdue_at
        )
        == listed
    )
    sent = due.status(now=now, opens_at=t.opens_at, overdue_at=t.overdue_at, sent_at=now)
    assert sent == "sent"


@pytest.mark.parametrize(
    ("today", "listed"),
    [
        (date(2027, 7, 5), "open"),  # completion due 2027-08-04: 30 days out
        (date(2027, 7, 20), "open"),  # 15 days before
        (date(2027, 7, 21), "due_soon"),  # 14 days before, that day included
        (date(2027, 8, 4), "due_soon"),
        (date(2027, 8, 5), "missed"),
    ],
)
def test_a_completion_update_is_open_then_due_soon_then_missed(today: date, listed: str) -> None:
    t = due.timing("completion", event_at=at(date(2027, 7, 5), 0), zone=NEW_YORK, rules=RULES)
    now = at(today, 12)
    found = due.worklist_status(
        now=now, opens_at=t.opens_at, due_soon_at=t.due_soon_at, overdue_at=t.overdue_at
    )
    assert found == listed
