"""The alerts the date opens, against docs/rules.md "Alert episodes" (`no_data`, `report_due`).

The ruleset's `[alerts]`: no_data after more than 7 days without data for eCKM and CKM, 10 for
MSK, 17 for BH (labs aside); report_due once a window without a complete report closes within
7 days, that day included. Day 1 is 2026-07-05; the baseline window closes on day 60. Expected
days are written out here, not recomputed by the code.
"""

from __future__ import annotations

import tomllib
import uuid
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from app.alerts.standing import Period, next_change, wanted
from app.outcomes.observations import CarePeriod
from app.outcomes.rules import DEFAULT_RULESET, Ruleset
from tests.outcomes.test_need import BASELINE, BH, ECKM, END, RULES, START, cuff, day
from tests.outcomes.test_need import Period as At

NEW_YORK = "America/New_York"
ENROLLMENT = uuid.UUID("00000000-0000-4000-8000-0000000000e1")
LIPIDS_ONLY = CarePeriod("eCKM", ("dyslipidemia",), START, END)


def phq9(*days: int) -> list[Any]:
    return cuff(*days, systolic=12.0)


def alerts(at: At, resolved: dict[str, date] | None = None) -> list[tuple[str, str, date]]:
    """(kind, condition without the enrollment, the local day it begins) of what is wanted."""
    found = wanted(
        [Period(ENROLLMENT, at.standing(), at.sources)],
        rules=RULES,
        zone=NEW_YORK,
        resolved_on=resolved or {},
    )
    return [
        (
            w.kind,
            w.condition.replace(f"{ENROLLMENT}:", ""),
            w.first_at.astimezone(ZoneInfo(NEW_YORK)).date(),
        )
        for w in found
    ]


def no_data(track: str, on: int) -> tuple[str, str, date]:
    return ("no_data", f"no_data:{track}", day(on))


def report_due(on: int) -> tuple[str, str, date]:
    return ("report_due", f"report_due:baseline:{START.isoformat()}", day(on))


CASES: list[tuple[str, At, list[tuple[str, str, date]]]] = [
    ("a new period: 7 quiet days are nothing", At(ECKM, 7), []),
    ("a new period: day 8 is the 8th without data", At(ECKM, 8), [no_data("eCKM", 8)]),
    ("data on day 10: day 17 is the 7th day after", At(ECKM, 17, {"blood_pressure": cuff(10)}), []),
    (
        "data on day 10: no_data from day 18",
        At(ECKM, 18, {"blood_pressure": cuff(10)}),
        [no_data("eCKM", 18)],
    ),
    (
        "labs are not what the silence is about",
        At(ECKM, 20, {"blood_pressure": cuff(10), "ldl": cuff(19, systolic=90.0)}),
        [no_data("eCKM", 18)],
    ),
    ("only lab measures apply: no no_data", At(LIPIDS_ONLY, 30), []),
    ("BH: 17 days after a PHQ-9 are nothing", At(BH, 18, {"checkin:phq9:total": phq9(1)}), []),
    (
        "BH: day 19 is the 18th",
        At(BH, 19, {"checkin:phq9:total": phq9(1)}),
        [no_data("BH", 19)],
    ),
    ("disenrolled: nothing", At(ECKM, 30, disenrolled=True), []),
    ("a period not started: nothing", At(ECKM, -3), []),
    (
        "baseline closing in 8 days: not yet",
        At(ECKM, 52, {"blood_pressure": cuff(50)}),
        [],
    ),
    (
        "baseline closing in 7 days without a report: report_due",
        At(ECKM, 53, {"blood_pressure": cuff(50)}),
        [report_due(53)],
    ),
    (
        "closing on the day itself",
        At(ECKM, 60, {"blood_pressure": cuff(58)}),
        [report_due(53)],
    ),
    (
        "reported: nothing due",
        At(ECKM, 60, {"blood_pressure": cuff(58)}, reports=[BASELINE]),
        [],
    ),
    ("closed (missed): nothing due", At(ECKM, 61, {"blood_pressure": cuff(58)}), []),
]


@pytest.mark.parametrize(("at", "expected"), [pytest.param(a, e, id=n) for n, a, e in CASES])
def test_wanted(at: At, expected: list[tuple[str, str, date]]) -> None:
    assert alerts(at) == expected


def test_a_resolution_restarts_the_silence() -> None:
    resolved = {"no_data:eCKM": day(20)}
    assert alerts(At(ECKM, 27), resolved) == []
    assert alerts(At(ECKM, 28), resolved) == [no_data("eCKM", 28)]


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (At(ECKM, 10, {"blood_pressure": cuff(5)}), 13),  # silence reaches 7 days
        (At(ECKM, 14, {"blood_pressure": cuff(13)}), 21),
        (At(ECKM, 50, {"blood_pressure": cuff(49)}), 53),  # baseline due within 7 days
        (At(ECKM, 55, {"blood_pressure": cuff(54)}), 61),  # baseline window closes
        (At(ECKM, -3), 1),  # the period starts
    ],
)
def test_the_next_day_the_date_changes_them(at: At, expected: int) -> None:
    periods = [Period(ENROLLMENT, at.standing(), at.sources)]
    assert next_change(periods, rules=RULES) == day(expected)


def test_first_at_is_the_local_midnight_it_begins() -> None:
    (found,) = wanted(
        [Period(ENROLLMENT, At(ECKM, 8).standing(), {})],
        rules=RULES,
        zone=NEW_YORK,
        resolved_on={},
    )
    assert found.first_at == datetime(2026, 7, 12, 4, 0, tzinfo=ZoneInfo("UTC"))
    assert found.details == {"track": "eCKM", "days": 7, "last_data_on": None}
    assert found.source_id == ENROLLMENT


def _ruleset_with(**alerts: Any) -> dict[str, Any]:
    data = tomllib.loads(DEFAULT_RULESET.read_text())
    data["alerts"] = {**data["alerts"], **alerts}
    return data


@pytest.mark.parametrize(
    ("alerts", "message"),
    [
        ({"no_data_days": {"eCKM": 7, "CKM": 7, "MSK": 10}}, "no value for BH"),
        ({"no_data_days": {"eCKM": 30, "CKM": 7, "MSK": 10, "BH": 17}}, "under 30 days"),
        ({"no_data_days": {"eCKM": 0, "CKM": 7, "MSK": 10, "BH": 17}}, "at least 1 day"),
        ({"report_due_days": -1}, "greater than or equal to 0"),
    ],
)
def test_the_ruleset_refuses_alert_numbers_it_cannot_keep(
    alerts: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Ruleset.model_validate(_ruleset_with(**alerts))


def test_the_ruleset_numbers_are_the_documented_ones() -> None:
    # docs/rules.md "Alert episodes", "No data and reports due".
    assert RULES.alerts.no_data_days == {"eCKM": 7, "CKM": 7, "MSK": 10, "BH": 17}
    assert RULES.alerts.report_due_days == 7
