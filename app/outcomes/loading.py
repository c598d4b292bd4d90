"""Load the observations the outcome rules need, for any number of enrollments at once.

Invariants: one query for readings and one for check-ins, whatever the number of enrollments;
the windows (baseline, recent days, labs' year, the closing window) are computed in SQL from each
enrollment's own dates, with the same ruleset numbers the pure rules use (`Windows`); only
eligible, undeleted readings and scorable check-ins count; points come back oldest first, per
enrollment and source.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Date, Select, and_, case, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from app.checkins.models import Checkin
from app.outcomes.observations import Point
from app.outcomes.rules import LAB_SOURCES, Ruleset, Track, checkin_source
from app.patients.models import Enrollment
from app.readings.models import Reading
from app.sqltypes import add_days

Points = dict[uuid.UUID, dict[str, list[Point]]]


def _window_conditions(
    rules: Ruleset,
    *,
    day: InstrumentedAttribute[date],
    as_of: date,
    closing: bool,
    skip: Collection[uuid.UUID] = (),
) -> ColumnElement[bool]:
    """The days whose observations the rules can use, from the enrollment's own dates: the
    baseline window, the recent days (trend and validity), labs' year and, for check-ins, the
    closing window of the period. Computed in SQL, so any number of enrollments is one query."""
    w = rules.windows
    start, end = Enrollment.start_date, Enrollment.end_date
    as_of_value = literal(as_of, Date())
    report = case((end < as_of_value, end), else_=as_of_value)
    recent = max(w.trend_days, w.observation_days)
    baseline: ColumnElement[bool] = day.between(start, add_days(start, w.baseline_reach_days))
    if skip:
        baseline = and_(Enrollment.id.not_in(list(skip)), baseline)
    windows: list[ColumnElement[bool]] = [
        baseline,
        day.between(add_days(report, 1 - recent), report),
    ]
    if closing:
        windows.append(day.between(add_days(end, 1 - w.final_window_days), report))
    else:
        windows.append(
            and_(Reading.type.in_(sorted(LAB_SOURCES)),
                 day.between(add_days(start, -w.lab_days), report))
        )  # fmt: skip
    return or_(*windows)


def _of_enrollments(
    enrollment_ids: Sequence[uuid.UUID],
    *,
    patient_id: InstrumentedAttribute[uuid.UUID],
    columns: Sequence[Any],
    where: Sequence[ColumnElement[bool]],
    oldest_first: Sequence[InstrumentedAttribute[Any]],
) -> Select[Any]:
    """Rows of one observation table for the enrollments' patients, led by the enrollment id."""
    return (
        select(Enrollment.id, *columns)
        .join(Enrollment, Enrollment.patient_id == patient_id)
        .where(Enrollment.id.in_(enrollment_ids), *where)
        .order_by(*oldest_first)
    )


async def load_points(
    session: AsyncSession,
    *,
    rules: Ruleset,
    enrollments: Sequence[Enrollment],
    as_of: date,
    settled: Collection[uuid.UUID] = (),
) -> Points:
    """Observations per enrollment id and source, oldest first, limited to the windows used;
    `settled` enrollments have their readings' baselines kept, so their baseline window of
    readings is not read again."""
    found: Points = {e.id: defaultdict(list) for e in enrollments}
    if not enrollments:
        return found
    wanted: set[str] = set()
    for enrollment in enrollments:
        track: Track = enrollment.track  # type: ignore[assignment]
        wanted |= {s for m in rules.measures_for(track) for s in m.sources}
    enrollment_ids = [e.id for e in enrollments]
    connection = await session.connection()  # Core rows: no ORM bookkeeping per row
    checkin_sources = {s: parts for s in wanted if (parts := checkin_source(s)) is not None}
    reading_types = sorted(wanted - checkin_sources.keys())
    if reading_types:
        # Values extracted in SQL: decoding every row's JSON in Python would dominate the time.
        rows = await connection.execute(
            _of_enrollments(
                enrollment_ids,
                patient_id=Reading.patient_id,
                columns=(
                    Reading.id,
                    Reading.type,
                    Reading.effective_at,
                    Reading.local_date,
                    Reading.values["value"].as_float(),
                    Reading.values["systolic"].as_float(),
                    Reading.values["diastolic"].as_float(),
                ),
                where=(
                    Reading.type.in_(reading_types),
                    Reading.deleted_at.is_(None),
                    Reading.eligible.is_(True),
                    _window_conditions(
                        rules, day=Reading.local_date, as_of=as_of, closing=False, skip=settled
                    ),
                ),
                oldest_first=(Reading.effective_at, Reading.id),
            )
        )
        for enrollment_id, rid, kind, at, day, value, systolic, diastolic in rows:
            if kind == "blood_pressure":
                point = Point(rid, at, day, systolic, diastolic)
            else:
                point = Point(rid, at, day, value)
            found[enrollment_id][kind].append(point)
    instruments = {instrument: s for s, (instrument, _) in checkin_sources.items()}
    if instruments:
        checkin_rows = await connection.execute(
            _of_enrollments(
                enrollment_ids,
                patient_id=Checkin.patient_id,
                columns=(
                    Checkin.id,
                    Checkin.instrument,
                    Checkin.completed_at,
                    Checkin.local_date,
                    Checkin.total,
                    Checkin.t_score,
                ),
                where=(
                    Checkin.instrument.in_(sorted(instruments)),
                    Checkin.scorable.is_(True),
                    _window_conditions(rules, day=Checkin.local_date, as_of=as_of, closing=True),
                ),
                oldest_first=(Checkin.completed_at, Checkin.id),
            )
        )
        for enrollment_id, cid, instrument, at, day, total, t_score in checkin_rows:
            source = instruments[instrument]
            score = t_score if checkin_sources[source][1] == "t_score" else total
            if score is not None:
                found[enrollment_id][source].append(Point(cid, at, day, float(score)))
    return found
