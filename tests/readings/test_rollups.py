"""Daily rollups kept at write time equal a recompute from the live readings (property-based).

Random sequences of batches, resends and deletes go through the HTTP API; afterwards every
`reading_days` row must equal the aggregate of the patient's live readings for its (type,
component, local day), computed here from scratch, and no other row may exist.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from app.readings.catalog import NUMERIC_FIELDS
from app.readings.models import Reading, ReadingDay
from tests.factories import make_org, make_patient
from tests.readings.helpers import APP_PROPERTY, Write, Writer, write_sequences

# The US clocks went forward on 2025-03-09: local days of 23 hours are in range.
LATEST = datetime(2025, 3, 10, 12, tzinfo=UTC)
SPAN_MINUTES = 2 * 24 * 60
# The patient's zone (None), and zones at the ends of the offsets in use.
ZONES = [None, "Pacific/Kiritimati", "Pacific/Pago_Pago"]


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A valid reading of a type with one or several numeric components, at a random time."""
    at = LATEST - timedelta(minutes=draw(st.integers(0, SPAN_MINUTES)))
    body: dict[str, Any] = {"effective_at": at.isoformat()}
    if zone := draw(st.sampled_from(ZONES)):
        body["timezone"] = zone
    kind = draw(st.sampled_from(["blood_pressure", "glucose", "weight", "steps"]))
    if kind == "blood_pressure":
        systolic = draw(st.integers(90, 200))
        body |= {"systolic": systolic, "diastolic": draw(st.integers(50, min(systolic - 1, 130)))}
        if draw(st.booleans()):  # pulse is optional: its rollup counts only readings with it
            body["pulse"] = draw(st.integers(40, 150))
    elif kind == "glucose":
        body |= {"value": draw(st.integers(400, 4000)) / 10, "unit": "mg/dL"}
    elif kind == "weight":
        body |= {"value": draw(st.integers(4000, 15000)) / 100, "unit": "kg"}
    else:
        end = at + timedelta(minutes=draw(st.integers(1, 120)))
        body |= {"count": draw(st.integers(0, 20_000)), "end_at": end.isoformat()}
    return {"type": kind, **body}


operations = write_sequences(bodies(), max_size=10)

Totals = tuple[int, float, float, float]  # count, sum, min, max


async def _rollups(app: FastAPI, patient_id: uuid.UUID) -> dict[tuple[str, str, date], Totals]:
    async with app.state.sessionmaker() as session:
        rows = await session.execute(select(ReadingDay).where(ReadingDay.patient_id == patient_id))
        return {
            (d.type, d.component, d.local_date): (d.count, d.sum, d.min, d.max)
            for d in rows.scalars()
        }


async def _from_scratch(app: FastAPI, patient_id: uuid.UUID) -> dict[tuple[str, str, date], Totals]:
    async with app.state.sessionmaker() as session:
        live = await session.execute(
            select(Reading.type, Reading.local_date, Reading.values).where(
                Reading.patient_id == patient_id, Reading.deleted_at.is_(None)
            )
        )
        values: dict[tuple[str, str, date], list[float]] = {}
        for reading_type, local_date, stored in live:
            for component in NUMERIC_FIELDS[reading_type]:
                if component in stored:
                    values.setdefault((reading_type, component, local_date), []).append(
                        stored[component]
                    )
    return {key: (len(v), sum(v), min(v), max(v)) for key, v in values.items()}


@APP_PROPERTY
@given(steps=operations)
async def test_incremental_rollups_equal_a_recompute(
    app: FastAPI, client: httpx.AsyncClient, steps: list[Write]
) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org)
    writer = Writer(client, patient.user, patient.id)
    for step in steps:
        await writer.write(step)

    rollups = await _rollups(app, patient.id)
    expected = await _from_scratch(app, patient.id)
    assert rollups.keys() == expected.keys()
    for key, (count, total, low, high) in expected.items():
        kept_count, kept_total, kept_low, kept_high = rollups[key]
        assert (kept_count, kept_low, kept_high) == (count, low, high), key
        # Sums are floats added in another order: equal up to rounding.
        assert kept_total == pytest.approx(total, rel=1e-12), key
