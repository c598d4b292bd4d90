"""Webhooks (docs/api.md "Webhooks"): endpoints an admin manages, events written with their
cause (the outbox), deliveries signed per Standard Webhooks, retried with backoff for 24 hours,
never lost when the receiver is down or the worker is killed. A real HTTP receiver on a loopback
port; the service's clock is moved, never slept through."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from standardwebhooks import Webhook

from app.clock import frozen_at
from app.webhooks import delivery, targets
from app.webhooks.events import emit
from app.webhooks.models import WebhookDelivery, WebhookEvent
from tests.factories import OrgWorld, make_org
from tests.webhooks.receiver import Receiver

ALL = ["alert.opened", "alert.updated", "report.status_changed", "reading.created"]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


async def _subscribe(
    client: httpx.AsyncClient, org: OrgWorld, url: str, events: list[str] | None = None
) -> dict[str, Any]:
    created = await client.post(
        "/v1/webhooks", json={"url": url, "events": events or ALL}, headers=org.admin.headers
    )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


async def _emit(app: FastAPI, org: OrgWorld, event: Any = "alert.opened") -> uuid.UUID | None:
    async with app.state.sessionmaker() as session, session.begin():
        return await emit(
            session, organization_id=org.id, event=event, data={"alert_id": str(uuid.uuid4())}
        )


async def _deliver(app: FastAPI) -> int:
    async with httpx.AsyncClient() as http:
        return await delivery.deliver_due(app.state.sessionmaker, client=http, production=False)


async def _log(client: httpx.AsyncClient, org: OrgWorld, webhook_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=org.admin.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_delivery_is_signed_and_verifiable(
    app: FastAPI, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    org = await make_org(app)
    hook = await _subscribe(client, org, receiver.url)
    assert hook["secret"].startswith("whsec_")
    event_id = await _emit(app, org)
    assert await _deliver(app) == 1
    (got,) = receiver.received
    payload = Webhook(hook["secret"]).verify(got.body, got.headers)
    assert payload["id"] == got.headers["Webhook-Id"] == str(event_id)
    assert payload["event"] == "alert.opened"
    assert set(payload) == {"id", "event", "created_at", "data"}
    assert set(payload["data"]) == {"alert_id"}  # ids only
    # Another secret does not verify it.
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + "A" * 43).verify(got.body, got.headers)
    (attempt,) = await _log(client, org, hook["id"])
    assert (attempt["event_id"], attempt["status_code"], attempt["attempt"]) == (
        str(event_id),
        204,
        1,
    )
    assert await _deliver(app) == 0  # delivered: never again


async def test_only_subscribed_live_endpoints_get_an_event(
    app: FastAPI, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    org = await make_org(app)
    await _subscribe(client, org, receiver.url, ["reading.created"])
    assert await _emit(app, org, "alert.opened") is None  # nobody wants it: nothing written
    other = await make_org(app, "Elsewhere")
    assert await _emit(app, other, "reading.created") is None
    deleted = await _subscribe(client, org, receiver.url, ["alert.opened"])
    removed = await client.delete(f"/v1/webhooks/{deleted['id']}", headers=org.admin.headers)
    assert removed.status_code == 204
    assert await _emit(app, org, "alert.opened") is None
    async with app.state.sessionmaker() as session:
        assert list(await session.scalars(select(WebhookEvent))) == []


async def test_an_event_rolled_back_with_its_cause_is_never_sent(
    app: FastAPI, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    org = await make_org(app)
    await _subscribe(client, org, receiver.url)

    async def failing_change() -> None:
        async with app.state.sessionmaker() as session, session.begin():
            await emit(session, organization_id=org.id, event="alert.opened", data={})
            raise RuntimeError("the change that caused it failed")

    with pytest.raises(RuntimeError):
        await failing_change()
    assert await _deliver(app) == 0
    assert receiver.received == []


async def test_a_receiver_down_for_five_minutes_still_gets_every_event(
    app: FastAPI, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    org = await make_org(app)
    hook = await _subscribe(client, org, receiver.url)
    receiver.stop()
    start = datetime.now(UTC)
    with frozen_at(start):
        sent = [await _emit(app, org) for _ in range(3)]
        assert await _deliver(app) == 3  # refused
    for minute in range(1, 6):  # the worker keeps passing while the receiver is down
        with frozen_at(start + timedelta(minutes=minute)):
            await _deliver(app)
    failures = await _log(client, org, hook["id"])
    assert len(failures) >= 6
    assert all(a["status_code"] is None and a["error"] for a in failures)
    receiver.start()
    with frozen_at(start + timedelta(minutes=10)):
        assert await _deliver(app) == 3
    assert sorted(receiver.ids()) == sorted(str(e) for e in sent)
    for got in receiver.received:  # signed with the secret, at the time of that attempt
        at = datetime.fromtimestamp(int(got.headers["Webhook-Timestamp"]), UTC)
        body = got.body.decode()
        expected = Webhook(hook["secret"]).sign(got.headers["Webhook-Id"], at, body)
        assert got.headers["Webhook-Signature"] == expected
    latest = (await _log(client, org, hook["id"]))[:3]
    assert {a["status_code"] for a in latest} == {204}


async def test_retries_back_off_and_stop_after_24_hours(
    app: FastAPI, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    org = await make_org(app)
    hook = await _subscribe(client, org, receiver.url)
    receiver.status = 500
    start = datetime.now(UTC)
    with frozen_at(start):
        await _emit(app, org)
        assert await _deliver(app) == 1
        assert await _deliver(app) == 0  # the next attempt waits (5 s at least)
    moments = [start + timedelta(seconds=6)]
    moments += [start + timedelta(hours=h) for h in range(1, 25)]
    moments += [start + timedelta(hours=25), start + timedelta(hours=30)]
    for moment in moments:
        with frozen_at(moment):
            await _deliver(app)
    async with app.state.sessionmaker() as session:
        (row,) = await session.scalars(select(WebhookDelivery))
    assert row.status == "failed"
    attempts = await _log(client, org, hook["id"])
    assert {a["status_code"] for a in attempts} == {500}
    # Exponential: 5 s, 10 s, 20 s ... then hourly; about 24 + a few attempts in all.
    assert 20 <= len(attempts) <= 40
    assert len(receiver.received) == len(attempts)


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [
        (1, 4.0, 5.0),
        (2, 8.0, 10.0),
        (3, 16.0, 20.0),
        (10, 2048.0, 2560.0),
        (20, 2880.0, 3600.0),
        (500, 2880.0, 3600.0),  # many attempts never overflow the wait
    ],
)
def test_backoff_doubles_from_five_seconds_up_to_an_hour(
    attempt: int, low: float, high: float
) -> None:
    for _ in range(50):
        assert low <= delivery.backoff(attempt).total_seconds() <= high


async def test_a_worker_killed_mid_delivery_loses_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    receiver: Receiver,
    database_url: str,
    tmp_path: Path,
) -> None:
    org = await make_org(app)
    await _subscribe(client, org, receiver.url)
    event_id = await _emit(app, org)
    receiver.hold = True
    env = {
        **os.environ,
        "ACCESS_RPM_DATABASE_URL": database_url,
        "ACCESS_RPM_DATA_DIR": str(tmp_path),
    }
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        "worker",
        "--once",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        arrived = await asyncio.to_thread(receiver.arrived.wait, 60)
        assert arrived, "the worker never called the receiver"
        os.kill(worker.pid, signal.SIGKILL)  # mid-delivery: the receiver holds the request
        assert await asyncio.wait_for(worker.wait(), timeout=30) == -signal.SIGKILL
    finally:
        if worker.returncode is None:
            worker.kill()
    receiver.hold = False
    receiver.release.set()
    async with app.state.sessionmaker() as session:
        (row,) = await session.scalars(select(WebhookDelivery))
    assert (row.status, row.attempts) == ("pending", 1)  # claimed, never recorded
    # Once the dead worker's lease has run out, the next pass delivers it.
    with frozen_at(datetime.now(UTC) + delivery.LEASE + timedelta(seconds=1)):
        assert await _deliver(app) == 1
    assert receiver.ids() == [str(event_id), str(event_id)]  # at least once, same id
    async with app.state.sessionmaker() as session:
        (row,) = await session.scalars(select(WebhookDelivery))
    assert row.status == "delivered"


# --- who may manage webhooks -------------------------------------------------------------------


async def test_only_the_organizations_admin_manages_its_webhooks(
    app: FastAPI, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    org = await make_org(app)
    other = await make_org(app, "Elsewhere")
    hook = await _subscribe(client, org, receiver.url)
    listed = await client.get("/v1/webhooks", headers=org.admin.headers)
    assert [h["id"] for h in listed.json()["items"]] == [hook["id"]]
    assert "secret" not in listed.json()["items"][0]
    assert (await client.get("/v1/webhooks", headers=other.admin.headers)).json()["items"] == []
    path = f"/v1/webhooks/{hook['id']}"
    assert (await client.get(f"{path}/deliveries", headers=other.admin.headers)).status_code == 404
    assert (await client.delete(path, headers=other.admin.headers)).status_code == 404
    for caller in (org.clinician.headers, {}):
        expected = 403 if caller else 401
        assert (await client.get("/v1/webhooks", headers=caller)).status_code == expected
        assert (await client.delete(path, headers=caller)).status_code == expected
        body = {"url": receiver.url, "events": ALL}
        assert (await client.post("/v1/webhooks", json=body, headers=caller)).status_code == (
            expected
        )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.org/hook", "events": ["alert.opened"]}, "url"),
        ({"url": "https://example.org/hook", "events": []}, "events"),
        ({"url": "https://example.org/hook", "events": ["alert.deleted"]}, "events"),
        ({"url": "https://user:pw@example.org/hook", "events": ["alert.opened"]}, "url"),
        ({"url": "https://example.org/hook", "events": ["alert.opened"], "x": 1}, "x"),
    ],
)
async def test_a_bad_webhook_is_422_naming_the_field(
    app: FastAPI, client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    org = await make_org(app)
    refused = await client.post("/v1/webhooks", json=body, headers=org.admin.headers)
    assert refused.status_code == 422, refused.text
    assert any(f["path"].startswith(field) for f in refused.json()["fields"]), refused.text


@pytest.mark.parametrize(
    ("url", "production", "refused"),
    [
        ("http://127.0.0.1:9000/hook", False, None),
        ("http://127.0.0.1:9000/hook", True, "must be https"),
        ("https://127.0.0.1/hook", True, "non-public"),
        ("https://10.0.0.7/hook", True, "non-public"),
        ("https://169.254.169.254/latest", True, "non-public"),
        ("https://[::1]/hook", True, "non-public"),
        ("https://localhost/hook", True, "non-public"),
        ("https://93.184.215.14/hook", True, None),
    ],
)
async def test_production_urls_must_be_https_to_public_addresses(
    url: str, production: bool, refused: str | None
) -> None:
    async def check() -> None:
        targets.check_form(url, production=production)
        await targets.check_addresses(url, production=production)

    if refused is None:
        await check()
    else:
        with pytest.raises(targets.UnsafeTarget, match=refused):
            await check()


def test_the_body_is_the_same_bytes_at_every_attempt() -> None:
    event = WebhookEvent(
        id=uuid.UUID(int=1),
        organization_id=uuid.UUID(int=2),
        event="alert.opened",
        data={"b": "2", "a": "1"},
        created_at=datetime(2026, 11, 30, 12, 0, tzinfo=UTC),
    )
    body = delivery.body_of(event)
    assert body == delivery.body_of(event)
    assert json.loads(body) == {
        "id": "00000000-0000-0000-0000-000000000001",
        "event": "alert.opened",
        "created_at": "2026-11-30T12:00:00+00:00",
        "data": {"a": "1", "b": "2"},
    }


async def test_settled_events_are_deleted_after_30_days_pending_ones_kept(
    app: FastAPI, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    org = await make_org(app)
    hook = await _subscribe(client, org, receiver.url)
    start = datetime.now(UTC)
    with frozen_at(start):
        delivered = await _emit(app, org)
        assert await _deliver(app) == 1
        receiver.stop()
        stuck = await _emit(app, org)  # its receiver is gone: still pending for a while
        assert await _deliver(app) == 1
    with frozen_at(start + delivery.KEEP_FOR - timedelta(minutes=1)):
        assert await delivery.prune(app.state.sessionmaker) == 0  # not old enough
    with frozen_at(start + delivery.KEEP_FOR + timedelta(minutes=1)):
        async with app.state.sessionmaker() as session, session.begin():
            await session.execute(  # as if its retries were still running
                update(WebhookDelivery)
                .where(WebhookDelivery.event_id == stuck)
                .values(status="pending")
            )
        assert await delivery.prune(app.state.sessionmaker) == 1
    async with app.state.sessionmaker() as session:
        left = list(await session.scalars(select(WebhookEvent.id)))
    assert left == [stuck]
    assert delivered not in left
    assert [a["event_id"] for a in await _log(client, org, hook["id"])] == [str(stuck)]
