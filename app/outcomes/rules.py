"""Versioned outcome rules, loaded from data (`rulesets/*.toml`) and validated at startup.

Invariant: every threshold, window, payment rate and the attainment threshold comes from a
ruleset; code holds none of them. A bad ruleset stops startup with the reason.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.config import ConfigError

Track = Literal["eCKM", "CKM", "MSK", "BH"]
MeasureName = Literal[
    "blood_pressure",
    "weight",
    "hba1c",
    "ldl",
    "egfr_uacr",
    "pain_intensity",
    "pain_interference",
    "physical_function",
    "depression",
    "anxiety",
    "function_whodas",
    "global_impression",
]
ReportType = Literal["baseline", "quarterly", "end_of_period"]
REPORT_TYPES: tuple[ReportType, ...] = ReportType.__args__  # type: ignore[attr-defined]
MEASURE_ORDER: tuple[MeasureName, ...] = MeasureName.__args__  # type: ignore[attr-defined]
RULESETS = Path(__file__).parent / "rulesets"
DEFAULT_RULESET = RULESETS / "access-2026.1.toml"
# A source named `checkin:<instrument>:<score>` is a scored check-in; any other is a reading type.
CHECKIN_PREFIX = "checkin:"
# Reading types that are lab results: valid for `lab_days`, and a baseline may predate the period.
LAB_SOURCES = frozenset({"hba1c", "ldl", "egfr", "uacr"})


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Windows(_Data):
    """How long observations stay valid for a report (docs/rules.md "Data rules")."""

    baseline_days: int = Field(gt=0)
    observation_days: int = Field(gt=0)
    lab_days: int = Field(gt=0)
    lab_days_provisional: bool = False
    trend_days: int = Field(gt=1)
    bp_min_readings: int = Field(ge=1)

    # The baseline window (docs/rules.md "Data rules"): a baseline is the value on the earliest
    # day of the first `baseline_days` with valid data, so nothing after that window counts.

    def baseline_last(self, start: date) -> date:
        """The last day of the baseline window of a care period starting on `start`."""
        return start + timedelta(days=self.baseline_days - 1)

    def observations_from(self, report_date: date) -> date:
        """The first day whose blood pressure, weight or PROM may count on `report_date`."""
        return report_date - timedelta(days=self.observation_days - 1)

    def labs_from(self, report_date: date) -> date:
        """The first day whose lab result may count on `report_date`."""
        return report_date - timedelta(days=self.lab_days - 1)


class Calendar(_Data):
    """The ACCESS reporting calendar in care-period days, day 1 being the start
    (docs/rules.md "Reporting calendar"). The baseline window is `Windows.baseline_days`."""

    period_days: int = Field(gt=0)
    quarterly_opens_after_days: int = Field(gt=0)
    quarterly_closes_after_days: int = Field(gt=0)
    end_of_period_opens_day: int = Field(gt=0)
    end_of_period_closes_day: int = Field(gt=0)
    early_success_day: dict[Track, int]
    due_soon_days: int = Field(ge=0)
    follow_on_from_day: int = Field(gt=0)
    # How long a period stays in progress and the reporting views once its end-of-period window
    # has closed, so a missed or attained end is seen before it drops out.
    shown_after_close_days: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Calendar:
        if self.quarterly_closes_after_days < self.quarterly_opens_after_days:
            raise ValueError("a quarterly window cannot close before it opens")
        if not self.end_of_period_opens_day <= self.end_of_period_closes_day:
            raise ValueError("the end-of-period window cannot close before it opens")
        if any(d > self.end_of_period_opens_day for d in self.early_success_day.values()):
            raise ValueError("early success cannot open after the end-of-period window")
        return self

    def date_of(self, start: date, day: int) -> date:
        """The calendar date of care-period day `day` (1 = `start`)."""
        return start + timedelta(days=day - 1)

    def end(self, start: date) -> date:
        """The last day of the care period starting on `start`."""
        return self.date_of(start, self.period_days)

    @property
    def shown_after_end_days(self) -> int:
        """Days a period stays shown after its last day (its end-of-period window, then
        `shown_after_close_days`)."""
        return self.end_of_period_closes_day + self.shown_after_close_days - self.period_days

    def shown_until(self, start: date) -> date:
        """The last day the period shows in progress and the reporting views."""
        return self.date_of(start, self.end_of_period_closes_day + self.shown_after_close_days)


class Need(_Data):
    """The clinician panel's need score (docs/rules.md "Need score (the clinician panel's
    order)"): this product's policy, not a CMS rule. Points per reason; a weight of 0 drops it."""

    points_per_urgent_alert: int = Field(ge=0)
    points_per_warning_alert: int = Field(ge=0)
    report_due_soon: int = Field(ge=0)
    off_track: int = Field(ge=0)
    no_baseline: int = Field(ge=0)
    projected_short: int = Field(ge=0)
    report_missed: int = Field(ge=0)
    insufficient_data: int = Field(ge=0)
    quiet_after_days: int = Field(ge=0)
    per_quiet_day: int = Field(ge=0)
    quiet_cap: int = Field(ge=0)


class Alerts(_Data):
    """The alerts the date opens (docs/rules.md "Alert episodes"): this product's policy, not a
    CMS rule. `no_data_days`: days without any reading or check-in a track's applicable target
    measures use before a `no_data` alert opens; `report_due_days`: a reporting window closing
    within this many days without a complete report opens a `report_due` alert."""

    no_data_days: dict[Track, int]
    report_due_days: int = Field(ge=0)

    @model_validator(mode="after")
    def _positive(self) -> Alerts:
        if any(days < 1 for days in self.no_data_days.values()):
            raise ValueError("no_data_days must be at least 1 day")
        return self


class CareUpdates(_Data):
    """When the referring clinician's care-coordination updates are due (docs/rules.md
    "Care-coordination updates"): `*_days` after the local day of the event (CMS: at the start
    of care and at escalations within 10 days, at completion within 30)."""

    initiation_days: int = Field(ge=1)
    escalation_days: int = Field(ge=1)
    completion_days: int = Field(ge=1)


class Threshold(_Data):
    from_: date = Field(alias="from")
    to: date | None = None
    value: float = Field(gt=0, le=1)


class Attainment(_Data):
    rule: Literal["all", "any"]
    track_rule: dict[Track, Literal["all", "any"]] = Field(default_factory=dict)
    thresholds: tuple[Threshold, ...] = Field(min_length=1)

    def rule_for(self, track: Track) -> Literal["all", "any"]:
        return self.track_rule.get(track, self.rule)

    def threshold_for(self, start: date) -> float:
        """The OAT of the care period starting on `start` (the latest one known if beyond)."""
        ordered = sorted(self.thresholds, key=lambda t: t.from_)
        chosen = ordered[0]
        for threshold in ordered:
            if threshold.from_ <= start:
                chosen = threshold
        return chosen.value


class Rate(_Data):
    initial: float = Field(ge=0)
    follow_on: float | None = Field(None, ge=0)
    rural_addon: float = Field(0, ge=0)


class Payment(_Data):
    withhold: float = Field(ge=0, le=1)
    rates: dict[Track, Rate]


class MeasureRule(_Data):
    name: MeasureName
    label: str
    source: str | tuple[str, ...]
    kind: Literal["target", "submission"] = "target"
    unit: str | None = None
    better: Literal["lower", "higher"] = "lower"
    control_below: float | dict[Track, float] | None = None
    control_bmi_below: float | None = None
    control_max_gain_percent: float | None = None
    improvement: float | None = Field(None, gt=0)
    improvement_percent: float | None = Field(None, gt=0, lt=100)
    provisional: bool = False
    applies: dict[Track, Literal["always"] | tuple[str, ...]]
    # Which reports carry the measure (docs/rules.md "Reporting calendar"): targets are judged
    # at every report; eGFR/UACR come once, with the baseline; PGIC at the end of the period.
    reported_in: tuple[ReportType, ...] = REPORT_TYPES
    # Tracks whose baseline report needs this measure even where its target does not apply
    # (HbA1c and LDL baselines for every eCKM patient).
    baseline_for: tuple[Track, ...] = ()

    @model_validator(mode="after")
    def _has_a_target(self) -> MeasureRule:
        if self.kind == "target" and not (
            self.control_below is not None
            or self.control_bmi_below is not None
            or self.improvement is not None
            or self.improvement_percent is not None
        ):
            raise ValueError(f"measure {self.name} has neither a control nor an improvement target")
        return self

    def applies_to(self, track: Track, *, conditions: Iterable[str]) -> bool:
        rule = self.applies.get(track)
        if rule is None:
            return False
        return rule == "always" or bool(set(rule) & set(conditions))

    def control_threshold(self, track: Track) -> float | None:
        if isinstance(self.control_below, dict):
            return self.control_below.get(track)
        return self.control_below

    def required_in(
        self, report_type: ReportType, *, track: Track, conditions: Iterable[str]
    ) -> bool:
        """Whether a report of `report_type` for this track and these conditions must carry
        the measure for the report to be complete."""
        if report_type == "baseline" and track in self.baseline_for:
            return True
        return report_type in self.reported_in and self.applies_to(track, conditions=conditions)

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.source,) if isinstance(self.source, str) else self.source

    @property
    def from_checkins(self) -> bool:
        """Whether the measure is judged on scored check-ins rather than readings."""
        return all(s.startswith(CHECKIN_PREFIX) for s in self.sources)

    @property
    def from_labs(self) -> bool:
        """Judged on lab results, which stay valid for `lab_days`."""
        return set(self.sources) <= LAB_SOURCES

    @property
    def is_blood_pressure(self) -> bool:
        """Judged on the mean of several cuff readings, not on one observation."""
        return self.sources == ("blood_pressure",)


class Ruleset(_Data):
    version: str
    description: str
    windows: Windows
    calendar: Calendar
    attainment: Attainment
    payment: Payment
    need: Need
    alerts: Alerts
    care_updates: CareUpdates
    measures: tuple[MeasureRule, ...]

    @model_validator(mode="after")
    def _unique_measures(self) -> Ruleset:
        names = [m.name for m in self.measures]
        if len(names) != len(set(names)):
            raise ValueError("each measure may be defined once")
        return self

    @model_validator(mode="after")
    def _no_data_seen(self) -> Ruleset:
        # The evaluation loads the last `recent_days` of observations: a longer silence could
        # not be told from one that long (docs/rules.md "Alert episodes").
        tracks = {t for m in self.measures for t in m.applies}
        if missing := sorted(tracks - set(self.alerts.no_data_days)):
            raise ValueError(f"alerts.no_data_days has no value for {', '.join(missing)}")
        if any(days >= self.recent_days for days in self.alerts.no_data_days.values()):
            raise ValueError(f"alerts.no_data_days must be under {self.recent_days} days")
        return self

    @property
    def recent_days(self) -> int:
        """The days up to a report date whose observations are loaded to judge it."""
        return max(self.windows.trend_days, self.windows.observation_days)

    def measure(self, name: MeasureName) -> MeasureRule:
        for rule in self.measures:
            if rule.name == name:
                return rule
        raise KeyError(name)

    def measures_for(self, track: Track) -> list[MeasureRule]:
        return [m for m in self.measures if track in m.applies]


def checkin_source(source: str) -> tuple[str, str] | None:
    """The instrument and score (`total` or `t_score`) a check-in source names; None for a
    reading type."""
    if not source.startswith(CHECKIN_PREFIX):
        return None
    instrument, _, score = source.removeprefix(CHECKIN_PREFIX).partition(":")
    return instrument, score


class RulesError(ConfigError):
    """The ruleset file cannot be used; the message says why."""


def load_ruleset(path: Path = DEFAULT_RULESET) -> Ruleset:
    try:
        data = tomllib.loads(path.read_text())
        return Ruleset.model_validate(data)
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as exc:
        raise RulesError(f"outcome rules {path}: {exc}") from exc
