"""A patient's need score and its reasons against docs/rules.md "Need score (the clinician
panel's order)", on standings evaluated from small synthetic timelines with the real ruleset.

Day 1 is START (2026-07-05); day 60 closes the baseline window (2 September 2026); the
end-of-period window closes on day 425 (2 September 2027). The weights are the ruleset's:
urgent alert 100, warning alert 20, report due soon 40, off track 30, no baseline 25, projected
short 15, report missed 10, insufficient data 10, and 2 a day of silence beyond 3 days, at most
40. Scores and sentences are written out, never recomputed by the code.
"""

from __future__ import annotations

import tomllib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import pytest
from pydantic import ValidationError

from app.outcomes.calendar import ReportFacts
from app.outcomes.need import Reason, last_data_day, need_of
from app.outcomes.observations import CarePeriod, Point, Value
from app.outcomes.rules import DEFAULT_RULESET, ReportType, Ruleset, Track, load_ruleset
from app.outcomes.standing import Standing, evaluate
from app.outcomes.values import Sources

RULES = load_ruleset()
START = date(2026, 7, 5)
END = date(2027, 7, 4)  # day 365
BP = "blood_pressure"
PHQ9 = "checkin:phq9:total"
ECKM = CarePeriod("eCKM", ("hypertension",), START, END)
BH = CarePeriod("BH", ("depression",), START, END)


def day(n: int) -> date:
    """The date of care-period day `n` (day 1 = START)."""
    return START + timedelta(days=n - 1)


def cuff(*days: int, systolic: float = 150.0) -> list[Point]:
    return [
        Point(uuid.uuid4(), datetime.combine(day(d), time(8), tzinfo=UTC), day(d), systolic)
        for d in days
    ]


def report(
    report_type: ReportType, n: int, *, attained: bool | None = None, **values: float
) -> ReportFacts:
    at = datetime.combine(day(n), time(12), tzinfo=UTC)
    facts = {k: Value(v, at, 1, ()) for k, v in values.items()}
    return ReportFacts(uuid.uuid4(), report_type, day(n), True, attained, facts)


# A complete baseline report on day 60 with every value an eCKM baseline needs.
BASELINE = report("baseline", 60, blood_pressure=150.0, hba1c=5.5, ldl=90.0)


@dataclass(frozen=True)
class Period:
    """A care period on care-period day `today`, with its data and reports."""

    period: CarePeriod
    today: int
    sources: Sources = field(default_factory=dict)
    reports: Sequence[ReportFacts] = ()
    disenrolled: bool = False

    def standing(self) -> Standing:
        return evaluate(
            self.period,
            rules=RULES,
            sources=self.sources,
            reports=self.reports,
            today=day(self.today),
            disenrolled=self.disenrolled,
        )

    def with_last_day(self) -> tuple[Standing, date | None]:
        return self.standing(), last_data_day(self.period, rules=RULES, sources=self.sources)


def r(code: str, points: int, text: str, track: Track | None = "eCKM") -> Reason:
    return Reason(code, points, text, track)  # type: ignore[arg-type]


PROJECTED = "An end-of-period report today would not attain"

# (case, periods, open alerts by severity, score, reasons in order)
CASES: list[tuple[str, list[Period], dict[str, int], int, list[Reason]]] = [
    ("no periods, no alerts", [], {}, 0, []),
    (
        "alerts only: per alert, info ignored",
        [],
        {"urgent": 2, "warning": 1, "info": 4},
        220,
        [
            r("urgent_alerts", 200, "2 open urgent alerts", None),
            r("warning_alerts", 20, "1 open warning alert", None),
        ],
    ),
    ("no open alert counts nothing", [], {"urgent": 0, "warning": 0}, 0, []),
    (
        "baseline window open, no data at all",
        [Period(ECKM, 10)],
        {},
        65,
        [
            r("no_recent_data", 40, "No data the eCKM track needs in the last 30 days"),
            r("projected_short", 15, f"{PROJECTED} (eCKM)"),
            r("insufficient_data", 10, "Blood pressure (systolic) lacks data (eCKM)"),
        ],
    ),
    (
        "baseline due soon without HbA1c and LDL, blood pressure off track",
        [Period(ECKM, 50, {BP: cuff(48, 49, 50)})],
        {},
        85,
        [
            r(
                "report_due_soon",
                40,
                "Baseline report (eCKM) due by 2 September 2026, 2 items missing",
            ),
            r("off_track", 30, "Blood pressure (systolic) off track (eCKM)"),
            r("projected_short", 15, f"{PROJECTED} (eCKM)"),
        ],
    ),
    (
        "baseline window missed: three measures without a baseline, 6 quiet days",
        [Period(ECKM, 70, {BP: cuff(62, 63, 64)})],
        {},
        106,
        [
            r("no_baseline", 25, "Blood pressure (systolic) has no baseline (eCKM)"),
            r("no_baseline", 25, "HbA1c has no baseline (eCKM)"),
            r("no_baseline", 25, "LDL cholesterol has no baseline (eCKM)"),
            r("projected_short", 15, f"{PROJECTED} (eCKM)"),
            r("report_missed", 10, "Baseline report (eCKM) missed, closed 2 September 2026"),
            r("no_recent_data", 6, "No data the eCKM track needs for 6 days"),
        ],
    ),
    (
        "quarterly due soon, one cuff reading in 15 days",
        [Period(ECKM, 160, {BP: cuff(100, 101, 102, 158)}, [BASELINE])],
        {"warning": 2},
        105,
        [
            r("warning_alerts", 40, "2 open warning alerts", None),
            r(
                "report_due_soon",
                40,
                "Quarterly report (eCKM) due by 21 December 2026, 1 item missing",
            ),
            r("projected_short", 15, f"{PROJECTED} (eCKM)"),
            r("insufficient_data", 10, "Blood pressure (systolic) lacks data (eCKM)"),
        ],
    ),
    (
        "completed, end of period due soon: three quarterlies missed, no silence counted",
        [Period(ECKM, 420, {BP: cuff(410, 411, 412)}, [BASELINE])],
        {},
        115,
        [
            r(
                "report_due_soon",
                40,
                "End-of-period report (eCKM) due by 2 September 2027, nothing missing",
            ),
            r("off_track", 30, "Blood pressure (systolic) off track (eCKM)"),
            r("projected_short", 15, f"{PROJECTED} (eCKM)"),
            r("report_missed", 10, "Quarterly report (eCKM) missed, closed 21 December 2026"),
            r("report_missed", 10, "Quarterly report (eCKM) missed, closed 10 April 2027"),
            r("report_missed", 10, "Quarterly report (eCKM) missed, closed 29 July 2027"),
        ],
    ),
    (
        "two periods: same reasons by track order, whatever the order given",
        [Period(BH, 10), Period(ECKM, 10)],
        {},
        140,
        [
            r("no_recent_data", 40, "No data the eCKM track needs in the last 30 days"),
            r("no_recent_data", 40, "No data the BH track needs in the last 30 days", "BH"),
            r("projected_short", 15, f"{PROJECTED} (eCKM)"),
            r("projected_short", 15, f"{PROJECTED} (BH)", "BH"),
            r("insufficient_data", 10, "Blood pressure (systolic) lacks data (eCKM)"),
            r("insufficient_data", 10, "Depression (PHQ-9) lacks data (BH)", "BH"),
            r("insufficient_data", 10, "Function (WHODAS 2.0, 12 items) lacks data (BH)", "BH"),
        ],
    ),
    (
        "attained early: only the alerts count",
        [Period(ECKM, 300, reports=[BASELINE, report("end_of_period", 290, attained=True)])],
        {"urgent": 1},
        100,
        [r("urgent_alerts", 100, "1 open urgent alert", None)],
    ),
    ("end-of-period window closed unreported: decided", [Period(ECKM, 430)], {}, 0, []),
    (
        "disenrolled: nothing",
        [Period(ECKM, 10, disenrolled=True)],
        {"warning": 1},
        20,
        [r("warning_alerts", 20, "1 open warning alert", None)],
    ),
]


@pytest.mark.parametrize(
    ("periods", "alerts", "score", "reasons"), [pytest.param(*c[1:], id=c[0]) for c in CASES]
)
def test_need(
    periods: list[Period], alerts: dict[str, int], score: int, reasons: list[Reason]
) -> None:
    need = need_of([p.with_last_day() for p in periods], rules=RULES, open_alerts=alerts)
    assert list(need.reasons) == reasons
    assert need.score == score


def test_the_order_of_periods_given_does_not_matter() -> None:
    eckm = Period(ECKM, 70, {BP: cuff(62, 63, 64)}).with_last_day()
    bh = Period(BH, 10).with_last_day()
    need = need_of([eckm, bh], rules=RULES, open_alerts={})
    assert need == need_of([bh, eckm], rules=RULES, open_alerts={})
    assert need.score == 106 + 75


# (case, last data day as a care-period day or None, points, sentence); today is day 10.
QUIET: list[tuple[str, int | None, int | None, str | None]] = [
    ("data today", 10, None, None),
    ("3 days: not yet", 7, None, None),
    ("4 days", 6, 2, "No data the eCKM track needs for 4 days"),
    ("22 days", -12, 38, "No data the eCKM track needs for 22 days"),
    ("23 days: at the cap", -13, 40, "No data the eCKM track needs for 23 days"),
    ("24 days: capped", -14, 40, "No data the eCKM track needs for 24 days"),
    (
        "none loaded: the 30-day lookback",
        None,
        40,
        "No data the eCKM track needs in the last 30 days",
    ),
]


@pytest.mark.parametrize(("last", "points", "text"), [pytest.param(*c[1:], id=c[0]) for c in QUIET])
def test_no_recent_data(last: int | None, points: int | None, text: str | None) -> None:
    standing = Period(ECKM, 10).standing()
    need = need_of([(standing, None if last is None else day(last))], rules=RULES, open_alerts={})
    quiet = [x for x in need.reasons if x.code == "no_recent_data"]
    assert quiet == ([] if points is None else [r("no_recent_data", points, text or "")])
    assert need.score == 25 + (points or 0)  # projected short 15, blood pressure lacks data 10


# (case, period, sources, the last data day as a care-period day)
LAST_DAYS: list[tuple[str, CarePeriod, Sources, int | None]] = [
    ("nothing", ECKM, {}, None),
    ("an empty source", ECKM, {BP: []}, None),
    ("the latest reading", ECKM, {BP: cuff(3, 9, 5)}, 9),
    ("a lab the track needs", ECKM, {BP: cuff(3), "hba1c": cuff(12)}, 12),
    ("other tracks' data ignored", ECKM, {BP: cuff(3), PHQ9: cuff(20), "glucose": cuff(21)}, 3),
    ("a check-in", BH, {BP: cuff(30), PHQ9: cuff(20)}, 20),
]


@pytest.mark.parametrize(
    ("period", "sources", "last"), [pytest.param(*c[1:], id=c[0]) for c in LAST_DAYS]
)
def test_last_data_day(period: CarePeriod, sources: Sources, last: int | None) -> None:
    assert last_data_day(period, rules=RULES, sources=sources) == (
        None if last is None else day(last)
    )


def test_every_weight_comes_from_the_ruleset() -> None:
    weights = RULES.need.model_copy(
        update={
            "points_per_urgent_alert": 7,
            "insufficient_data": 0,  # a weight of 0 drops the reason
            "quiet_after_days": 0,
            "per_quiet_day": 5,
            "quiet_cap": 1000,
        }
    )
    rules = RULES.model_copy(update={"need": weights})
    need = need_of([(Period(ECKM, 10).standing(), None)], rules=rules, open_alerts={"urgent": 3})
    assert need.reasons == (
        r("no_recent_data", 150, "No data the eCKM track needs in the last 30 days"),
        r("urgent_alerts", 21, "3 open urgent alerts", None),
        r("projected_short", 15, f"{PROJECTED} (eCKM)"),
    )
    assert need.score == 186


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"off_track": -1}, "off_track", id="a negative weight"),
        pytest.param({"quiet_cap": None}, "quiet_cap", id="a missing weight"),
        pytest.param({"surprise": 1}, "surprise", id="an unknown weight"),
    ],
)
def test_a_bad_need_section_is_refused(change: dict[str, int | None], message: str) -> None:
    data = tomllib.loads(DEFAULT_RULESET.read_text())
    for key, value in change.items():
        if value is None:
            del data["need"][key]
        else:
            data["need"][key] = value
    with pytest.raises(ValidationError, match=message):
        Ruleset.model_validate(data)
