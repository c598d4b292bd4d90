"""The ACCESS reporting calendar of a care period, against docs/rules.md "Reporting calendar" and
docs/api.md "Care periods and the ACCESS reporting calendar", with the real ruleset.

Windows are written as care-period days (day 1 = START, 2026-07-05): baseline days 1-60;
quarterly 70-110 days after the previous complete report (after day 60 without one; after the
close of a missed window); end of period from day 275 (eCKM, CKM) or 185 (MSK, BH) to day 425.
A few rows also spell out the calendar dates, so the day arithmetic itself is checked.

The last test changes each number of the ruleset's calendar (and of the windows the calendar and
the data rules use) and checks that the specific result that depends on it changes.
"""

from __future__ import annotations

import tomllib
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from app.outcomes.calendar import (
    ReportFacts,
    Window,
    WindowProblem,
    WindowState,
    quarterly_windows,
    schedule,
    window_for,
)
from app.outcomes.observations import CarePeriod, Point
from app.outcomes.rules import (
    DEFAULT_RULESET,
    Calendar,
    ReportType,
    Ruleset,
    Track,
    Windows,
    load_ruleset,
)
from app.outcomes.standing import evaluate
from app.outcomes.values import earliest_baseline, value_on

RULES = load_ruleset()
START = date(2026, 7, 5)
END = date(2027, 7, 4)  # day 365


def day(n: int) -> date:
    """The date of care-period day `n` (day 1 = START)."""
    return START + timedelta(days=n - 1)


def day_of(d: date) -> int:
    return (d - START).days + 1


def period(track: Track = "eCKM", *conditions: str, kind: str = "initial") -> CarePeriod:
    defaults = {
        "eCKM": "hypertension",
        "CKM": "diabetes",
        "MSK": "chronic_msk_pain",
        "BH": "depression",
    }
    return CarePeriod(track, conditions or (defaults[track],), START, END, kind)  # type: ignore[arg-type]


def rep(report_type: ReportType, n: int, complete: bool = True) -> ReportFacts:
    return ReportFacts(uuid.uuid4(), report_type, day(n), complete)


def pt(n: int, value: float, hour: int = 8) -> Point:
    d = day(n)
    return Point(uuid.uuid4(), datetime.combine(d, time(hour), tzinfo=UTC), d, value, value - 50)


Shape = list[tuple[str, int, int, str]]


def shape(states: Sequence[WindowState]) -> Shape:
    return [
        (s.window.type, day_of(s.window.opens), day_of(s.window.closes), s.status) for s in states
    ]


def spans(windows: Sequence[Window]) -> list[tuple[int, int]]:
    return [(day_of(w.opens), day_of(w.closes)) for w in windows]


# --- day arithmetic ---------------------------------------------------------------------------


def test_days_are_counted_from_day_1() -> None:
    assert RULES.windows.baseline_last(START) == date(2026, 9, 2)  # day 60
    assert RULES.windows.observations_from(date(2026, 10, 12)) == date(2026, 9, 28)  # 100 -> 86
    assert RULES.windows.labs_from(day(400)) == date(2026, 8, 9)  # day 36
    assert RULES.calendar.date_of(START, 1) == START
    assert RULES.calendar.date_of(START, 425) == date(2027, 9, 2)
    assert RULES.calendar.end(START) == date(2027, 7, 4)  # day 365


def test_window_dates_spelled_out() -> None:
    states = schedule(period("eCKM"), rules=RULES, reports=[], today=START)
    assert [(s.window.type, s.window.opens, s.window.closes) for s in states] == [
        ("baseline", date(2026, 7, 5), date(2026, 9, 2)),
        ("quarterly", date(2026, 11, 11), date(2026, 12, 21)),
        ("end_of_period", date(2027, 4, 5), date(2027, 9, 2)),
    ]
    msk = schedule(period("MSK"), rules=RULES, reports=[], today=START)
    assert msk[-1].window.opens == date(2027, 1, 5)  # day 185


# (case, calendar change, the validation message)
BAD_CALENDARS: list[tuple[str, dict[str, Any], str]] = [
    (
        "quarterly closes before it opens",
        {"quarterly_opens_after_days": 120},
        "a quarterly window cannot close before it opens",
    ),
    (
        "end of period closes before it opens",
        {"end_of_period_closes_day": 300},
        "the end-of-period window cannot close before it opens",
    ),
    (
        "early success after the end-of-period window opens",
        {"early_success_day": {"eCKM": 366, "CKM": 275, "MSK": 185, "BH": 185}},
        "early success cannot open after the end-of-period window",
    ),
]


@pytest.mark.parametrize(
    ("change", "message"), [pytest.param(c, m, id=k) for k, c, m in BAD_CALENDARS]
)
def test_a_calendar_out_of_order_is_refused(change: dict[str, Any], message: str) -> None:
    data = tomllib.loads(DEFAULT_RULESET.read_text())
    data["calendar"] |= change
    with pytest.raises(ValueError, match=message):
        Ruleset.model_validate(data)


# --- schedule ---------------------------------------------------------------------------------

FOLLOW_ON_BASELINE = rep("end_of_period", -5)  # the previous period's end-of-period report

# (case, track, reports, today, inherited baseline, expected windows in the order they open)
SCHEDULES: list[tuple[str, Track, list[ReportFacts], int, ReportFacts | None, Shape]] = [
    (
        "day 1, nothing reported",
        "eCKM",
        [],
        1,
        None,
        [
            ("baseline", 1, 60, "open"),
            ("quarterly", 130, 170, "upcoming"),
            ("end_of_period", 275, 425, "upcoming"),
        ],
    ),
    (
        "day 45: 15 days left, open",
        "eCKM",
        [],
        45,
        None,
        [
            ("baseline", 1, 60, "open"),
            ("quarterly", 130, 170, "upcoming"),
            ("end_of_period", 275, 425, "upcoming"),
        ],
    ),
    (
        "day 46: 14 days left, due soon",
        "eCKM",
        [],
        46,
        None,
        [
            ("baseline", 1, 60, "due_soon"),
            ("quarterly", 130, 170, "upcoming"),
            ("end_of_period", 275, 425, "upcoming"),
        ],
    ),
    (
        "day 60: the last day, due soon",
        "eCKM",
        [],
        60,
        None,
        [
            ("baseline", 1, 60, "due_soon"),
            ("quarterly", 130, 170, "upcoming"),
            ("end_of_period", 275, 425, "upcoming"),
        ],
    ),
    (
        "day 61: missed; quarterly counted after day 60",
        "eCKM",
        [],
        61,
        None,
        [
            ("baseline", 1, 60, "missed"),
            ("quarterly", 130, 170, "upcoming"),
            ("end_of_period", 275, 425, "upcoming"),
        ],
    ),
    (
        "a complete baseline on day 30 dates the first quarterly",
        "eCKM",
        [rep("baseline", 30)],
        40,
        None,
        [
            ("baseline", 1, 60, "reported"),
            ("quarterly", 100, 140, "upcoming"),
            ("end_of_period", 275, 425, "upcoming"),
        ],
    ),
    (
        "an incomplete baseline report does not count",
        "eCKM",
        [rep("baseline", 30, complete=False)],
        40,
        None,
        [
            ("baseline", 1, 60, "open"),
            ("quarterly", 130, 170, "upcoming"),
            ("end_of_period", 275, 425, "upcoming"),
        ],
    ),
    (
        "a missed quarterly is followed by one from its close",
        "eCKM",
        [rep("baseline", 30)],
        200,
        None,
        [
            ("baseline", 1, 60, "reported"),
            ("quarterly", 100, 140, "missed"),
            ("quarterly", 210, 250, "upcoming"),
            ("end_of_period", 275, 425, "upcoming"),
        ],
    ),
    (
        "a quarterly reported on day 120 dates the next",
        "eCKM",
        [rep("baseline", 30), rep("quarterly", 120)],
        200,
        None,
        [
            ("baseline", 1, 60, "reported"),
            ("quarterly", 100, 140, "reported"),
            ("quarterly", 190, 230, "open"),
            ("end_of_period", 275, 425, "upcoming"),
        ],
    ),
    (
        "day 400, nothing reported",
        "eCKM",
        [],
        400,
        None,
        [
            ("baseline", 1, 60, "missed"),
            ("quarterly", 130, 170, "missed"),
            ("quarterly", 240, 280, "missed"),
            ("end_of_period", 275, 425, "open"),
            ("quarterly", 350, 390, "missed"),
        ],
    ),
    (
        "day 411: the end of period closes in 14 days",
        "CKM",
        [],
        411,
        None,
        [
            ("baseline", 1, 60, "missed"),
            ("quarterly", 130, 170, "missed"),
            ("quarterly", 240, 280, "missed"),
            ("end_of_period", 275, 425, "due_soon"),
            ("quarterly", 350, 390, "missed"),
        ],
    ),
    (
        "day 426: the end of period missed",
        "eCKM",
        [],
        426,
        None,
        [
            ("baseline", 1, 60, "missed"),
            ("quarterly", 130, 170, "missed"),
            ("quarterly", 240, 280, "missed"),
            ("end_of_period", 275, 425, "missed"),
            ("quarterly", 350, 390, "missed"),
        ],
    ),
    (
        "an early complete end-of-period report",
        "eCKM",
        [rep("end_of_period", 300)],
        301,
        None,
        [
            ("baseline", 1, 60, "missed"),
            ("quarterly", 130, 170, "missed"),
            ("quarterly", 240, 280, "missed"),
            ("end_of_period", 275, 425, "reported"),
            # No quarterly window opens after a complete end-of-period report.
        ],
    ),
    (
        "an incomplete end-of-period report",
        "eCKM",
        [rep("end_of_period", 300, complete=False)],
        301,
        None,
        [
            ("baseline", 1, 60, "missed"),
            ("quarterly", 130, 170, "missed"),
            ("quarterly", 240, 280, "missed"),
            ("end_of_period", 275, 425, "open"),
            ("quarterly", 350, 390, "upcoming"),
        ],
    ),
    (
        "MSK: the end of period opens on day 185",
        "MSK",
        [],
        185,
        None,
        [
            ("baseline", 1, 60, "missed"),
            ("quarterly", 130, 170, "missed"),
            ("end_of_period", 185, 425, "open"),
            ("quarterly", 240, 280, "upcoming"),
        ],
    ),
    (
        "BH: day 184 is before the end of period",
        "BH",
        [],
        184,
        None,
        [
            ("baseline", 1, 60, "missed"),
            ("quarterly", 130, 170, "missed"),
            ("end_of_period", 185, 425, "upcoming"),
            ("quarterly", 240, 280, "upcoming"),
        ],
    ),
    (
        "a follow-on inherits its baseline",
        "eCKM",
        [],
        10,
        FOLLOW_ON_BASELINE,
        [
            ("baseline", 1, 60, "reported"),
            ("quarterly", 130, 170, "upcoming"),
            ("end_of_period", 275, 425, "upcoming"),
        ],
    ),
]


@pytest.mark.parametrize(
    ("track", "reports", "today", "inherited", "expected"),
    [pytest.param(*r[1:], id=r[0]) for r in SCHEDULES],
)
def test_schedule(
    track: Track,
    reports: list[ReportFacts],
    today: int,
    inherited: ReportFacts | None,
    expected: Shape,
) -> None:
    states = schedule(
        period(track), rules=RULES, reports=reports, today=day(today), inherited_baseline=inherited
    )
    assert shape(states) == expected


def test_a_window_names_its_report() -> None:
    incomplete, complete = rep("baseline", 20, complete=False), rep("baseline", 30)
    (open_, *_) = schedule(period(), rules=RULES, reports=[incomplete], today=day(25))
    assert (open_.status, open_.report) == ("open", incomplete)
    (done, *_) = schedule(period(), rules=RULES, reports=[incomplete, complete], today=day(35))
    assert (done.status, done.report) == ("reported", complete)
    (inherited, *_) = schedule(
        period(kind="follow_on"),
        rules=RULES,
        reports=[],
        today=day(5),
        inherited_baseline=FOLLOW_ON_BASELINE,
    )
    assert (inherited.status, inherited.report) == ("reported", FOLLOW_ON_BASELINE)


# --- quarterly windows ------------------------------------------------------------------------

# (case, reports, today, expected windows as (opens, closes) days)
QUARTERLY: list[tuple[str, list[ReportFacts], int, list[tuple[int, int]]]] = [
    ("after day 60 without a baseline report", [], 100, [(130, 170)]),
    ("from the baseline report", [rep("baseline", 30)], 100, [(100, 140)]),
    (
        "each from the previous complete report, none opening after day 365",
        [
            rep("baseline", 60),
            rep("quarterly", 130),
            rep("quarterly", 200),
            rep("quarterly", 270),
            rep("quarterly", 340),
        ],
        360,
        [(130, 170), (200, 240), (270, 310), (340, 380)],
    ),
    (
        "reported on its last day",
        [rep("baseline", 60), rep("quarterly", 170)],
        200,
        [(130, 170), (240, 280)],
    ),
    ("stops at the first open window", [rep("baseline", 60)], 150, [(130, 170)]),
    ("a window on its closing day is still open", [], 170, [(130, 170)]),
    ("missed windows: each next from the close", [], 400, [(130, 170), (240, 280), (350, 390)]),
    (
        "an incomplete quarterly report does not date the next",
        [rep("baseline", 60), rep("quarterly", 130, complete=False)],
        200,
        [(130, 170), (240, 280)],
    ),
    (
        "one opening on day 364 is kept",
        [rep("baseline", 44), rep("quarterly", 154), rep("quarterly", 224), rep("quarterly", 294)],
        300,
        [(114, 154), (224, 264), (294, 334), (364, 404)],
    ),
    (
        "none opens on day 365",
        [rep("baseline", 45), rep("quarterly", 155), rep("quarterly", 225), rep("quarterly", 295)],
        300,
        [(115, 155), (225, 265), (295, 335)],
    ),
]


@pytest.mark.parametrize(
    ("reports", "today", "expected"), [pytest.param(*r[1:], id=r[0]) for r in QUARTERLY]
)
def test_quarterly_windows(
    reports: list[ReportFacts], today: int, expected: list[tuple[int, int]]
) -> None:
    found = quarterly_windows(period(), rules=RULES, reports=reports, today=day(today))
    assert spans(found) == expected
    assert {w.type for w in found} <= {"quarterly"}


# --- the window of a new report ---------------------------------------------------------------

Answer = tuple[str, int, int, str | None]  # ("ok" or the error, opens, closes, detail)

# (case, track, reports, report type, report day, answer)
WINDOW_FOR: list[tuple[str, Track, list[ReportFacts], ReportType, int, Answer]] = [
    ("baseline on day 1", "eCKM", [], "baseline", 1, ("ok", 1, 60, None)),
    ("baseline on day 60", "eCKM", [], "baseline", 60, ("ok", 1, 60, None)),
    (
        "baseline on day 61",
        "eCKM",
        [],
        "baseline",
        61,
        (
            "WindowClosed",
            1,
            60,
            "The baseline window closed on 2026-09-02 (it opened on 2026-07-05).",
        ),
    ),
    (
        "eCKM end of period on day 274",
        "eCKM",
        [],
        "end_of_period",
        274,
        (
            "WindowNotOpen",
            275,
            425,
            "The end-of-period window opens on 2027-04-05 (it closes on 2027-09-02).",
        ),
    ),
    ("eCKM end of period on day 275", "eCKM", [], "end_of_period", 275, ("ok", 275, 425, None)),
    ("end of period on day 425", "eCKM", [], "end_of_period", 425, ("ok", 275, 425, None)),
    (
        "end of period on day 426",
        "eCKM",
        [],
        "end_of_period",
        426,
        (
            "WindowClosed",
            275,
            425,
            "The end-of-period window closed on 2027-09-02 (it opened on 2027-04-05).",
        ),
    ),
    (
        "CKM end of period on day 274",
        "CKM",
        [],
        "end_of_period",
        274,
        ("WindowNotOpen", 275, 425, None),
    ),
    ("CKM end of period on day 275", "CKM", [], "end_of_period", 275, ("ok", 275, 425, None)),
    (
        "MSK end of period on day 184",
        "MSK",
        [],
        "end_of_period",
        184,
        ("WindowNotOpen", 185, 425, None),
    ),
    ("MSK end of period on day 185", "MSK", [], "end_of_period", 185, ("ok", 185, 425, None)),
    (
        "BH end of period on day 184",
        "BH",
        [],
        "end_of_period",
        184,
        ("WindowNotOpen", 185, 425, None),
    ),
    ("BH end of period on day 185", "BH", [], "end_of_period", 185, ("ok", 185, 425, None)),
    (
        "quarterly before its window",
        "eCKM",
        [rep("baseline", 30)],
        "quarterly",
        99,
        (
            "WindowNotOpen",
            100,
            140,
            "The quarterly window opens on 2026-10-12 (it closes on 2026-11-21).",
        ),
    ),
    (
        "quarterly on its first day",
        "eCKM",
        [rep("baseline", 30)],
        "quarterly",
        100,
        ("ok", 100, 140, None),
    ),
    (
        "quarterly on its last day",
        "eCKM",
        [rep("baseline", 30)],
        "quarterly",
        140,
        ("ok", 100, 140, None),
    ),
    (
        "the day after a missed window: the next one is not open yet",
        "eCKM",
        [rep("baseline", 30)],
        "quarterly",
        141,
        ("WindowNotOpen", 210, 250, None),
    ),
    (
        "day 400: the last window has closed",
        "eCKM",
        [],
        "quarterly",
        400,
        (
            "WindowClosed",
            350,
            390,
            "The quarterly window closed on 2027-07-29 (it opened on 2027-06-19).",
        ),
    ),
    (
        "after a reported window, before the next",
        "eCKM",
        [rep("baseline", 30), rep("quarterly", 100)],
        "quarterly",
        150,
        ("WindowNotOpen", 170, 210, None),
    ),
    (
        "a second report in a reported window",
        "eCKM",
        [rep("baseline", 30), rep("quarterly", 100)],
        "quarterly",
        120,
        ("ok", 100, 140, None),
    ),
    (
        "a report of the same day does not move the window",
        "eCKM",
        [rep("baseline", 30), rep("quarterly", 100)],
        "quarterly",
        100,
        ("ok", 100, 140, None),
    ),
]


@pytest.mark.parametrize(
    ("track", "reports", "report_type", "report_day", "answer"),
    [pytest.param(*r[1:], id=r[0]) for r in WINDOW_FOR],
)
def test_window_for(
    track: Track,
    reports: list[ReportFacts],
    report_type: ReportType,
    report_day: int,
    answer: Answer,
) -> None:
    found = window_for(
        period(track),
        rules=RULES,
        reports=reports,
        report_type=report_type,
        report_date=day(report_day),
    )
    kind, opens, closes, detail = answer
    if kind == "ok":
        assert isinstance(found, Window)
        assert (found.type, day_of(found.opens), day_of(found.closes)) == (
            report_type,
            opens,
            closes,
        )
        return
    assert isinstance(found, WindowProblem)
    assert (found.error, day_of(found.window.opens), day_of(found.window.closes)) == (
        kind,
        opens,
        closes,
    )
    assert found.window.type == report_type
    if detail is not None:
        assert found.detail == detail


# --- every ruleset number the calendar uses changes the result ----------------------------------


def changed(section: str, **values: Any) -> Ruleset:
    """The real ruleset's TOML with `values` replaced in `section`, validated like a file."""
    data = tomllib.loads(DEFAULT_RULESET.read_text())
    for key, value in values.items():
        old = data[section][key]
        data[section][key] = {**old, **value} if isinstance(old, dict) else value
    return Ruleset.model_validate(data)


def _quarterly(rules: Ruleset, today: int) -> list[tuple[int, int]]:
    return spans(quarterly_windows(period(), rules=rules, reports=[], today=day(today)))


def _window(
    rules: Ruleset, track: Track, report_type: ReportType, today: int
) -> tuple[int, int, str]:
    states = schedule(period(track), rules=rules, reports=[], today=day(today))
    (state,) = [s for s in states if s.window.type == report_type]
    return day_of(state.window.opens), day_of(state.window.closes), state.status


def _bp_value(rules: Ruleset, reading_days: list[int], report_day: int) -> float | None:
    points = [pt(d, 150 + i) for i, d in enumerate(reading_days)]
    value = value_on(
        rules.measure("blood_pressure"),
        windows=rules.windows,
        sources={"blood_pressure": points},
        report_date=day(report_day),
    )
    return value.value if value else None


def _hba1c_on_day_100(rules: Ruleset) -> float | None:
    lab = [pt(100 - 365, 8.4)]  # 365 days before day 100
    value = value_on(
        rules.measure("hba1c"), windows=rules.windows, sources={"hba1c": lab}, report_date=day(100)
    )
    return value.value if value else None


def _bp_baseline_day(rules: Ruleset) -> int | None:
    points = [pt(58, 150), pt(65, 150), pt(70, 150)]
    found = earliest_baseline(
        rules.measure("blood_pressure"),
        windows=rules.windows,
        period=period(),
        sources={"blood_pressure": points},
        until=day(100),
    )
    return day_of(found[0]) if found else None


def _bp_status_on_day_100(rules: Ruleset) -> str:
    # Baseline 160 (days 1-3); 150 on day 75 and three times on day 100: not met, flat.
    points = [pt(1, 160), pt(2, 160), pt(3, 160), pt(75, 150)]
    points += [pt(100, 150, hour=h) for h in (7, 8, 9)]
    standing = evaluate(
        period(), rules=rules, sources={"blood_pressure": points}, reports=[], today=day(100)
    )
    (bp,) = [m for m in standing.measures if m.rule.name == "blood_pressure"]
    return bp.status


# (number, section, change, what it changes, with the real ruleset, with the change)
CHANGED: list[tuple[str, str, dict[str, Any], Callable[[Ruleset], object], object, object]] = [
    (
        "period_days",
        "calendar",
        {"period_days": 366},
        lambda r: day_of(r.calendar.end(START)),
        365,
        366,
    ),
    (
        "quarterly_opens_after_days",
        "calendar",
        {"quarterly_opens_after_days": 80},
        lambda r: _quarterly(r, 100),
        [(130, 170)],
        [(140, 170)],
    ),
    (
        "quarterly_closes_after_days",
        "calendar",
        {"quarterly_closes_after_days": 120},
        lambda r: _quarterly(r, 100),
        [(130, 170)],
        [(130, 180)],
    ),
    (
        "end_of_period_opens_day",
        "calendar",
        {"end_of_period_opens_day": 350},  # no quarterly window opens on or after it
        lambda r: _quarterly(r, 400),
        [(130, 170), (240, 280), (350, 390)],
        [(130, 170), (240, 280)],
    ),
    (
        "end_of_period_closes_day",
        "calendar",
        {"end_of_period_closes_day": 430},
        lambda r: _window(r, "eCKM", "end_of_period", 426),
        (275, 425, "missed"),
        (275, 430, "due_soon"),
    ),
    (
        "early_success_day.eCKM",
        "calendar",
        {"early_success_day": {"eCKM": 280}},
        lambda r: _window(r, "eCKM", "end_of_period", 276),
        (275, 425, "open"),
        (280, 425, "upcoming"),
    ),
    (
        "early_success_day.CKM",
        "calendar",
        {"early_success_day": {"CKM": 280}},
        lambda r: _window(r, "CKM", "end_of_period", 276),
        (275, 425, "open"),
        (280, 425, "upcoming"),
    ),
    (
        "early_success_day.MSK",
        "calendar",
        {"early_success_day": {"MSK": 190}},
        lambda r: _window(r, "MSK", "end_of_period", 186),
        (185, 425, "open"),
        (190, 425, "upcoming"),
    ),
    (
        "early_success_day.BH",
        "calendar",
        {"early_success_day": {"BH": 190}},
        lambda r: _window(r, "BH", "end_of_period", 186),
        (185, 425, "open"),
        (190, 425, "upcoming"),
    ),
    (
        "due_soon_days",
        "calendar",
        {"due_soon_days": 15},
        lambda r: _window(r, "eCKM", "baseline", 45),
        (1, 60, "open"),
        (1, 60, "due_soon"),
    ),
    (
        "shown_after_close_days",
        "calendar",
        {"shown_after_close_days": 31},
        lambda r: day_of(r.calendar.shown_until(START)),
        455,  # day 425 + 30
        456,
    ),
    (
        "baseline_days: the baseline window",
        "windows",
        {"baseline_days": 70},
        lambda r: (_window(r, "eCKM", "baseline", 61), _quarterly(r, 100)),
        ((1, 60, "missed"), [(130, 170)]),
        ((1, 70, "due_soon"), [(140, 180)]),
    ),
    (
        "baseline_days: a baseline from the data",
        "windows",
        {"baseline_days": 70},
        _bp_baseline_day,
        None,
        70,
    ),
    (
        "observation_days",
        "windows",
        {"observation_days": 21},
        lambda r: _bp_value(r, [80, 90, 100], 100),
        None,
        151.0,
    ),
    ("lab_days", "windows", {"lab_days": 366}, _hba1c_on_day_100, None, 8.4),
    (
        "bp_min_readings",
        "windows",
        {"bp_min_readings": 2},
        lambda r: _bp_value(r, [95, 100], 100),
        None,
        150.5,
    ),
    (
        "trend_days",
        "windows",
        {"trend_days": 20},
        _bp_status_on_day_100,
        "off_track",
        "insufficient_data",
    ),
]


@pytest.mark.parametrize(
    ("section", "change", "probe", "real", "after"),
    [pytest.param(*r[1:], id=r[0]) for r in CHANGED],
)
def test_every_ruleset_number_used_by_the_calendar_changed_in_a_test_ruleset_changes_the_result(
    section: str,
    change: dict[str, Any],
    probe: Callable[[Ruleset], object],
    real: object,
    after: object,
) -> None:
    rules = changed(section, **change)
    model: Calendar | Windows = getattr(rules, section)
    assert model != getattr(RULES, section)  # the change took
    assert probe(RULES) == real
    assert probe(rules) == after


# Numbers of the models left out of the test above, and why.
NOT_USED_BY_THE_CALENDAR = {
    # Only app/patients/enrollments.py (when a follow-on enrollment may start) reads it; no pure
    # outcome module does, so no result here can change with it.
    "follow_on_from_day",
    # A flag shown with the lab window, not a number.
    "lab_days_provisional",
}


def test_the_changed_number_test_covers_every_number() -> None:
    covered = {r[0].split(":")[0].split(".")[0] for r in CHANGED}
    fields = set(Calendar.model_fields) | set(Windows.model_fields)
    assert covered | NOT_USED_BY_THE_CALENDAR == fields
    tracks = {r[0].split(".")[1] for r in CHANGED if r[0].startswith("early_success_day.")}
    assert tracks == set(RULES.calendar.early_success_day)
