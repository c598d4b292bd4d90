"""Which changes emit which webhook events, in the transaction of the change, with ids only."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from app.webhooks.models import WebhookDelivery, WebhookEvent
from tests.factories import OrgWorld, make_org, make_patient
from tests.outcomes.helpers import enrollment, enrollment_id, on_day, prepare


async def _subscribe(client: httpx.AsyncClient, org: OrgWorld, events: list[str]) -> None:
    created = await client.post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "events": events},
        headers=org.admin.headers,
    )
    assert created.status_code == 201, created.text


async def _events(app: FastAPI) -> list[tuple[str, dict[str, Any]]]:
    async with app.state.sessionmaker() as session:
        rows = await session.scalars(select(WebhookEvent).order_by(WebhookEvent.created_at))
        return [(e.event, e.data) for e in rows]


async def test_a_prepared_report_emits_report_status_changed(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    await _subscribe(client, org, ["report.status_changed"])
    with on_day(1):
        patient = await make_patient(app, org, enroll=enrollment("eCKM", "hypertension"))
    with on_day(20):
        eid = await enrollment_id(client, org.clinician, patient.id)
        made = await prepare(client, org.clinician, patient.id, eid, "baseline", 20)
        assert made.status_code == 201, made.text
        again = await prepare(client, org.clinician, patient.id, eid, "baseline", 20)
        assert again.status_code in (200, 201)
    (event, data), *more = await _events(app)
    assert event == "report.status_changed"
    assert data == {
        "report_id": made.json()["id"],
        "patient_id": str(patient.id),
        "enrollment_id": eid,
        "type": "baseline",
        "status": "prepared",
    }
    assert more == []  # the same report prepared again is no new event
    async with app.state.sessionmaker() as session:
        assert len(list(await session.scalars(select(WebhookDelivery)))) == 1
