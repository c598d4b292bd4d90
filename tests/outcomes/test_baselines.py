"""Kept baselines: used once the window has closed, dropped when a late reading changes it."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from app.outcomes.models import OutcomeBaseline
from tests.factories import make_org, make_patient
from tests.outcomes.helpers import AFTER_END, START, cuff, enrollment, progress


async def _kept(app: FastAPI) -> list[tuple[str, float | None, int]]:
    async with app.state.sessionmaker() as session:
        rows = await session.execute(
            select(OutcomeBaseline.measure, OutcomeBaseline.value, OutcomeBaseline.n).order_by(
                OutcomeBaseline.measure
            )
        )
        return [tuple(r) for r in rows]


async def test_baseline_is_kept_and_dropped_by_a_late_reading(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org, enroll=enrollment("CKM", "diabetes", "obesity"))
    await cuff(
        client, patient.device, [(2, 150), (4, 152), (6, 148)] + [(d, 126) for d in (355, 358, 362)]
    )

    first = await progress(client, org.clinician, patient.id)
    bp = next(m for m in first["measures"] if m["measure"] == "blood_pressure")
    assert bp["baseline"]["value"] == 150.0
    # The window closed long before the report date: the baseline is kept (weight: none).
    assert await _kept(app) == [("blood_pressure", 150.0, 3), ("weight", None, 0)]
    again = await progress(client, org.clinician, patient.id)
    assert again == first  # the kept baseline gives the same answer, lineage included

    # A device syncs late: an earlier window of three readings appears on days 0, 1, 2.
    await cuff(client, patient.device, [(0, 170), (1, 170)])
    assert await _kept(app) == []  # dropped in the same transaction as the write
    changed = await progress(client, org.clinician, patient.id)
    bp = next(m for m in changed["measures"] if m["measure"] == "blood_pressure")
    assert bp["baseline"]["n"] == 5  # days 0..6 now form the first window
    assert bp["baseline"]["value"] == round((170 + 170 + 150 + 152 + 148) / 5, 1)


async def test_nothing_is_kept_while_the_window_is_open(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org, enroll=enrollment("CKM", "diabetes"))
    await cuff(client, patient.device, [(2, 150), (4, 152), (6, 148)])
    await progress(client, org.clinician, patient.id, as_of=START + timedelta(days=30))
    assert await _kept(app) == []
    await progress(client, org.clinician, patient.id, as_of=AFTER_END)
    async with app.state.sessionmaker() as session:
        count = await session.scalar(select(func.count()).select_from(OutcomeBaseline))
    assert count == 1


async def test_deleting_a_baseline_reading_drops_it(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org, enroll=enrollment("CKM", "diabetes"))
    await cuff(client, patient.device, [(2, 150), (4, 152), (6, 148), (8, 146)])
    item = await progress(client, org.clinician, patient.id)
    bp = next(m for m in item["measures"] if m["measure"] == "blood_pressure")
    assert bp["baseline"]["n"] == 4
    victim = bp["baseline"]["source_ids"][0]
    deleted = await client.delete(
        f"/v1/patients/{patient.id}/readings/{victim}", headers=org.clinician.headers
    )
    assert deleted.status_code == 204
    assert await _kept(app) == []
    item = await progress(client, org.clinician, patient.id)
    bp = next(m for m in item["measures"] if m["measure"] == "blood_pressure")
    assert bp["baseline"]["n"] == 3
    assert victim not in bp["baseline"]["source_ids"]
