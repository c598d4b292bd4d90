"""The due-list rules (app/checkins/schedule.py), table-driven over plain data."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from app.checkins.schedule import (
    GRACE_DAYS,
    TRACK_INSTRUMENTS,
    CarePeriod,
    Done,
    Due,
    due_on,
    owning_periods,
)
from app.outcomes.rules import load_ruleset

START = date(2026, 7, 5)
care_period_end = load_ruleset().calendar.end
END = care_period_end(START)  # 2027-07-04
MSK_ID = uuid.UUID(int=1)
BH_ID = uuid.UUID(int=2)


def msk(start: date = START) -> CarePeriod:
    return CarePeriod(MSK_ID, "MSK", ("chronic_msk_pain",), start, care_period_end(start))


def bh(*conditions: str, start: date = START) -> CarePeriod:
    return CarePeriod(BH_ID, "BH", conditions, start, care_period_end(start))


def day(n: int) -> date:
    """Day n of the care period (day 0 = START)."""
    return START + timedelta(days=n)


def done(*entries: tuple[str, int]) -> list[Done]:
    return [Done(code, day(n)) for code, n in entries]


def on(when: date, *instruments: str) -> list[Done]:
    return [Done(code, when) for code in instruments]


def codes(items: list[Due]) -> list[str]:
    return [item.instrument for item in items]


@pytest.mark.parametrize(
    ("periods", "today", "history", "expected"),
    [
        # Not enrolled: the daily check-in only.
        ([], day(3), [], ["daily"]),
        # Day 0 of each track.
        ([msk()], day(0), [], ["promis_pi_6a", "promis_pf_6b", "pain_nrs", "daily"]),
        ([bh("depression")], day(0), [], ["phq9", "whodas12", "daily"]),
        ([bh("anxiety")], day(0), [], ["gad7", "whodas12", "daily"]),
        ([bh("depression", "anxiety")], day(0), [], ["phq9", "gad7", "whodas12", "daily"]),
        # Both tracks: the union.
        (
            [msk(), bh("depression")],
            day(0),
            [],
            ["phq9", "promis_pi_6a", "promis_pf_6b", "pain_nrs", "whodas12", "daily"],
        ),
        # Daily done today: gone; done yesterday: due again.
        ([], day(3), done(("daily", 3)), []),
        ([], day(3), done(("daily", 2)), ["daily"]),
        # Pain NRS weekly: done day 0 -> not due days 1..6, due again day 7.
        (
            [msk()],
            day(6),
            done(("pain_nrs", 0), ("promis_pi_6a", 0), ("promis_pf_6b", 0)),
            ["daily"],
        ),
        (
            [msk()],
            day(7),
            done(("pain_nrs", 0), ("promis_pi_6a", 0), ("promis_pf_6b", 0)),
            ["pain_nrs", "daily"],
        ),
        # PROMIS every 30 days (counted from the last one, not from the start).
        (
            [msk()],
            day(35),
            done(("pain_nrs", 35), ("promis_pi_6a", 10), ("promis_pf_6b", 5), ("daily", 35)),
            ["promis_pf_6b"],
        ),
        # PHQ-9 / GAD-7 every 14 days.
        ([bh("depression")], day(13), done(("phq9", 0), ("whodas12", 0), ("daily", 13)), []),
        (
            [bh("depression")],
            day(14),
            done(("phq9", 0), ("whodas12", 0), ("daily", 14)),
            ["phq9"],
        ),
        # WHODAS: first 60 days until done once; not after day 59 if missed; again in the
        # last 60 days; PGIC only in the last 60 days.
        ([bh("anxiety")], day(59), done(("gad7", 50), ("daily", 59)), ["whodas12"]),
        ([bh("anxiety")], day(60), done(("gad7", 50), ("daily", 60)), []),
        ([bh("anxiety")], day(20), done(("gad7", 10), ("whodas12", 1), ("daily", 20)), []),
        (
            [bh("anxiety")],
            END - timedelta(days=59),
            [*on(END - timedelta(days=59), "gad7", "daily"), *done(("whodas12", 1))],
            ["whodas12", "pgic"],
        ),
        (
            [bh("anxiety")],
            END - timedelta(days=60),
            [*on(END - timedelta(days=60), "gad7", "daily"), *done(("whodas12", 1))],
            [],
        ),
        (
            [msk()],
            END,
            [Done(code, END) for code in ("pain_nrs", "promis_pi_6a", "promis_pf_6b", "daily")],
            ["pgic"],
        ),
        # PGIC done once in the window: not again.
        (
            [msk()],
            END,
            [Done(c, END) for c in ("pain_nrs", "promis_pi_6a", "promis_pf_6b", "daily")]
            + [Done("pgic", END - timedelta(days=30))],
            [],
        ),
        # Outside the care period: nothing from the enrollment.
        ([msk()], START - timedelta(days=1), [], ["daily"]),
        ([msk()], END + timedelta(days=1), [], ["daily"]),
        # A check-in before the care period does not count: a new period needs a baseline.
        (
            [msk()],
            day(2),
            [Done("pain_nrs", START - timedelta(days=1)), Done("daily", day(2))],
            ["promis_pi_6a", "promis_pf_6b", "pain_nrs"],
        ),
    ],
)
def test_due_on(
    periods: list[CarePeriod], today: date, history: list[Done], expected: list[str]
) -> None:
    assert sorted(codes(due_on(today, periods=periods, history=history))) == sorted(expected)


def test_catalog_order() -> None:
    items = due_on(day(0), periods=[msk(), bh("depression", "anxiety")], history=[])
    assert codes(items) == [
        "phq9",
        "gad7",
        "promis_pi_6a",
        "promis_pf_6b",
        "pain_nrs",
        "whodas12",
        "daily",
    ]


@pytest.mark.parametrize(
    ("last_done", "today", "due_since", "overdue"),
    [
        (None, 0, 0, False),
        (None, GRACE_DAYS, 0, False),
        (None, GRACE_DAYS + 1, 0, True),
        (0, 7, 7, False),
        (0, 7 + GRACE_DAYS, 7, False),
        (0, 8 + GRACE_DAYS, 7, True),
        (3, 40, 10, True),  # missed weeks: due since the first missed one
    ],
)
def test_interval_due_since_and_overdue(
    last_done: int | None, today: int, due_since: int, overdue: bool
) -> None:
    history = [] if last_done is None else done(("pain_nrs", last_done))
    item = next(
        i
        for i in due_on(day(today), periods=[msk()], history=history)
        if i.instrument == "pain_nrs"
    )
    assert (item.due_since, item.overdue) == (day(due_since), overdue)
    assert item.enrollment_id == MSK_ID
    assert item.reason.startswith("MSK: every 7 days")


@pytest.mark.parametrize(
    ("today", "instrument", "due_since", "overdue"),
    [
        (day(0), "whodas12", day(0), False),
        (day(10), "whodas12", day(0), True),
        (END - timedelta(days=59), "pgic", END - timedelta(days=59), False),
        (END - timedelta(days=55), "pgic", END - timedelta(days=59), True),
    ],
)
def test_window_due_since_and_overdue(
    today: date, instrument: str, due_since: date, overdue: bool
) -> None:
    item = next(
        i for i in due_on(today, periods=[bh("anxiety")], history=[]) if i.instrument == instrument
    )
    assert (item.due_since, item.overdue) == (due_since, overdue)
    assert "BH:" in item.reason


def test_daily_is_never_overdue() -> None:
    (item,) = due_on(day(100), periods=[], history=[])
    assert (item.instrument, item.due_since, item.overdue, item.enrollment_id) == (
        "daily",
        day(100),
        False,
        None,
    )


def test_pgic_from_two_tracks_is_listed_once_with_the_earliest_due_date() -> None:
    later_start = START + timedelta(days=20)
    periods = [msk(), bh("depression", start=later_start)]
    today = care_period_end(later_start) - timedelta(days=5)
    (pgic,) = [i for i in due_on(today, periods=periods, history=[]) if i.instrument == "pgic"]
    # MSK's care period is over (END < today): from BH only.
    assert (pgic.enrollment_id, pgic.due_since) == (
        BH_ID,
        care_period_end(later_start) - timedelta(days=59),
    )
    # Both windows open: listed once, from the one due first.
    today = END - timedelta(days=1)
    (pgic,) = [i for i in due_on(today, periods=periods, history=[]) if i.instrument == "pgic"]
    assert (pgic.enrollment_id, pgic.due_since) == (MSK_ID, END - timedelta(days=59))


def test_unscored_or_foreign_history_does_not_count() -> None:
    # A GAD-7 done does not satisfy the PHQ-9.
    items = due_on(day(14), periods=[bh("depression")], history=done(("gad7", 14)))
    assert "phq9" in codes(items)


@pytest.mark.parametrize(
    ("instrument", "periods", "expected"),
    [
        ("phq9", [bh("depression")], [BH_ID]),
        ("phq9", [msk()], []),
        ("daily", [msk(), bh("anxiety")], []),
        ("pain_nrs", [msk(), bh("anxiety")], [MSK_ID]),
        ("pgic", [bh("anxiety", start=START + timedelta(days=1)), msk()], [MSK_ID, BH_ID]),
        ("pain_nrs", [msk(start=day(10))], []),  # before its care period starts
    ],
)
def test_owning_periods(
    instrument: str, periods: list[CarePeriod], expected: list[uuid.UUID]
) -> None:
    owners = owning_periods(instrument, day=day(5), periods=periods)
    assert [p.enrollment_id for p in owners] == expected


def test_track_instruments() -> None:
    assert TRACK_INSTRUMENTS["MSK"] == {"pain_nrs", "promis_pi_6a", "promis_pf_6b", "pgic"}
    assert TRACK_INSTRUMENTS["BH"] == {"phq9", "gad7", "whodas12", "pgic"}
    assert TRACK_INSTRUMENTS["eCKM"] == TRACK_INSTRUMENTS["CKM"] == frozenset()
