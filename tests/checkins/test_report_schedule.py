"""The report rule of the due list (app/checkins/schedule.py): while a reporting window is open
without a complete report, each check-in its report needs is due once the latest one is older
than the PROM validity. Table-driven over plain data; the numbers come from the ruleset."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from app.checkins.schedule import (
    GRACE_DAYS,
    CarePeriod,
    Done,
    Due,
    ReportWindow,
    due_on,
    report_instruments,
)
from app.outcomes.rules import ReportType, load_ruleset

RULES = load_ruleset()
VALIDITY = RULES.windows.observation_days  # 15
START = date(2026, 7, 5)
END = RULES.calendar.end(START)
MSK_ID = uuid.UUID(int=1)
BH_ID = uuid.UUID(int=2)


def cp(n: int) -> date:
    """Care-period day n (day 1 = START), as the reporting calendar counts."""
    return RULES.calendar.date_of(START, n)


def msk(start: date = START) -> CarePeriod:
    return CarePeriod(MSK_ID, "MSK", ("chronic_msk_pain",), start, RULES.calendar.end(start))


def bh(*conditions: str, start: date = START) -> CarePeriod:
    return CarePeriod(BH_ID, "BH", conditions, start, RULES.calendar.end(start))


def window(period: CarePeriod, report_type: ReportType, opens: date, closes: date) -> ReportWindow:
    instruments = report_instruments(RULES, period=period, report_type=report_type)
    return ReportWindow(period.enrollment_id, report_type, opens, closes, instruments)


def baseline(period: CarePeriod) -> ReportWindow:
    return window(period, "baseline", period.start, RULES.windows.baseline_last(period.start))


def quarterly(period: CarePeriod, opens_day: int, closes_day: int) -> ReportWindow:
    return window(period, "quarterly", cp(opens_day), cp(closes_day))


def end_of_period(period: CarePeriod) -> ReportWindow:
    c = RULES.calendar
    return window(
        period,
        "end_of_period",
        c.date_of(period.start, c.early_success_day[period.track]),  # type: ignore[index]
        c.date_of(period.start, c.end_of_period_closes_day),
    )


def done(*entries: tuple[str, int]) -> list[Done]:
    """Check-ins on care-period days."""
    return [Done(code, cp(n)) for code, n in entries]


def due(
    today: date, periods: list[CarePeriod], history: list[Done], *windows: ReportWindow
) -> list[Due]:
    return due_on(today, periods=periods, history=history, windows=windows, validity_days=VALIDITY)


def report_items(items: list[Due]) -> dict[str, date]:
    """The items due because of a report, with their due_since."""
    return {i.instrument: i.due_since for i in items if "report" in i.reason}


# The rest of the schedule kept up to date on day n, so only the report rule speaks.
def kept(track: str, n: int) -> list[Done]:
    codes = {"MSK": ("pain_nrs", "promis_pi_6a", "promis_pf_6b"), "BH": ("phq9", "gad7")}[track]
    return done(*((c, n) for c in (*codes, "daily")))


@pytest.mark.parametrize(
    ("report_type", "period", "expected"),
    [
        ("baseline", msk(), ("pain_nrs", "promis_pi_6a", "promis_pf_6b")),
        ("quarterly", msk(), ("pain_nrs", "promis_pi_6a", "promis_pf_6b")),
        ("end_of_period", msk(), ("pain_nrs", "promis_pi_6a", "promis_pf_6b", "pgic")),
        ("baseline", bh("depression"), ("phq9", "whodas12")),
        ("quarterly", bh("anxiety"), ("gad7",)),  # WHODAS: baseline and end of period only
        ("quarterly", bh("depression", "anxiety"), ("phq9", "gad7")),
        ("end_of_period", bh("depression", "anxiety"), ("phq9", "gad7", "whodas12", "pgic")),
        ("baseline", CarePeriod(MSK_ID, "eCKM", ("hypertension",), START, END), ()),
    ],
)
def test_report_instruments(
    report_type: ReportType, period: CarePeriod, expected: tuple[str, ...]
) -> None:
    assert report_instruments(RULES, period=period, report_type=report_type) == expected


@pytest.mark.parametrize(
    ("case", "periods", "windows", "today", "history", "expected"),
    [
        (
            "BH baseline: WHODAS on day 2 has aged out by day 40",
            [bh("anxiety")],
            [baseline(bh("anxiety"))],
            cp(40),
            [*done(("whodas12", 2)), *kept("BH", 40)],
            {"whodas12": cp(2 + VALIDITY)},
        ),
        (
            "BH baseline: WHODAS on day 35 still counts on day 40",
            [bh("anxiety")],
            [baseline(bh("anxiety"))],
            cp(40),
            [*done(("whodas12", 35)), *kept("BH", 40)],
            {},
        ),
        (
            "the last day it counts, then the first it does not",
            [bh("anxiety")],
            [baseline(bh("anxiety"))],
            cp(2 + VALIDITY - 1),
            [*done(("whodas12", 2)), *kept("BH", 2 + VALIDITY - 1)],
            {},
        ),
        (
            "aged out on the day after",
            [bh("anxiety")],
            [baseline(bh("anxiety"))],
            cp(2 + VALIDITY),
            [*done(("whodas12", 2)), *kept("BH", 2 + VALIDITY)],
            {"whodas12": cp(2 + VALIDITY)},
        ),
        (
            "a window reported complete is not passed: nothing more",
            [bh("anxiety")],
            [],
            cp(40),
            [*done(("whodas12", 2)), *kept("BH", 40)],
            {},
        ),
        (
            "the baseline window has closed (day 61)",
            [bh("anxiety")],
            [baseline(bh("anxiety"))],
            cp(61),
            [*done(("whodas12", 2)), *kept("BH", 61)],
            {},
        ),
        (
            "MSK: PROMIS done 20 days ago in an open quarterly window (interval not yet due)",
            [msk()],
            [quarterly(msk(), 130, 170)],
            cp(140),
            done(("promis_pi_6a", 120), ("promis_pf_6b", 120), ("pain_nrs", 140), ("daily", 140)),
            {"promis_pi_6a": cp(120 + VALIDITY), "promis_pf_6b": cp(120 + VALIDITY)},
        ),
        (
            "due since the window opened when the last one aged out before it",
            [msk()],
            [quarterly(msk(), 130, 170)],
            cp(131),
            done(("promis_pi_6a", 110), ("promis_pf_6b", 125), ("pain_nrs", 131), ("daily", 131)),
            {"promis_pi_6a": cp(130)},
        ),
        (
            "nothing done yet in the period: due since the window opened",
            [bh("depression")],
            [baseline(bh("depression"))],
            cp(1),
            [],
            {},  # the start window and the interval ask first (a tie keeps their reason)
        ),
        (
            "PGIC only in the end-of-period window: not in a quarterly one",
            [msk()],
            [quarterly(msk(), 130, 170)],
            cp(140),
            kept("MSK", 140),
            {},
        ),
        (
            "PGIC in the end-of-period window (MSK: from day 185)",
            [msk()],
            [end_of_period(msk())],
            cp(200),
            kept("MSK", 200),
            {"pgic": cp(185)},
        ),
        (
            "the end-of-period window outlasts the care period (day 400)",
            [bh("anxiety")],
            [end_of_period(bh("anxiety"))],
            cp(400),
            [*done(("whodas12", 380), ("pgic", 390), ("gad7", 390), ("daily", 400))],
            {"whodas12": cp(380 + VALIDITY)},
        ),
        (
            "a window of a care period not in `periods` is ignored",
            [bh("anxiety")],
            [baseline(msk())],
            cp(40),
            kept("BH", 40) + done(("whodas12", 35)),
            {},
        ),
    ],
)
def test_report_rule(
    case: str,
    periods: list[CarePeriod],
    windows: list[ReportWindow],
    today: date,
    history: list[Done],
    expected: dict[str, date],
) -> None:
    assert report_items(due(today, periods, history, *windows)) == expected, case


@pytest.mark.parametrize(("today", "overdue"), [(17 + GRACE_DAYS, False), (18 + GRACE_DAYS, True)])
def test_report_item_overdue_after_the_grace(today: int, overdue: bool) -> None:
    history = [*done(("whodas12", 2)), *kept("BH", today)]
    items = due(cp(today), [bh("anxiety")], history, baseline(bh("anxiety")))
    (item,) = [i for i in items if i.instrument == "whodas12"]
    assert (item.due_since, item.overdue, item.enrollment_id) == (cp(17), overdue, BH_ID)
    assert item.reason == (
        f"BH: the baseline report ({cp(1).isoformat()} to {cp(60).isoformat()}) needs one "
        f"from the last {VALIDITY} days"
    )


def test_listed_once_with_the_earliest_due_date() -> None:
    # PHQ-9 by its interval (due day 15) and by the report (aged out day 16): the interval.
    periods = [bh("depression")]
    items = due(cp(20), periods, done(("phq9", 1), ("whodas12", 10)), baseline(periods[0]))
    (phq9,) = [i for i in items if i.instrument == "phq9"]
    assert (phq9.due_since, phq9.reason) == (cp(15), "BH: every 14 days")
    # PGIC in two end-of-period windows (MSK and BH): once, from the one due first.
    periods = [msk(), bh("anxiety", start=cp(21))]
    windows = [end_of_period(p) for p in periods]
    items = due(cp(300), periods, done(("pgic", 250)), *windows)
    (pgic,) = [i for i in items if i.instrument == "pgic"]
    assert (pgic.due_since, pgic.enrollment_id) == (cp(250 + VALIDITY), MSK_ID)


def test_windows_need_the_validity() -> None:
    with pytest.raises(ValueError, match="validity"):
        due_on(cp(5), periods=[msk()], history=[], windows=[baseline(msk())])
