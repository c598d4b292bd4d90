"""Outcome targets against the table of docs/rules.md "Outcome measures", and the
baseline/current/status rules."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from app.outcomes.observations import CarePeriod, Point
from app.outcomes.rules import MeasureRule, RulesError, Ruleset, Track, load_ruleset
from app.outcomes.targets import Progress, attainment, evaluate, meets, trend_projection

RULES = load_ruleset()
START = date(2026, 7, 5)
END = date(2027, 7, 4)


def period(track: Track, *conditions: str, height_cm: float | None = 170.0) -> CarePeriod:
    return CarePeriod(track, tuple(conditions), START, END, height_cm)


def pt(day_offset: int, value: float, secondary: float | None = None, hour: int = 8) -> Point:
    day = START + timedelta(days=day_offset)
    return Point(uuid.uuid4(), datetime.combine(day, time(hour), tzinfo=UTC), day, value, secondary)


# (measure, track, conditions, baseline, current, met) straight from docs/rules.md "Outcome
# measures".
TARGETS = [
    ("blood_pressure", "eCKM", ["hypertension"], 150, 129.9, True),  # control < 130
    ("blood_pressure", "eCKM", ["hypertension"], 140, 130, False),
    ("blood_pressure", "CKM", ["diabetes"], 160, 145, True),  # drop >= 15
    ("blood_pressure", "CKM", ["diabetes"], 160, 145.1, False),
    ("blood_pressure", "CKM", ["diabetes"], None, 129, True),  # control needs no baseline
    ("weight", "eCKM", ["obesity", "hypertension"], 100, 95, True),  # loss >= 5 %
    ("weight", "eCKM", ["obesity", "hypertension"], 100, 95.1, False),
    ("weight", "CKM", ["diabetes", "overweight_central"], 80, 84, True),  # BMI 29.1, gain 5 %
    ("weight", "CKM", ["diabetes", "overweight_central"], 80, 84.1, False),  # gain > 5 %
    ("weight", "CKM", ["diabetes", "obesity"], 86, 87, False),  # BMI 30.1
    ("hba1c", "eCKM", ["prediabetes", "dyslipidemia"], 6.0, 5.6, True),  # < 5.7 %
    ("hba1c", "eCKM", ["prediabetes", "dyslipidemia"], 5.9, 5.7, False),
    ("hba1c", "CKM", ["diabetes"], 8.0, 6.9, True),  # < 7.0 %
    ("hba1c", "CKM", ["diabetes"], 7.4, 7.0, False),
    ("hba1c", "CKM", ["diabetes"], 9.0, 8.5, True),  # drop >= 0.5
    ("hba1c", "CKM", ["diabetes"], 9.0, 8.6, False),
    ("ldl", "eCKM", ["dyslipidemia", "prediabetes"], 130, 99, True),  # < 100 mg/dL
    ("ldl", "eCKM", ["dyslipidemia", "prediabetes"], 120, 100, False),
    ("ldl", "CKM", ["ascvd"], 90, 69, True),  # < 70 mg/dL
    ("ldl", "CKM", ["ascvd"], 85, 70, False),
    ("ldl", "CKM", ["ascvd"], 150, 105, True),  # drop >= 30 %
    ("ldl", "CKM", ["ascvd"], 150, 105.1, False),
    ("pain_intensity", "MSK", ["chronic_msk_pain"], 8, 6, True),  # drop >= 2
    ("pain_intensity", "MSK", ["chronic_msk_pain"], 8, 7, False),
    ("pain_intensity", "MSK", ["chronic_msk_pain"], 3, 2, True),  # 1 point but 33 %
    ("pain_intensity", "MSK", ["chronic_msk_pain"], 4, 3, False),  # 1 point, 25 %
    ("pain_intensity", "MSK", ["chronic_msk_pain"], 5, 3.5, True),  # 30 %
    ("pain_interference", "MSK", ["chronic_msk_pain"], 62.5, 59.5, True),  # T drop >= 3
    ("pain_interference", "MSK", ["chronic_msk_pain"], 62.5, 59.6, False),
    ("physical_function", "MSK", ["chronic_msk_pain"], 36.8, 39.8, True),  # T rise >= 3
    ("physical_function", "MSK", ["chronic_msk_pain"], 36.8, 39.7, False),
    ("physical_function", "MSK", ["chronic_msk_pain"], 40, 30, False),
    ("depression", "BH", ["depression"], 18, 13, True),  # drop >= 5
    ("depression", "BH", ["depression"], 18, 14, False),
    ("depression", "BH", ["depression"], 8, 4, True),  # drop >= 50 %
    ("depression", "BH", ["depression"], 9, 5, False),
    ("anxiety", "BH", ["anxiety"], 15, 11, True),  # drop >= 4
    ("anxiety", "BH", ["anxiety"], 15, 12, False),
    ("anxiety", "BH", ["anxiety"], 6, 3, True),  # drop >= 50 %
    ("anxiety", "BH", ["anxiety"], 7, 4, False),
]


@pytest.mark.parametrize(("measure", "track", "conditions", "baseline", "current", "met"), TARGETS)
def test_targets(
    measure: str,
    track: Track,
    conditions: list[str],
    baseline: float | None,
    current: float,
    met: bool,
) -> None:
    rule = RULES.measure(measure)  # type: ignore[arg-type]
    assert meets(rule, period=period(track, *conditions), baseline=baseline, current=current) is met


# (measure, track, conditions, applicable)
APPLICABILITY = [
    ("blood_pressure", "eCKM", ["hypertension"], True),
    ("blood_pressure", "eCKM", ["dyslipidemia", "prediabetes"], False),
    ("blood_pressure", "CKM", ["diabetes"], True),
    ("weight", "eCKM", ["hypertension"], False),
    ("weight", "eCKM", ["hypertension", "overweight_central"], True),
    ("weight", "CKM", ["ascvd", "obesity"], True),
    ("hba1c", "eCKM", ["prediabetes", "obesity"], True),
    ("hba1c", "eCKM", ["hypertension"], False),
    ("hba1c", "CKM", ["diabetes"], True),
    ("hba1c", "CKM", ["ckd_3a"], False),
    ("ldl", "eCKM", ["dyslipidemia", "obesity"], True),
    ("ldl", "eCKM", ["hypertension"], False),
    ("ldl", "CKM", ["ckd_3b"], True),
    ("egfr_uacr", "CKM", ["ckd_3a"], True),
    ("egfr_uacr", "CKM", ["diabetes"], True),
    ("egfr_uacr", "CKM", ["ascvd"], False),
    ("pain_intensity", "MSK", ["chronic_msk_pain"], True),
    ("depression", "BH", ["anxiety"], False),
    ("depression", "BH", ["depression"], True),
    ("anxiety", "BH", ["depression"], False),
    ("function_whodas", "BH", ["anxiety"], True),
    ("depression", "MSK", ["chronic_msk_pain"], False),
]


@pytest.mark.parametrize(("measure", "track", "conditions", "applicable"), APPLICABILITY)
def test_applicability(measure: str, track: Track, conditions: list[str], applicable: bool) -> None:
    assert RULES.measure(measure).applies_to(track, conditions=conditions) is applicable  # type: ignore[arg-type]


def _progress(
    rule: MeasureRule, p: CarePeriod, sources: dict[str, list[Point]], as_of: date
) -> Progress:
    return evaluate(rule, rules=RULES, period=p, sources=sources, as_of=as_of)


def _bp(offsets_values: list[tuple[int, float]]) -> dict[str, list[Point]]:
    return {"blood_pressure": [pt(d, v, v - 50) for d, v in offsets_values]}


def test_bp_baseline_is_the_first_window_of_three_readings() -> None:
    rule = RULES.measure("blood_pressure")
    # Days 0 and 20 are isolated; days 30, 35, 44 fall in one 15-day window.
    sources = _bp([(0, 170), (20, 168), (30, 150), (35, 152), (44, 154), (50, 160)])
    result = _progress(rule, period("eCKM", "hypertension"), sources, START + timedelta(60))
    assert result.baseline is not None
    assert result.baseline.n == 3  # days 30..44; day 50 is past the window
    assert result.baseline.value == 152.0
    assert result.baseline.secondary == 102.0


def test_bp_baseline_window_must_start_in_the_first_60_days() -> None:
    rule = RULES.measure("blood_pressure")
    sources = _bp([(58, 150), (65, 150), (70, 150)])
    found = _progress(rule, period("CKM", "diabetes"), sources, START + timedelta(80))
    assert found.baseline is not None
    late = _bp([(60, 150), (65, 150), (70, 150)])
    missing = _progress(rule, period("CKM", "diabetes"), late, START + timedelta(80))
    assert missing.baseline is None


def test_bp_current_needs_three_readings_in_15_days() -> None:
    rule = RULES.measure("blood_pressure")
    sources = _bp([(1, 150), (2, 150), (3, 150), (100, 125), (110, 125)])
    result = _progress(rule, period("CKM", "diabetes"), sources, START + timedelta(110))
    assert result.current is None
    assert result.status == "insufficient_data"
    assert result.needed is not None
    assert "Take 1 more blood pressure reading" in result.needed
    more = _bp([(1, 150), (2, 150), (3, 150), (100, 125), (105, 125), (110, 125)])
    done = _progress(rule, period("CKM", "diabetes"), more, START + timedelta(110))
    assert done.status == "met"
    assert done.current is not None
    assert done.current.n == 3
    assert len(done.current.ids) == 3
    assert done.current.secondary == 75.0


def test_status_on_and_off_track_follow_the_projected_trend() -> None:
    rule = RULES.measure("blood_pressure")
    base = [(1, 160), (2, 160), (3, 160)]
    falling = [(d, 160 - (d - 80) * 0.3) for d in range(80, 110)]  # about -9/month
    flat = [(d, 155.0) for d in range(80, 110)]
    p = period("CKM", "diabetes")
    as_of = START + timedelta(109)
    on = _progress(rule, p, _bp(base + falling), as_of)
    assert on.status == "on_track"
    assert on.projected is not None
    assert on.projected < 145
    off = _progress(rule, p, _bp(base + flat), as_of)
    assert off.status == "off_track"
    assert off.projected == 155.0
    assert (
        off.needed == "Goal for Blood pressure (systolic): below 130 mm[Hg] or at most 145 mm[Hg]."
    )


def test_trend_projection_is_least_squares_on_daily_means() -> None:
    points = [pt(0, 10), pt(0, 12), pt(1, 12), pt(2, 13)]  # daily means 11, 12, 13
    assert (
        trend_projection(points, first=START, last=START + timedelta(2), end=START + timedelta(10))
        == 21.0
    )
    assert trend_projection([pt(0, 10)], first=START, last=START, end=START + timedelta(10)) is None


def test_labs_baseline_may_predate_the_period_and_stays_valid_for_a_year() -> None:
    rule = RULES.measure("hba1c")
    p = period("CKM", "diabetes")
    only_baseline = {"hba1c": [pt(-200, 8.4)]}
    waiting = _progress(rule, p, only_baseline, START + timedelta(100))
    assert waiting.baseline is not None
    assert waiting.current == waiting.baseline
    assert waiting.status == "insufficient_data"
    assert waiting.needed == "Your care team needs a new HbA1c lab result to show improvement."
    expired = _progress(rule, p, only_baseline, START + timedelta(200))
    assert expired.current is None
    assert expired.needed == "Your care team needs a HbA1c lab result from the last 12 months."
    controlled = _progress(rule, p, {"hba1c": [pt(-100, 6.6)]}, START + timedelta(200))
    assert controlled.status == "met"
    improved = {"hba1c": [pt(-400, 9.9), pt(-200, 8.4), pt(150, 7.8)]}
    result = _progress(rule, p, improved, START + timedelta(200))
    assert result.baseline is not None
    assert result.baseline.value == 8.4  # the 400-day-old result is too old
    assert result.status == "met"  # 0.6 point drop


def test_prom_without_baseline_after_day_60_cannot_improve() -> None:
    rule = RULES.measure("depression")
    sources = {"checkin:phq9:total": [pt(70, 15), pt(100, 12)]}
    result = _progress(rule, period("BH", "depression"), sources, START + timedelta(100))
    assert result.status == "insufficient_data"
    assert result.needed is not None
    assert "improvement cannot be shown" in result.needed


def test_baseline_still_possible_in_the_first_60_days() -> None:
    rule = RULES.measure("blood_pressure")
    result = _progress(rule, period("CKM", "diabetes"), _bp([(3, 150)]), START + timedelta(5))
    assert result.status == "insufficient_data"
    assert result.needed is not None
    assert "to set your starting point" in result.needed
    assert "2026-09-02" in result.needed  # day 60


def test_egfr_uacr_needs_both_results() -> None:
    rule = RULES.measure("egfr_uacr")
    p = period("CKM", "ckd_3a")
    partial = _progress(rule, p, {"egfr": [pt(-30, 52)]}, START + timedelta(30))
    assert partial.status == "insufficient_data"
    assert partial.needed is not None
    assert "uacr" in partial.needed
    both = _progress(rule, p, {"egfr": [pt(-30, 52)], "uacr": [pt(10, 45)]}, START + timedelta(30))
    assert both.status == "met"
    assert both.baseline is not None
    assert both.baseline.components == {"egfr": 52, "uacr": 45}


def test_whodas_submission_at_start_and_end() -> None:
    rule = RULES.measure("function_whodas")
    p = period("BH", "depression")
    source = "checkin:whodas12:total"
    mid = _progress(rule, p, {source: [pt(5, 30)]}, START + timedelta(100))
    assert mid.status == "on_track"
    late = _progress(rule, p, {source: [pt(5, 30)]}, END)
    assert late.status == "insufficient_data"
    done = _progress(rule, p, {source: [pt(5, 30), pt(330, 24)]}, END)
    assert done.status == "met"


def test_report_date_stops_at_the_end_of_the_period() -> None:
    rule = RULES.measure("depression")
    sources = {"checkin:phq9:total": [pt(2, 20), pt(360, 9)]}
    after = _progress(rule, period("BH", "depression"), sources, END + timedelta(40))
    assert after.status == "met"


@pytest.mark.parametrize(
    ("statuses", "rule", "over", "attained"),
    [
        (["met", "met"], "all", False, True),
        (["met", "off_track"], "all", False, None),
        (["met", "off_track"], "all", True, False),
        (["met", "insufficient_data"], "all", True, False),
        (["met", "off_track"], "any", True, True),
        (["insufficient_data", "off_track"], "any", True, False),
    ],
)
def test_attainment(statuses: list[str], rule: str, over: bool, attained: bool | None) -> None:
    progress = [Progress("depression", True, s, {}) for s in statuses]  # type: ignore[arg-type]
    progress.append(Progress("anxiety", False, "not_applicable", {}))
    assert attainment(progress, rule=rule, period_over=over) is attained  # type: ignore[arg-type]


def test_changing_a_threshold_is_a_data_change(tmp_path: Path) -> None:
    text = Path("app/outcomes/rulesets/access-2026.1.toml").read_text()
    assert "improvement = 15\n" in text
    changed = tmp_path / "rules.toml"
    changed.write_text(text.replace("improvement = 15\n", "improvement = 10\n"))
    rules: Ruleset = load_ruleset(changed)
    p = period("CKM", "diabetes")
    assert not meets(RULES.measure("blood_pressure"), period=p, baseline=150, current=139)
    assert meets(rules.measure("blood_pressure"), period=p, baseline=150, current=139)


def test_a_broken_ruleset_stops_with_the_reason(tmp_path: Path) -> None:
    text = Path("app/outcomes/rulesets/access-2026.1.toml").read_text()
    broken = tmp_path / "rules.toml"
    broken.write_text(text.replace("withhold = 0.50", "withhold = 1.5"))
    with pytest.raises(RulesError, match="withhold"):
        load_ruleset(broken)


def test_attainment_threshold_by_period_start() -> None:
    assert RULES.attainment.threshold_for(date(2026, 7, 5)) == 0.5
    assert RULES.attainment.threshold_for(date(2027, 12, 31)) == 0.5


def test_the_baseline_window_reaches_into_the_observation_window() -> None:
    # A baseline starts by day 60 (day 1 = the start); a BP window starting then ends on day 74.
    assert RULES.windows.baseline_last(START) == date(2026, 9, 2)
    assert RULES.windows.baseline_reach(START) == date(2026, 9, 16)
    assert RULES.windows.baseline_reach_days == 73


def test_checkin_measures_come_from_their_sources() -> None:
    from_checkins = {m.name for m in RULES.measures if m.from_checkins}
    assert from_checkins == {
        "pain_intensity",
        "pain_interference",
        "physical_function",
        "depression",
        "anxiety",
        "function_whodas",
    }
