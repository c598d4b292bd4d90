"""Observations as plain values, and the care period they are judged in; pure.

A `Point` is one eligible reading or one scored check-in, on the patient's local day; a `Value`
is what a measure reports, made of one point or the mean of several, and keeps the ids of the
points it is made of (lineage). Invariants: points are passed oldest first and every selection
keeps that order; a window of days is inclusive at both ends.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from app.outcomes.rules import Track

PeriodKind = Literal["initial", "follow_on"]


@dataclass(frozen=True, slots=True)
class Point:
    """One observation: a reading or a scored check-in, in the measure's unit."""

    id: uuid.UUID
    at: datetime
    day: date  # the patient's local day
    value: float
    secondary: float | None = None  # blood pressure: diastolic


@dataclass(frozen=True, slots=True)
class Value:
    """A measure's value: one observation, or the mean of several (blood pressure)."""

    value: float
    at: datetime
    n: int
    ids: tuple[uuid.UUID, ...]
    secondary: float | None = None  # blood pressure: mean diastolic
    components: dict[str, float] = field(default_factory=dict)  # eGFR and UACR
    bmi: float | None = None  # weight: from the latest height taken at or before it
    height_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class CarePeriod:
    """One enrollment as the rules see it: its track, conditions and dates."""

    track: Track
    conditions: tuple[str, ...]
    start: date
    end: date
    kind: PeriodKind = "initial"
    control_group: bool = False

    def day(self, on: date) -> int:
        """The care-period day of `on` (1 = the start)."""
        return (on - self.start).days + 1


def within(points: Sequence[Point], *, first: date, last: date) -> list[Point]:
    """The points of the days `first` .. `last`."""
    return [p for p in points if first <= p.day <= last]


def mean(points: Sequence[Point]) -> Value:
    secondaries = [p.secondary for p in points if p.secondary is not None]
    return Value(
        value=round(sum(p.value for p in points) / len(points), 1),
        at=max(p.at for p in points),
        n=len(points),
        ids=tuple(p.id for p in points),
        secondary=round(sum(secondaries) / len(secondaries), 1) if secondaries else None,
    )


def single(point: Point) -> Value:
    return Value(value=point.value, at=point.at, n=1, ids=(point.id,), secondary=point.secondary)
