"""Which changes emit which webhook events, in the transaction of the change, with ids only."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from standardwebhooks import Webhook

from app.webhooks import delivery
from app.webhooks.models import WebhookDelivery, WebhookEvent
from tests.factories import OrgWorld, make_org, make_patient
from tests.outcomes.helpers import enrollment, enrollment_id, on_day, prepare
from tests.readings.helpers import bp, post_batch, post_one
from tests.webhooks.receiver import Receiver


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


async def test_readings_emit_one_reading_created_per_request_naming_the_new_ones(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org)  # (its height is a reading, before the webhook)
    await _subscribe(client, org, ["reading.created"])
    sent = await post_batch(client, patient.device, "me", [bp(121, 79, 0), bp(122, 78, 5)])
    assert sent.status_code == 200, sent.text
    ids = [r["id"] for r in sent.json()["results"]]
    resent = await post_batch(client, patient.device, "me", [bp(121, 79, 0)])
    assert resent.json()["results"][0]["status"] == "duplicate"
    assert await _events(app) == [
        ("reading.created", {"patient_id": str(patient.id), "reading_ids": ids})
    ]


async def test_an_alert_emits_opened_then_updated_and_a_receiver_verifies_it(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    receiver = Receiver().start()
    try:
        created = await client.post(
            "/v1/webhooks",
            json={"url": receiver.url, "events": ["alert.opened", "alert.updated"]},
            headers=org.admin.headers,
        )
        secret = created.json()["secret"]
        patient = await make_patient(app, org)
        crisis = await post_one(client, patient.device, "me", bp(185, 125, 0))
        assert crisis.status_code == 201, crisis.text
        async with httpx.AsyncClient() as http:
            sent = await delivery.deliver_due(app.state.sessionmaker, client=http, production=False)
        assert sent == 1
        (got,) = receiver.received
        payload = Webhook(secret).verify(got.body, got.headers)
        assert payload["event"] == "alert.opened"
        alert_id = payload["data"]["alert_id"]
        assert payload["data"] == {
            "alert_id": alert_id,
            "patient_id": str(patient.id),
            "kind": "blood_pressure_crisis",
            "severity": "urgent",
            "status": "open",
        }
        acknowledged = await client.post(
            f"/v1/alerts/{alert_id}/acknowledge", headers=org.clinician.headers
        )
        assert acknowledged.status_code == 200, acknowledged.text
        events = await _events(app)
        assert [e for e, _ in events] == ["alert.opened", "alert.updated"]
        assert events[1][1]["status"] == "acknowledged"
    finally:
        receiver.stop()
