"""Which alert episodes a patient's readings make: blood pressure crisis, hypoglycaemia.

Pure rules: plain functions over plain data, no I/O. The caller (`app/alerts/episodes.py`)
loads the stored readings around new ones, runs `episodes` over them and writes the result,
in the same transaction as the readings (docs/rules.md "Alert episodes").

Invariants:
- values are canonical (mm[Hg], mg/dL), so a threshold is one number whatever unit was sent;
- edges as the rules doc states them: a crisis is systolic >= 180 or diastolic >= 120;
  hypoglycaemia is strictly below 54 mg/dL (level 2) or 70 mg/dL (level 1);
- an episode is a function of the readings alone (and of the instants at which a clinician
  resolved an episode still going on, `cuts`), never of the order or the batches they came in:
  readings are taken in time order, ties by their values, then their ids;
- within an episode, readings meeting the condition are counted once each; a reading that does
  not meet it counts towards the end of the episode, never towards its count;
- one condition, one episode at a time: a hypoglycaemia episode is the level 1 event (< 70), and
  it is level 2 (urgent) once it holds a level 2 event (< 54 for the same minutes), so an hour at
  50 mg/dL is one urgent episode, not an urgent and a warning one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

Severity = Literal["urgent", "warning"]

# docs/rules.md "Scoring references" > "BP categories": hypertensive crisis.
BP_CRISIS_SYSTOLIC: Final = 180
BP_CRISIS_DIASTOLIC: Final = 120
# docs/rules.md "Scoring references" > "Glucose": level 2 (< 54 mg/dL), level 1 (< 70 mg/dL).
GLUCOSE_LEVEL_2: Final = 54.0
GLUCOSE_LEVEL_1: Final = 70.0
# docs/rules.md "Alert episodes" (Battelino 2019, Danne 2017): an event needs >= 15 consecutive
# minutes below the threshold to begin, and >= 15 consecutive minutes at or above it to end.
HYPOGLYCEMIA_MINUTES: Final = 15
# A CGM reading stands for its sensor's sampling interval (docs/rules.md "CGM"); a glucose
# measured in blood (a fingerstick meter, a lab) stands for the full 15 minutes: it is a direct
# measurement, not a sensor sample the duration rule is there to filter (docs/rules.md
# "Alert episodes"), so one fingerstick low opens an episode and one in range ends it.
BLOOD_GLUCOSE_MINUTES: Final = HYPOGLYCEMIA_MINUTES
CGM_CODE: Final = "99504-3"  # LOINC of interstitial glucose (app/readings/catalog.py)

BLOOD_PRESSURE_CRISIS: Final = "blood_pressure_crisis"
HYPOGLYCEMIA: Final = "hypoglycemia"


@dataclass(frozen=True, slots=True)
class Sample:
    """One stored reading as the rules see it."""

    id: uuid.UUID
    at: datetime  # aware UTC instant
    values: Mapping[str, Any]  # canonical
    minutes: int = 0  # the minutes of the condition it stands for (glucose); 0 for blood pressure

    def order(self) -> tuple[datetime, str, str]:
        """Time order; ties by values, then id, so the order never depends on arrival."""
        return self.at, json.dumps(self.values, sort_keys=True, default=str), str(self.id)


@dataclass(frozen=True, slots=True)
class Level:
    """A grade of the condition: the readings that meet it, and what an episode holding
    `minutes` of them in a row is."""

    kind: str
    severity: Severity
    meets: Callable[[Mapping[str, Any]], bool]
    minutes: int


@dataclass(frozen=True, slots=True)
class EpisodeRule:
    """A condition whose readings make episodes.

    `levels` run from the least to the most severe; the first is the condition itself. An
    episode begins once readings meeting it in a row stand for at least `levels[0].minutes`
    (0: the first such reading) and ends once readings not meeting it in a row stand for at
    least `ends_after` minutes (0: the first such reading). Its grade is the most severe level
    whose own readings in a row reached that level's minutes while it lasted.
    """

    condition: str
    reading_type: str
    levels: tuple[Level, ...]
    ends_after: int
    worst: Callable[[Sequence[Mapping[str, Any]]], dict[str, Any]]


@dataclass(slots=True)
class Episode:
    """An episode as the readings make it; `ended_at` None while it goes on."""

    condition: str
    kind: str
    severity: Severity
    first_id: uuid.UUID  # the reading that began it
    first_at: datetime
    last_at: datetime  # the latest reading meeting the condition
    count: int  # readings meeting the condition in it
    worst: dict[str, Any]
    ended_at: datetime | None = None
    ended_by_cut: bool = False
    reading_ids: list[uuid.UUID] = field(default_factory=list)


def is_crisis(values: Mapping[str, Any]) -> bool:
    return bool(
        values["systolic"] >= BP_CRISIS_SYSTOLIC or values["diastolic"] >= BP_CRISIS_DIASTOLIC
    )


def _worst_pressure(values: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    # The highest systolic + diastolic, then the highest systolic.
    top = max(values, key=lambda v: (v["systolic"] + v["diastolic"], v["systolic"]))
    return {"systolic": top["systolic"], "diastolic": top["diastolic"]}


def _lowest_glucose(values: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"value": min(v["value"] for v in values), "unit": "mg/dL"}


BLOOD_PRESSURE_RULE: Final = EpisodeRule(
    condition=BLOOD_PRESSURE_CRISIS,
    reading_type="blood_pressure",
    levels=(Level(BLOOD_PRESSURE_CRISIS, "urgent", is_crisis, 0),),
    ends_after=0,  # the next reading that is not a crisis ends it
    worst=_worst_pressure,
)
HYPOGLYCEMIA_RULE: Final = EpisodeRule(
    condition=HYPOGLYCEMIA,
    reading_type="glucose",
    levels=(
        Level(
            "hypoglycemia_level_1",
            "warning",
            lambda v: bool(v["value"] < GLUCOSE_LEVEL_1),
            HYPOGLYCEMIA_MINUTES,
        ),
        Level(
            "hypoglycemia_level_2",
            "urgent",
            lambda v: bool(v["value"] < GLUCOSE_LEVEL_2),
            HYPOGLYCEMIA_MINUTES,
        ),
    ),
    ends_after=HYPOGLYCEMIA_MINUTES,
    worst=_lowest_glucose,
)
RULES: Final[dict[str, EpisodeRule]] = {
    r.reading_type: r for r in (BLOOD_PRESSURE_RULE, HYPOGLYCEMIA_RULE)
}


def sample_minutes(*, code: str, sampling_minutes: int | None, default: int) -> int:
    """The minutes a glucose reading stands for: a CGM reading its sensor's sampling interval
    (`default` when none is known), any glucose measured in blood the full episode minutes."""
    if code == CGM_CODE:
        return sampling_minutes or default
    return BLOOD_GLUCOSE_MINUTES


class _Run:
    """Readings in a row meeting (or not meeting) something: the minutes they stand for, an
    instant sent twice counting once."""

    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self._minutes: dict[datetime, int] = {}

    def add(self, sample: Sample) -> None:
        self.samples.append(sample)
        self._minutes[sample.at] = max(self._minutes.get(sample.at, 0), sample.minutes)

    @property
    def minutes(self) -> int:
        return sum(self._minutes.values())

    def __bool__(self) -> bool:
        return bool(self.samples)


def episodes(
    samples: Sequence[Sample], rule: EpisodeRule, *, cuts: Sequence[datetime] = ()
) -> list[Episode]:
    """The episodes `samples` (any order) make under `rule`, oldest first.

    `cuts` are the instants at which a clinician resolved an episode still going on: the
    episode ends there and the readings after it begin afresh (docs/rules.md "Alert episodes").
    """
    base, *grades = rule.levels
    found: list[Episode] = []
    current: Episode | None = None
    run = _Run()  # readings meeting the condition in a row
    clear = _Run()  # readings not meeting it in a row
    graded = [_Run() for _ in grades]  # readings meeting each higher level in a row
    pending = sorted(cuts)

    for sample in sorted(samples, key=Sample.order):
        while pending and pending[0] < sample.at:
            cut = pending.pop(0)
            if current is not None:
                current.ended_at, current.ended_by_cut = cut, True
                found.append(current)
                current = None
            run, clear, graded = _Run(), _Run(), [_Run() for _ in grades]
        for index, level in enumerate(grades):
            if level.meets(sample.values):
                graded[index].add(sample)
            else:
                graded[index] = _Run()
        if not base.meets(sample.values):
            run = _Run()
            if current is not None:
                clear.add(sample)
                if clear.minutes >= rule.ends_after:
                    current.ended_at = clear.samples[0].at
                    found.append(current)
                    current, clear = None, _Run()
            continue
        clear = _Run()
        if current is None:
            run.add(sample)
            if run.minutes < base.minutes:
                continue
            first = run.samples[0]
            current = Episode(
                rule.condition, base.kind, base.severity, first.id, first.at, first.at, 0, {}
            )
            for member in run.samples:
                _extend(current, member, rule)
            run = _Run()
        else:
            _extend(current, sample, rule)
        for index, level in enumerate(grades, start=1):
            reached = graded[index - 1].minutes >= level.minutes
            if reached and index > _index(rule, current.kind):
                current.kind, current.severity = level.kind, level.severity
    if current is not None:
        found.append(current)
    return found


def _index(rule: EpisodeRule, kind: str) -> int:
    return next(i for i, level in enumerate(rule.levels) if level.kind == kind)


def _extend(episode: Episode, sample: Sample, rule: EpisodeRule) -> None:
    episode.reading_ids.append(sample.id)
    episode.count += 1
    episode.last_at = sample.at
    episode.worst = rule.worst([episode.worst, sample.values] if episode.worst else [sample.values])


def alert_kinds(reading_type: str, values: Mapping[str, Any]) -> list[tuple[str, Severity]]:
    """The kind and severity of the alert one reading alone would be part of, the most severe
    level it meets (at most one; none for a type without an alert rule)."""
    rule = RULES.get(reading_type)
    if rule is None:
        return []
    met = [level for level in rule.levels if level.meets(values)]
    return [(met[-1].kind, met[-1].severity)] if met else []
