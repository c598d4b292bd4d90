"""Track qualification rules (docs/rules.md "Tracks and qualifying conditions"), table-driven."""

from __future__ import annotations

from datetime import date
from typing import get_args

import jsonschema_rs
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.outcomes.rules import load_ruleset
from app.patients.eligibility import enrollment_problem
from app.patients.schemas import Condition, EnrollmentCreate, Period, Region, Track

RULES = load_ruleset()


@pytest.mark.parametrize(
    ("track", "conditions", "region", "period"),
    [
        ("eCKM", ["hypertension"], None, "initial"),
        ("eCKM", ["dyslipidemia", "prediabetes"], None, "initial"),
        ("eCKM", ["obesity", "dyslipidemia"], None, "initial"),
        ("eCKM", ["overweight_central", "prediabetes"], None, "follow_on"),
        ("eCKM", ["hypertension", "obesity", "dyslipidemia", "prediabetes"], None, "initial"),
        ("CKM", ["diabetes"], None, "initial"),
        ("CKM", ["ckd_3a"], None, "initial"),
        ("CKM", ["ascvd", "hypertension", "dyslipidemia", "obesity"], None, "follow_on"),
        ("MSK", ["chronic_msk_pain"], None, "initial"),
        ("MSK", ["chronic_msk_pain"], "knee", "initial"),
        ("BH", ["depression"], None, "initial"),
        ("BH", ["anxiety"], None, "follow_on"),
        ("BH", ["depression", "anxiety"], None, "initial"),
    ],
)
def test_valid_enrollments(
    track: str, conditions: list[str], region: str | None, period: str
) -> None:
    assert enrollment_problem(track, conditions=conditions, region=region, period=period) is None


@pytest.mark.parametrize(
    ("track", "conditions", "region", "period", "fragment"),
    [
        ("eCKM", ["dyslipidemia"], None, "initial", "eCKM requires hypertension"),
        ("eCKM", ["prediabetes"], None, "initial", "two or more"),
        # Obesity and overweight-with-central-obesity are one criterion, not two.
        ("eCKM", ["obesity", "overweight_central"], None, "initial", "exclude each other"),
        ("eCKM", ["diabetes"], None, "initial", "qualifies for CKM"),
        ("eCKM", ["depression"], None, "initial", "not a eCKM condition"),
        ("CKM", ["hypertension"], None, "initial", "CKM requires one or more"),
        ("CKM", ["dyslipidemia", "obesity"], None, "initial", "CKM requires one or more"),
        ("CKM", ["diabetes", "prediabetes"], None, "initial", "not a CKM condition"),
        ("CKM", ["ckd_3a", "ckd_3b"], None, "initial", "exclude each other"),
        ("MSK", ["chronic_msk_pain"], None, "follow_on", "no follow-on"),
        ("MSK", ["depression"], None, "initial", "not a MSK condition"),
        ("BH", ["depression", "depression"], None, "initial", "listed once"),
        ("BH", ["chronic_msk_pain"], None, "initial", "not a BH condition"),
        ("BH", ["depression"], "knee", "initial", "region applies to MSK"),
    ],
)
def test_invalid_enrollments(
    track: str, conditions: list[str], region: str | None, period: str, fragment: str
) -> None:
    problem = enrollment_problem(track, conditions=conditions, region=region, period=period)
    assert problem is not None
    assert fragment in problem


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2026, 7, 5), date(2027, 7, 4)),
        (date(2026, 1, 1), date(2026, 12, 31)),
        (date(2027, 3, 1), date(2028, 2, 28)),  # 365 days, a leap day inside
        (date(2028, 2, 29), date(2029, 2, 27)),
    ],
)
def test_care_period_is_365_days(start: date, end: date) -> None:
    """Day 365 is the last day (docs/rules.md "Reporting calendar": day 365, EOP by day 425)."""
    assert RULES.calendar.end(start) == end
    assert (end - start).days + 1 == RULES.calendar.period_days == 365


ENROLLMENT_SCHEMA = jsonschema_rs.validator_for(EnrollmentCreate.model_json_schema())
CONDITIONS = get_args(Condition)


@settings(max_examples=400, derandomize=True, database=None, deadline=None)
@given(
    track=st.sampled_from(get_args(Track)),
    conditions=st.lists(st.sampled_from(CONDITIONS), min_size=1, max_size=4),
    region=st.sampled_from([None, *get_args(Region)]),
    period=st.sampled_from(get_args(Period)),
)
@example(track="eCKM", conditions=["dyslipidemia", "prediabetes"], region=None, period="initial")
@example(track="eCKM", conditions=["obesity", "prediabetes"], region=None, period="initial")
@example(track="CKM", conditions=["ckd_3b", "obesity"], region=None, period="follow_on")
@example(track="MSK", conditions=["chronic_msk_pain"], region="hip", period="initial")
def test_the_schema_states_the_rules_exactly(
    track: str, conditions: list[str], region: str | None, period: str
) -> None:
    """The OpenAPI schema refuses exactly the enrollments the rules refuse."""
    body = {
        "track": track,
        "conditions": conditions,
        "region": region,
        "period": period,
        "start_date": "2026-01-01",
    }
    problem = enrollment_problem(track, conditions=conditions, region=region, period=period)
    assert ENROLLMENT_SCHEMA.is_valid(body) is (problem is None), problem
