"""Observations as plain values, and the windows of days they are chosen from; pure.

A `Point` is one eligible reading or one scored check-in, on the patient's local day; a `Value`
is what a measure reports, made of one point or the mean of several, and keeps the ids of the
points it is made of (lineage). Invariants: points are passed oldest first and every selection
keeps that order; a window is inclusive at both ends; the report date never passes the end of
the care period (the end-of-period report describes the period itself).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from app.outcomes.rules import Track, Windows


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
    value: float
    at: datetime
    n: int
    ids: tuple[uuid.UUID, ...]
    secondary: float | None = None
    components: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CarePeriod:
    track: Track
    conditions: tuple[str, ...]
    start: date
    end: date
    height_cm: float | None = None

    def report_date(self, as_of: date) -> date:
        return min(as_of, self.end)

    def day(self, as_of: date) -> int:
        return (self.report_date(as_of) - self.start).days + 1


def within(points: Sequence[Point], *, first: date, last: date) -> list[Point]:
    """The points of the days `first` .. `last`."""
    return [p for p in points if first <= p.day <= last]


def recent(
    points: Sequence[Point], *, windows: Windows, period: CarePeriod, as_of: date
) -> list[Point]:
    """The points of the `observation_days` ending on the report date (none before the start):
    the ones a current blood pressure, weight or PROM value may come from."""
    report = period.report_date(as_of)
    first = max(period.start, report - timedelta(days=windows.observation_days - 1))
    return within(points, first=first, last=report)


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
