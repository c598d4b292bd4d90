"""What a report holds and whether it shows attainment, against docs/rules.md "Outcome measures",
"Data rules" and "Reporting calendar", with the real ruleset (and one changed rule for "any").

Which measures a report type needs is written out per track and conditions; a complete
end-of-period report judges each applicable target (met / not met / no baseline) and only
then says whether the period attained.
"""

from __future__ import annotations

import tomllib
import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest

from app.outcomes.observations import CarePeriod, Point, Value
from app.outcomes.rules import (
    DEFAULT_RULESET,
    MeasureName,
    ReportType,
    Ruleset,
    Track,
    load_ruleset,
)
from app.outcomes.snapshot import Baseline, Judgement, compose, required
from app.outcomes.values import Sources

RULES = load_ruleset()
START = date(2026, 7, 5)
END = date(2027, 7, 4)  # day 365


def day(n: int) -> date:
    """The date of care-period day `n` (day 1 = START)."""
    return START + timedelta(days=n - 1)


def pt(n: int, value: float, hour: int = 8) -> Point:
    d = day(n)
    return Point(uuid.uuid4(), datetime.combine(d, time(hour), tzinfo=UTC), d, value)


def period(track: Track, *conditions: str) -> CarePeriod:
    return CarePeriod(track, conditions, START, END)


def base(value: float, on: int = 30) -> Baseline:
    at = datetime.combine(day(on), time(8), tzinfo=UTC)
    return Baseline(Value(value, at, 1, ()), day(on), from_report=True)


BP: list[MeasureName] = ["blood_pressure"]

# (track, conditions, report type, the measures it needs, in measure order)
REQUIRED: list[tuple[Track, tuple[str, ...], ReportType, list[str]]] = [
    # eCKM: every baseline needs HbA1c and LDL, even for hypertension only.
    ("eCKM", ("hypertension",), "baseline", ["blood_pressure", "hba1c", "ldl"]),
    ("eCKM", ("hypertension",), "quarterly", ["blood_pressure"]),
    ("eCKM", ("hypertension",), "end_of_period", ["blood_pressure"]),
    ("eCKM", ("dyslipidemia", "prediabetes"), "baseline", ["hba1c", "ldl"]),
    ("eCKM", ("dyslipidemia", "prediabetes"), "quarterly", ["hba1c", "ldl"]),
    ("eCKM", ("dyslipidemia", "prediabetes"), "end_of_period", ["hba1c", "ldl"]),
    ("eCKM", ("hypertension", "obesity"), "baseline", ["blood_pressure", "weight", "hba1c", "ldl"]),
    ("eCKM", ("hypertension", "obesity"), "quarterly", ["blood_pressure", "weight"]),
    ("eCKM", ("overweight_central", "prediabetes"), "quarterly", ["weight", "hba1c"]),
    ("eCKM", ("overweight_central", "dyslipidemia"), "end_of_period", ["weight", "ldl"]),
    # CKM: BP and LDL always; eGFR/UACR only at baseline, only with CKD or diabetes.
    ("CKM", ("ascvd",), "baseline", ["blood_pressure", "ldl"]),
    ("CKM", ("ascvd",), "end_of_period", ["blood_pressure", "ldl"]),
    ("CKM", ("diabetes",), "baseline", ["blood_pressure", "hba1c", "ldl", "egfr_uacr"]),
    ("CKM", ("diabetes",), "quarterly", ["blood_pressure", "hba1c", "ldl"]),
    ("CKM", ("diabetes",), "end_of_period", ["blood_pressure", "hba1c", "ldl"]),
    ("CKM", ("ckd_3a",), "baseline", ["blood_pressure", "ldl", "egfr_uacr"]),
    ("CKM", ("ckd_3b", "obesity"), "baseline", ["blood_pressure", "weight", "ldl", "egfr_uacr"]),
    ("CKM", ("ckd_3b", "obesity"), "quarterly", ["blood_pressure", "weight", "ldl"]),
    # MSK: the three PROMs each time; PGIC at the end of the period.
    (
        "MSK",
        ("chronic_msk_pain",),
        "baseline",
        ["pain_intensity", "pain_interference", "physical_function"],
    ),
    (
        "MSK",
        ("chronic_msk_pain",),
        "quarterly",
        ["pain_intensity", "pain_interference", "physical_function"],
    ),
    (
        "MSK",
        ("chronic_msk_pain",),
        "end_of_period",
        ["pain_intensity", "pain_interference", "physical_function", "global_impression"],
    ),
    # BH: WHODAS at baseline and end of period; PGIC at the end of the period.
    ("BH", ("depression",), "baseline", ["depression", "function_whodas"]),
    ("BH", ("depression",), "quarterly", ["depression"]),
    (
        "BH",
        ("depression",),
        "end_of_period",
        ["depression", "function_whodas", "global_impression"],
    ),
    ("BH", ("anxiety",), "baseline", ["anxiety", "function_whodas"]),
    ("BH", ("depression", "anxiety"), "quarterly", ["depression", "anxiety"]),
    (
        "BH",
        ("depression", "anxiety"),
        "end_of_period",
        ["depression", "anxiety", "function_whodas", "global_impression"],
    ),
]


@pytest.mark.parametrize(("track", "conditions", "report_type", "expected"), REQUIRED)
def test_required(
    track: Track, conditions: tuple[str, ...], report_type: ReportType, expected: list[str]
) -> None:
    found = required(period(track, *conditions), rules=RULES, report_type=report_type)
    assert [m.name for m in found] == expected


# (measure, report type, track, conditions, required): `MeasureRule.required_in` on its own.
REQUIRED_IN: list[tuple[MeasureName, ReportType, Track, tuple[str, ...], bool]] = [
    ("hba1c", "baseline", "eCKM", ("hypertension",), True),  # baseline_for eCKM
    ("hba1c", "quarterly", "eCKM", ("hypertension",), False),
    ("hba1c", "baseline", "CKM", ("ascvd",), False),  # baseline_for is eCKM only
    ("ldl", "baseline", "eCKM", ("hypertension",), True),
    ("ldl", "end_of_period", "eCKM", ("hypertension",), False),
    ("egfr_uacr", "baseline", "CKM", ("diabetes",), True),
    ("egfr_uacr", "end_of_period", "CKM", ("diabetes",), False),
    ("egfr_uacr", "baseline", "CKM", ("ascvd",), False),
    ("function_whodas", "quarterly", "BH", ("depression",), False),
    ("function_whodas", "end_of_period", "BH", ("depression",), True),
    ("global_impression", "baseline", "BH", ("depression",), False),
    ("global_impression", "end_of_period", "MSK", ("chronic_msk_pain",), True),
    ("blood_pressure", "quarterly", "eCKM", ("dyslipidemia", "obesity"), False),
]


@pytest.mark.parametrize(("measure", "report_type", "track", "conditions", "needed"), REQUIRED_IN)
def test_required_in(
    measure: MeasureName,
    report_type: ReportType,
    track: Track,
    conditions: tuple[str, ...],
    needed: bool,
) -> None:
    rule = RULES.measure(measure)
    assert rule.required_in(report_type, track=track, conditions=conditions) is needed


# --- composing a report -----------------------------------------------------------------------

# A CKM patient with diabetes: the end-of-period report needs BP, HbA1c and LDL.
CKM_END: Sources = {
    "blood_pressure": [pt(370, 124, 7), pt(371, 125, 7), pt(372, 126, 7)],  # mean 125: < 130
    "hba1c": [pt(300, 7.5)],  # 8.0 -> 7.5: down 0.5
    "ldl": [pt(300, 80)],  # 120 -> 80: down 33 %
}
CKM_BASELINES: dict[MeasureName, Baseline] = {
    "blood_pressure": base(150),
    "hba1c": base(8.0),
    "ldl": base(120),
    "egfr_uacr": base(52),  # reported with the baseline only; judged by no target
}

# (case, sources, baselines, report day, complete, missing, judgements, attained)
END_OF_PERIOD: list[
    tuple[
        str,
        Sources,
        dict[MeasureName, Baseline],
        int,
        bool,
        list[str],
        dict[str, Judgement | None],
        bool | None,
    ]
] = [
    (
        "complete, every target met",
        CKM_END,
        CKM_BASELINES,
        372,
        True,
        [],
        {"blood_pressure": "met", "hba1c": "met", "ldl": "met"},
        True,
    ),
    (
        "complete, HbA1c down only 0.2",
        {**CKM_END, "hba1c": [pt(300, 7.8)]},
        CKM_BASELINES,
        372,
        True,
        [],
        {"blood_pressure": "met", "hba1c": "not_met", "ldl": "met"},
        False,
    ),
    (
        "complete, no LDL baseline: never met",
        CKM_END,
        {"blood_pressure": base(150), "hba1c": base(8.0), "egfr_uacr": base(52)},
        372,
        True,
        [],
        {"blood_pressure": "met", "hba1c": "met", "ldl": "no_baseline"},
        False,
    ),
    (
        "complete, every target met, eGFR/UACR never reported",
        CKM_END,
        {"blood_pressure": base(150), "hba1c": base(8.0), "ldl": base(120)},
        372,
        True,
        [],
        {"blood_pressure": "met", "hba1c": "met", "ldl": "met"},
        False,
    ),
    (
        "no LDL within 365 days: incomplete, no attainment either way",
        {**CKM_END, "ldl": [pt(7, 80)]},
        CKM_BASELINES,
        372,
        False,
        ["ldl"],
        {"blood_pressure": "met", "hba1c": "met", "ldl": None},
        None,
    ),
    (
        "two cuff readings in the 15 days: incomplete",
        {**CKM_END, "blood_pressure": [pt(350, 124), pt(371, 125), pt(372, 126)]},
        CKM_BASELINES,
        372,
        False,
        ["blood_pressure"],
        {"blood_pressure": None, "hba1c": "met", "ldl": "met"},
        None,
    ),
]


@pytest.mark.parametrize(
    ("sources", "baselines", "report_day", "complete", "missing", "judgements", "attained"),
    [pytest.param(*r[1:], id=r[0]) for r in END_OF_PERIOD],
)
def test_end_of_period_report(
    sources: Sources,
    baselines: dict[MeasureName, Baseline],
    report_day: int,
    complete: bool,
    missing: list[str],
    judgements: dict[str, Judgement | None],
    attained: bool | None,
) -> None:
    snapshot = compose(
        period("CKM", "diabetes"),
        rules=RULES,
        report_type="end_of_period",
        report_date=day(report_day),
        sources=sources,
        baselines=baselines,
    )
    assert (snapshot.complete, snapshot.missing) == (complete, missing)
    assert {m.rule.name: m.judgement for m in snapshot.measures} == judgements
    assert snapshot.attained is attained


def test_values_are_those_of_the_report_date() -> None:
    snapshot = compose(
        period("CKM", "diabetes"),
        rules=RULES,
        report_type="end_of_period",
        report_date=day(372),
        sources=CKM_END,
        baselines=CKM_BASELINES,
    )
    values = {m.rule.name: (m.value.value, m.value.n) for m in snapshot.measures if m.value}
    assert values == {"blood_pressure": (125.0, 3), "hba1c": (7.5, 1), "ldl": (80, 1)}
    assert (snapshot.report_type, snapshot.report_date) == ("end_of_period", day(372))


# (case, report type, complete, missing): baseline and quarterly reports never judge.
OTHER_REPORTS: list[tuple[str, ReportType, Sources, bool, list[str]]] = [
    (
        "baseline, complete",
        "baseline",
        {
            "blood_pressure": CKM_END["blood_pressure"],
            "hba1c": [pt(300, 8.0)],
            "ldl": [pt(300, 120)],
            "egfr": [pt(300, 52)],
            "uacr": [pt(300, 45)],
        },
        True,
        [],
    ),
    (
        "baseline without UACR",
        "baseline",
        {**CKM_END, "egfr": [pt(300, 52)]},
        False,
        ["egfr_uacr"],
    ),
    ("quarterly, complete", "quarterly", CKM_END, True, []),
    (
        "quarterly without labs",
        "quarterly",
        {"blood_pressure": CKM_END["blood_pressure"]},
        False,
        ["hba1c", "ldl"],
    ),
]


@pytest.mark.parametrize(
    ("report_type", "sources", "complete", "missing"),
    [pytest.param(*r[1:], id=r[0]) for r in OTHER_REPORTS],
)
def test_baseline_and_quarterly_reports_never_judge(
    report_type: ReportType, sources: Sources, complete: bool, missing: list[str]
) -> None:
    snapshot = compose(
        period("CKM", "diabetes"),
        rules=RULES,
        report_type=report_type,
        report_date=day(372),
        sources=sources,
        baselines=CKM_BASELINES,
    )
    assert (snapshot.complete, snapshot.missing) == (complete, missing)
    assert [m.judgement for m in snapshot.measures] == [None] * len(snapshot.measures)
    assert snapshot.attained is None


# --- "all" versus "any" -----------------------------------------------------------------------

MSK_BASELINES: dict[MeasureName, Baseline] = {
    "pain_intensity": base(8),
    "pain_interference": base(62.5),
    "physical_function": base(36.8),
}


def _msk(pain: float, pgic: bool = True) -> Sources:
    """An MSK end of period: pain as given, interference and function unchanged."""
    sources: Sources = {
        "checkin:pain_nrs:total": [pt(360, pain)],
        "checkin:promis_pi_6a:t_score": [pt(360, 62.5)],
        "checkin:promis_pf_6b:t_score": [pt(360, 36.8)],
    }
    return {**sources, "checkin:pgic:total": [pt(360, 5)]} if pgic else sources


def _msk_any() -> Ruleset:
    data = tomllib.loads(DEFAULT_RULESET.read_text())
    data["attainment"]["track_rule"] = {"MSK": "any"}
    return Ruleset.model_validate(data)


# (case, ruleset "all" or MSK "any", pain at the end, PGIC reported, attained)
RULE_ALL_ANY: list[tuple[str, str, float, bool, bool | None]] = [
    ("all: one of three met is not enough", "all", 6, True, False),
    ("any: one of three met attains", "any", 6, True, True),
    ("any: none met", "any", 7, True, False),
    ("any: without PGIC the report is incomplete", "any", 6, False, None),
]


@pytest.mark.parametrize(
    ("rule", "pain", "pgic", "attained"), [pytest.param(*r[1:], id=r[0]) for r in RULE_ALL_ANY]
)
def test_attainment_rule_all_or_any(
    rule: str, pain: float, pgic: bool, attained: bool | None
) -> None:
    rules = RULES if rule == "all" else _msk_any()
    assert rules.attainment.rule_for("MSK") == rule
    snapshot = compose(
        period("MSK", "chronic_msk_pain"),
        rules=rules,
        report_type="end_of_period",
        report_date=day(365),
        sources=_msk(pain, pgic),
        baselines=MSK_BASELINES,
    )
    assert snapshot.attained is attained


def test_msk_any_still_leaves_other_tracks_on_all() -> None:
    assert _msk_any().attainment.rule_for("CKM") == "all"


def test_a_complete_report_with_every_target_met_under_all() -> None:
    sources = {
        **_msk(6),
        "checkin:promis_pi_6a:t_score": [pt(360, 59.5)],
        "checkin:promis_pf_6b:t_score": [pt(360, 39.8)],
    }
    snapshot = compose(
        period("MSK", "chronic_msk_pain"),
        rules=RULES,
        report_type="end_of_period",
        report_date=day(365),
        sources=sources,
        baselines=MSK_BASELINES,
    )
    assert [m.judgement for m in snapshot.measures] == ["met", "met", "met", None]  # PGIC: none
    assert snapshot.attained is True


# What a baseline report must carry needs a baseline, although no target judges it
# (docs/rules.md "How this service applies the calendar": no baseline, no attainment).
ECKM_END: Sources = {"blood_pressure": CKM_END["blood_pressure"]}
BH_END: Sources = {
    "checkin:phq9:total": [pt(360, 8)],  # 18 -> 8: down 10
    "checkin:whodas12:total": [pt(360, 24)],
    "checkin:pgic:total": [pt(360, 6)],
}

# (case, period, sources, baselines, attained)
BASELINE_ONLY: list[tuple[str, CarePeriod, Sources, dict[MeasureName, Baseline], bool]] = [
    (
        "eCKM hypertension with HbA1c and LDL baselines",
        period("eCKM", "hypertension"),
        ECKM_END,
        {"blood_pressure": base(150), "hba1c": base(5.9), "ldl": base(110)},
        True,
    ),
    (
        "eCKM hypertension without an HbA1c baseline",
        period("eCKM", "hypertension"),
        ECKM_END,
        {"blood_pressure": base(150), "ldl": base(110)},
        False,
    ),
    (
        "eCKM hypertension without an LDL baseline",
        period("eCKM", "hypertension"),
        ECKM_END,
        {"blood_pressure": base(150), "hba1c": base(5.9)},
        False,
    ),
    (
        "BH with a WHODAS baseline (PGIC needs none)",
        period("BH", "depression"),
        BH_END,
        {"depression": base(18), "function_whodas": base(30)},
        True,
    ),
    (
        "BH without a WHODAS baseline",
        period("BH", "depression"),
        BH_END,
        {"depression": base(18)},
        False,
    ),
]


@pytest.mark.parametrize(
    ("p", "sources", "baselines", "attained"),
    [pytest.param(*r[1:], id=r[0]) for r in BASELINE_ONLY],
)
def test_what_the_baseline_report_carries_needs_a_baseline(
    p: CarePeriod, sources: Sources, baselines: dict[MeasureName, Baseline], attained: bool
) -> None:
    snapshot = compose(
        p,
        rules=RULES,
        report_type="end_of_period",
        report_date=day(372),
        sources=sources,
        baselines=baselines,
    )
    assert snapshot.complete is True
    assert [m.judgement for m in snapshot.measures if m.rule.kind == "target"] == ["met"]
    assert snapshot.attained is attained
