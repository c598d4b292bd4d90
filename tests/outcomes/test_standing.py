"""Where a care period stands on a day, on small synthetic timelines, against docs/api.md "Care
periods and the ACCESS reporting calendar" and docs/rules.md "How this service applies the
calendar", with the real ruleset.

Day 1 is START (2026-07-05); day 60 closes the baseline window (2 September 2026); the
end-of-period window runs from day 275 (eCKM, CKM) or 185 (MSK, BH) to day 425 (2 September
2027). Statuses, sentences and numbers are written out, never recomputed by the code.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

import pytest

from app.outcomes.calendar import ReportFacts
from app.outcomes.observations import CarePeriod, Point, Value
from app.outcomes.rules import MeasureName, ReportType, Track, load_ruleset
from app.outcomes.standing import MeasureStanding, Standing, evaluate
from app.outcomes.targets import Status
from app.outcomes.values import Sources

RULES = load_ruleset()
START = date(2026, 7, 5)
END = date(2027, 7, 4)  # day 365

BP = "blood_pressure"
PHQ9 = "checkin:phq9:total"
WHODAS = "checkin:whodas12:total"
PGIC = "checkin:pgic:total"


def day(n: int) -> date:
    """The date of care-period day `n` (day 1 = START; day 0 is the day before)."""
    return START + timedelta(days=n - 1)


def day_of(d: date) -> int:
    return (d - START).days + 1


def at(n: int, hour: int = 8) -> datetime:
    return datetime.combine(day(n), time(hour), tzinfo=UTC)


def points(days_values: Sequence[tuple[int, float]], *, bp: bool = False) -> list[Point]:
    """Oldest first; same-day points an hour apart; blood pressure with a diastolic."""
    return [
        Point(uuid.uuid4(), at(d, 6 + i % 12), day(d), v, v - 50 if bp else None)
        for i, (d, v) in enumerate(days_values)
    ]


def cuff(*days_values: tuple[int, float]) -> list[Point]:
    return points(days_values, bp=True)


BASELINE_160 = [(1, 160.0), (2, 160.0), (3, 160.0)]  # a blood-pressure baseline of 160, day 3


def period(track: Track, *conditions: str, kind: str = "initial") -> CarePeriod:
    return CarePeriod(track, conditions, START, END, kind)  # type: ignore[arg-type]


ECKM = period("eCKM", "hypertension")
CKM = period("CKM", "diabetes")
BH = period("BH", "depression")


def report(
    report_type: ReportType,
    n: int,
    *,
    complete: bool = True,
    attained: bool | None = None,
    values: dict[str, float] | None = None,
) -> ReportFacts:
    return ReportFacts(
        uuid.uuid4(),
        report_type,
        day(n),
        complete,
        attained,
        {k: Value(v, at(n), 1, ()) for k, v in (values or {}).items()},
    )


def standing_of(
    p: CarePeriod,
    sources: Sources,
    today: int,
    reports: Sequence[ReportFacts] = (),
    inherited: ReportFacts | None = None,
    disenrolled: bool = False,
) -> Standing:
    return evaluate(
        p,
        rules=RULES,
        sources=sources,
        reports=reports,
        today=day(today),
        inherited=inherited,
        disenrolled=disenrolled,
    )


def measure(standing: Standing, name: MeasureName) -> MeasureStanding:
    (found,) = [m for m in standing.measures if m.rule.name == name]
    return found


PREVIOUS_END = report("end_of_period", -5, values={BP: 140.0})  # the previous period's

# (case, period, measure, sources, reports, inherited, today,
#  expected status, needed, baseline as (value, day, from report))
MEASURES: list[
    tuple[
        str,
        CarePeriod,
        MeasureName,
        Sources,
        list[ReportFacts],
        ReportFacts | None,
        int,
        Status,
        str | None,
        tuple[float, int, bool] | None,
    ]
] = [
    (
        "baseline window open, nothing yet",
        ECKM,
        "blood_pressure",
        {},
        [],
        None,
        5,
        "insufficient_data",
        "Take 3 more blood pressure readings with your connected cuff by 2 September 2026 "
        "(3 within 15 days) to set your starting point.",
        None,
    ),
    (
        "baseline window open, one reading",
        ECKM,
        "blood_pressure",
        {BP: cuff((3, 150))},
        [],
        None,
        5,
        "insufficient_data",
        "Take 2 more blood pressure readings with your connected cuff by 2 September 2026 "
        "(3 within 15 days) to set your starting point.",
        None,
    ),
    (
        "no baseline: readings on days 58, 65, 70",
        ECKM,
        "blood_pressure",
        {BP: cuff((58, 150), (65, 150), (70, 150))},
        [],
        None,
        75,
        "no_baseline",
        "No starting value was recorded in the first 60 days of the care period, so this "
        "measure cannot count toward the outcome.",
        None,
    ),
    (
        "met: 125 is below 130",
        ECKM,
        "blood_pressure",
        {BP: cuff(*BASELINE_160, (98, 125), (99, 125), (100, 125))},
        [],
        None,
        100,
        "met",
        None,
        (160.0, 3, False),
    ),
    (
        "no trend at all: one day of readings",
        ECKM,
        "blood_pressure",
        {BP: cuff(*BASELINE_160, (100, 150), (100, 150), (100, 150))},
        [],
        None,
        100,
        "insufficient_data",
        "Keep taking blood pressure readings with your connected cuff: 30 days of data with at "
        "least two days of it show whether you are on track.",
        (160.0, 3, False),
    ),
    (
        "on track: -0.1 a day reaches 122.5 on day 365",
        ECKM,
        "blood_pressure",
        {BP: cuff(*BASELINE_160, (90, 150), (95, 149.5), (100, 149))},
        [],
        None,
        100,
        "on_track",
        "Goal for Blood pressure (systolic): below 130 mm[Hg] or at most 145 mm[Hg].",
        (160.0, 3, False),
    ),
    (
        "off track: flat at 150",
        ECKM,
        "blood_pressure",
        {BP: cuff(*BASELINE_160, (90, 150), (95, 150), (100, 150))},
        [],
        None,
        100,
        "off_track",
        "Goal for Blood pressure (systolic): below 130 mm[Hg] or at most 145 mm[Hg].",
        (160.0, 3, False),
    ),
    (
        "a baseline but no current value",
        ECKM,
        "blood_pressure",
        {BP: cuff(*BASELINE_160, (80, 150))},
        [],
        None,
        100,
        "insufficient_data",
        "Take 3 more blood pressure readings with your connected cuff in the next 15 days "
        "(3 within 15 days are needed).",
        (160.0, 3, False),
    ),
    (
        "the baseline report's value, not the data's",
        ECKM,
        "blood_pressure",
        {BP: cuff(*BASELINE_160, (98, 140), (99, 140), (100, 140))},
        [report("baseline", 30, values={BP: 155.0})],
        None,
        100,
        "met",  # 155 -> 140: down 15
        None,
        (155.0, 30, True),
    ),
    (
        "a follow-on: the previous end of period's value",
        period("eCKM", "hypertension", kind="follow_on"),
        "blood_pressure",
        {BP: cuff(*BASELINE_160, (98, 131), (99, 131), (100, 131))},
        [],
        PREVIOUS_END,
        100,
        "off_track",  # 140 -> 131: down 9 (from the data's 160 it would be met)
        "Goal for Blood pressure (systolic): below 130 mm[Hg] or at most 125 mm[Hg].",
        (140.0, -5, True),
    ),
    (
        "a follow-on's own baseline report comes first",
        period("eCKM", "hypertension", kind="follow_on"),
        "blood_pressure",
        {BP: cuff((98, 131), (99, 131), (100, 131))},
        [report("baseline", 20, values={BP: 150.0})],
        PREVIOUS_END,
        100,
        "met",
        None,
        (150.0, 20, True),
    ),
    (
        "a lab whose only result is the baseline",
        CKM,
        "hba1c",
        {"hba1c": points([(-99, 8.4)])},
        [],
        None,
        100,
        "insufficient_data",
        "Your care team needs a new HbA1c lab result to show improvement.",
        (8.4, 1, False),
    ),
    (
        "a lab down 0.6",
        CKM,
        "hba1c",
        {"hba1c": points([(-99, 8.4), (90, 7.8)])},
        [],
        None,
        100,
        "met",
        None,
        (8.4, 1, False),
    ),
    (
        "a lab down 0.2",
        CKM,
        "hba1c",
        {"hba1c": points([(-99, 8.4), (90, 8.2)])},
        [],
        None,
        100,
        "off_track",
        "Goal for HbA1c: below 7 % or at most 7.9 %.",
        (8.4, 1, False),
    ),
    (
        "a lab older than 365 days on the day",
        CKM,
        "hba1c",
        {"hba1c": points([(-299, 8.4)])},
        [],
        None,
        100,
        "insufficient_data",
        "Your care team needs an HbA1c result from the last 365 days.",
        (8.4, 1, False),
    ),
    (
        "eGFR and UACR at baseline: done",
        CKM,
        "egfr_uacr",
        {"egfr": points([(10, 52)]), "uacr": points([(12, 45)])},
        [],
        None,
        100,
        "met",
        None,
        (52, 12, False),
    ),
    (
        "WHODAS: asked again from day 185",
        BH,
        "function_whodas",
        {WHODAS: points([(5, 30)])},
        [],
        None,
        100,
        "on_track",
        "Complete the Function (WHODAS 2.0, 12 items) check-in again from 5 January 2027.",
        (30, 5, False),
    ),
    (
        "WHODAS: due in the end-of-period window",
        BH,
        "function_whodas",
        {WHODAS: points([(5, 30)])},
        [],
        None,
        200,
        "insufficient_data",
        "Complete the Function (WHODAS 2.0, 12 items) check-in by 2 September 2027.",
        (30, 5, False),
    ),
    (
        "WHODAS: done in the end-of-period window",
        BH,
        "function_whodas",
        {WHODAS: points([(5, 30), (195, 24)])},
        [],
        None,
        200,
        "met",
        None,
        (30, 5, False),
    ),
    (
        "WHODAS: no baseline in days 1-60",
        BH,
        "function_whodas",
        {WHODAS: points([(70, 30)])},
        [],
        None,
        100,
        "no_baseline",
        "No starting value was recorded in the first 60 days of the care period, so this "
        "measure cannot count toward the outcome.",
        None,
    ),
    (
        "PGIC needs no baseline",
        BH,
        "global_impression",
        {},
        [],
        None,
        100,
        "on_track",
        "Complete the Global impression of change (PGIC) check-in again from 5 January 2027.",
        None,
    ),
    (
        "PHQ-9 down 6 from the first score",
        BH,
        "depression",
        {PHQ9: points([(5, 18), (40, 16), (95, 12)])},
        [],
        None,
        100,
        "met",
        None,
        (18, 5, False),
    ),
    (
        "HbA1c does not apply to hypertension alone",
        ECKM,
        "hba1c",
        {"hba1c": points([(10, 6.0)])},
        [],
        None,
        100,
        "not_applicable",
        None,
        None,
    ),
]


@pytest.mark.parametrize(
    ("p", "name", "sources", "reports", "inherited", "today", "status", "needed", "baseline"),
    [pytest.param(*r[1:], id=r[0]) for r in MEASURES],
)
def test_measure_standing(
    p: CarePeriod,
    name: MeasureName,
    sources: Sources,
    reports: list[ReportFacts],
    inherited: ReportFacts | None,
    today: int,
    status: Status,
    needed: str | None,
    baseline: tuple[float, int, bool] | None,
) -> None:
    found = measure(standing_of(p, sources, today, reports, inherited), name)
    assert (found.status, found.needed) == (status, needed)
    assert found.applicable is (status != "not_applicable")
    if status == "not_applicable":
        return
    shown = found.baseline
    assert ((shown.value.value, day_of(shown.on), shown.from_report) if shown else None) == baseline


# (case, sources, today, the trend projected to day 365)
PROJECTIONS: list[tuple[str, Sources, float | None]] = [
    ("on track", {BP: cuff(*BASELINE_160, (90, 150), (95, 149.5), (100, 149))}, 122.5),
    ("off track", {BP: cuff(*BASELINE_160, (90, 150), (95, 150), (100, 150))}, 150.0),
    ("met: no projection", {BP: cuff(*BASELINE_160, (98, 125), (99, 125), (100, 125))}, None),
]


@pytest.mark.parametrize(
    ("sources", "projected"), [pytest.param(*r[1:], id=r[0]) for r in PROJECTIONS]
)
def test_measure_projection(sources: Sources, projected: float | None) -> None:
    assert measure(standing_of(ECKM, sources, 100), "blood_pressure").projected == projected


# --- attained and projected -------------------------------------------------------------------

# Every eCKM baseline needs HbA1c and LDL, even for hypertension alone: results from before the
# period give both on day 1.
LABS: Sources = {"hba1c": points([(-20, 5.9)]), "ldl": points([(-20, 110)])}
MEETING_AT_THE_END = cuff(*BASELINE_160, (423, 125), (424, 125), (425, 125))

# (case, reports, sources, today, attained, projected)
OUTCOMES: list[tuple[str, list[ReportFacts], Sources, int, bool | None, bool | None]] = [
    (
        "mid-period, meeting the target: unknown, projected to attain",
        [],
        {**LABS, BP: cuff(*BASELINE_160, (98, 125), (99, 125), (100, 125))},
        100,
        None,
        True,
    ),
    (
        "mid-period, not meeting it",
        [],
        {**LABS, BP: cuff(*BASELINE_160, (98, 150), (99, 150), (100, 150))},
        100,
        None,
        False,
    ),
    (
        "no current value: an end-of-period report now would be incomplete",
        [],
        {**LABS, BP: cuff(*BASELINE_160)},
        100,
        None,
        False,
    ),
    (
        "a complete end-of-period report that attained",
        [report("end_of_period", 370, attained=True)],
        {**LABS, BP: cuff(*BASELINE_160)},
        380,
        True,
        True,
    ),
    (
        "a complete one that did not, though the data meet the target now",
        [report("end_of_period", 370, attained=False)],
        {**LABS, BP: cuff(*BASELINE_160, (378, 120), (379, 120), (380, 120))},
        380,
        False,
        False,
    ),
    (
        "the latest complete end-of-period report counts",
        [
            report("end_of_period", 370, attained=False),
            report("end_of_period", 380, attained=True),
        ],
        {**LABS, BP: cuff(*BASELINE_160)},
        390,
        True,
        True,
    ),
    (
        "day 425 without a report: still unknown",
        [],
        {**LABS, BP: MEETING_AT_THE_END},
        425,
        None,
        True,
    ),
    (
        "day 426 without a report: not attained",
        [],
        {**LABS, BP: MEETING_AT_THE_END},
        426,
        False,
        False,
    ),
    (
        "an incomplete end-of-period report is no outcome",
        [report("end_of_period", 400, complete=False)],
        {**LABS, BP: MEETING_AT_THE_END},
        425,
        None,
        True,
    ),
    (
        "an incomplete one, day 426",
        [report("end_of_period", 400, complete=False)],
        {**LABS, BP: MEETING_AT_THE_END},
        426,
        False,
        False,
    ),
    (
        "no HbA1c baseline: never attains, though its target does not apply",
        [],
        {"ldl": LABS["ldl"], BP: cuff(*BASELINE_160, (98, 125), (99, 125), (100, 125))},
        100,
        None,
        False,
    ),
    (
        "no baseline never attains, even below 130",
        [],
        {**LABS, BP: cuff((58, 150), (65, 150), (70, 150), (98, 120), (99, 120), (100, 120))},
        100,
        None,
        False,
    ),
]


@pytest.mark.parametrize(
    ("reports", "sources", "today", "attained", "projected"),
    [pytest.param(*r[1:], id=r[0]) for r in OUTCOMES],
)
def test_attained_and_projected(
    reports: list[ReportFacts],
    sources: Sources,
    today: int,
    attained: bool | None,
    projected: bool | None,
) -> None:
    standing = standing_of(ECKM, sources, today, reports)
    assert (standing.attained, standing.projected) == (attained, projected)


# (case, today, disenrolled, period status, day, has windows, projected)
PERIOD_STATUS: list[tuple[str, int, bool, str, int, bool, bool | None]] = [
    ("day 365 is still active", 365, False, "active", 365, True, False),
    ("day 366 is completed", 366, False, "completed", 366, True, False),
    ("disenrolled: no windows, no projection", 100, True, "disenrolled", 100, False, None),
]


@pytest.mark.parametrize(
    ("today", "disenrolled", "status", "day_number", "windows", "projected"),
    [pytest.param(*r[1:], id=r[0]) for r in PERIOD_STATUS],
)
def test_period_status(
    today: int,
    disenrolled: bool,
    status: str,
    day_number: int,
    windows: bool,
    projected: bool | None,
) -> None:
    standing = standing_of(ECKM, {}, today, disenrolled=disenrolled)
    assert (standing.status, standing.day) == (status, day_number)
    assert bool(standing.windows) is windows
    assert standing.projected is projected
    assert (standing.end_of_period is not None) is windows


# --- the next window --------------------------------------------------------------------------

# (case, reports, today, next window as (type, opens, closes) days)
NEXT_WINDOW: list[tuple[str, list[ReportFacts], int, tuple[str, int, int] | None]] = [
    ("the open baseline window", [], 5, ("baseline", 1, 60)),
    ("baseline missed: the first quarterly, upcoming", [], 61, ("quarterly", 130, 170)),
    (
        "baseline reported: the quarterly it dates",
        [report("baseline", 30)],
        40,
        ("quarterly", 100, 140),
    ),
    ("an open quarterly before an upcoming end", [], 250, ("quarterly", 240, 280)),
    ("of two open windows, the one closing first", [], 276, ("quarterly", 240, 280)),
    ("the end of period, open", [], 290, ("end_of_period", 275, 425)),
    ("the one closing first, though it opened later", [], 360, ("quarterly", 350, 390)),
    ("every window closed", [], 430, None),
]


@pytest.mark.parametrize(
    ("reports", "today", "expected"), [pytest.param(*r[1:], id=r[0]) for r in NEXT_WINDOW]
)
def test_next_window(
    reports: list[ReportFacts], today: int, expected: tuple[str, int, int] | None
) -> None:
    found = standing_of(ECKM, {}, today, reports).next_window
    assert ((found.type, day_of(found.opens), day_of(found.closes)) if found else None) == expected


# --- what each window still needs ------------------------------------------------------------

UPCOMING_Q1 = "in the 15 days before the report (11 November 2026 to 21 December 2026)"
UPCOMING_END = "in the 15 days before the report (5 April 2027 to 2 September 2027)"

# (case, period, sources, reports, today, each window as (type, status, needed))
WINDOW_NEEDS: list[
    tuple[str, CarePeriod, Sources, list[ReportFacts], int, list[tuple[str, str, list[str]]]]
] = [
    (
        "eCKM, day 5, nothing yet: HbA1c and LDL for the baseline",
        ECKM,
        {},
        [],
        5,
        [
            (
                "baseline",
                "open",
                [
                    "3 more cuff readings before 2 September 2026",
                    "an HbA1c result",
                    "an LDL result",
                ],
            ),
            ("quarterly", "upcoming", [f"3 cuff readings {UPCOMING_Q1}"]),
            ("end_of_period", "upcoming", [f"3 cuff readings {UPCOMING_END}"]),
        ],
    ),
    (
        "eCKM, day 50: two readings and an HbA1c so far",
        ECKM,
        {BP: cuff((48, 140), (49, 140)), "hba1c": points([(-20, 5.9)])},
        [],
        50,
        [
            (
                "baseline",
                "due_soon",
                ["1 more cuff reading before 2 September 2026", "an LDL result"],
            ),
            ("quarterly", "upcoming", [f"3 cuff readings {UPCOMING_Q1}"]),
            ("end_of_period", "upcoming", [f"3 cuff readings {UPCOMING_END}"]),
        ],
    ),
    (
        "reported and missed windows need nothing",
        ECKM,
        {},
        [report("baseline", 30)],
        200,
        [
            ("baseline", "reported", []),
            ("quarterly", "missed", []),
            (
                "quarterly",
                "upcoming",
                [
                    "3 cuff readings in the 15 days before the report "
                    "(30 January 2027 to 11 March 2027)"
                ],
            ),
            ("end_of_period", "upcoming", [f"3 cuff readings {UPCOMING_END}"]),
        ],
    ),
    (
        "CKM with diabetes and obesity, day 5",
        period("CKM", "diabetes", "obesity"),
        {},
        [],
        5,
        [
            (
                "baseline",
                "open",
                [
                    "3 more cuff readings before 2 September 2026",
                    "a weight measurement by 2 September 2026",
                    "an HbA1c result",
                    "an LDL result",
                    "an eGFR result and a UACR result",
                ],
            ),
            (
                "quarterly",
                "upcoming",
                [
                    f"3 cuff readings {UPCOMING_Q1}",
                    f"a weight measurement {UPCOMING_Q1}",
                    "an HbA1c result from the 365 days before the report",
                    "an LDL result from the 365 days before the report",
                ],
            ),
            (
                "end_of_period",
                "upcoming",
                [
                    f"3 cuff readings {UPCOMING_END}",
                    f"a weight measurement {UPCOMING_END}",
                    "an HbA1c result from the 365 days before the report",
                    "an LDL result from the 365 days before the report",
                ],
            ),
        ],
    ),
    (
        "BH, day 190: end of period and a quarterly open, WHODAS and PGIC missing",
        BH,
        {PHQ9: points([(5, 18), (180, 12)]), WHODAS: points([(5, 30)])},
        [report("baseline", 10)],
        190,
        [
            ("baseline", "reported", []),
            ("quarterly", "missed", []),
            (
                "end_of_period",
                "open",
                [
                    "the Function (WHODAS 2.0, 12 items) check-in by 2 September 2027",
                    "the Global impression of change (PGIC) check-in by 2 September 2027",
                ],
            ),
            ("quarterly", "open", []),  # days 190-230; the PHQ-9 of day 180 counts
        ],
    ),
]


@pytest.mark.parametrize(
    ("p", "sources", "reports", "today", "expected"),
    [pytest.param(*r[1:], id=r[0]) for r in WINDOW_NEEDS],
)
def test_window_needs(
    p: CarePeriod,
    sources: Sources,
    reports: list[ReportFacts],
    today: int,
    expected: list[tuple[str, str, list[str]]],
) -> None:
    standing = standing_of(p, sources, today, reports)
    found = [(w.state.window.type, w.state.status, w.needed) for w in standing.windows]
    assert found == expected


# --- a submission that was never reported ------------------------------------------------------


# (case, eGFR/UACR results, projected): a CKM patient with diabetes meeting every target on day
# 372; eGFR and UACR are reported with the baseline only, and without them the period cannot
# attain (docs/rules.md "Attainment": every applicable submission-only measure reported).
KIDNEY: list[tuple[str, Sources, Status, bool]] = [
    (
        "eGFR and UACR before day 60",
        {"egfr": points([(10, 52)]), "uacr": points([(12, 45)])},
        "met",
        True,
    ),
    ("never reported", {}, "no_baseline", False),
    (
        "only after day 60",
        {"egfr": points([(70, 52)]), "uacr": points([(70, 45)])},
        "no_baseline",
        False,
    ),
]


@pytest.mark.parametrize(
    ("kidney", "status", "projected"), [pytest.param(*r[1:], id=r[0]) for r in KIDNEY]
)
def test_a_period_without_egfr_and_uacr_cannot_attain(
    kidney: Sources, status: Status, projected: bool
) -> None:
    sources = {
        BP: cuff(*BASELINE_160, (370, 125), (371, 125), (372, 125)),
        "hba1c": points([(-99, 8.4), (300, 7.5)]),
        "ldl": points([(-99, 120), (300, 80)]),
        **kidney,
    }
    standing = standing_of(CKM, sources, 372)
    assert [measure(standing, m).status for m in ("blood_pressure", "hba1c", "ldl")] == [
        "met",
        "met",
        "met",
    ]
    assert measure(standing, "egfr_uacr").status == status
    assert standing.projected is projected


def test_a_missing_eckm_hba1c_baseline_is_shown() -> None:
    """docs/api.md: a period with no valid baseline for a measure shows it as no_baseline."""
    sources = {"ldl": LABS["ldl"], BP: cuff(*BASELINE_160, (98, 125), (99, 125), (100, 125))}
    standing = standing_of(ECKM, sources, 100)
    assert standing.projected is False
    assert standing.statuses == {"met", "no_baseline"}
    assert measure(standing, "hba1c").status == "no_baseline"
