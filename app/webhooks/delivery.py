"""Delivering webhook events: the worker's half of the outbox (docs/api.md "Webhooks").

Invariants:
- at least once: a delivery stays `pending` until a receiver answers 2xx; it is claimed in a
  short transaction (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so two workers never take the same
  one) that counts the attempt and leases it for `LEASE`; the HTTP call runs outside any
  transaction; its outcome is written in another. A worker killed mid-call leaves the lease to
  run out, and the delivery is taken again: nothing is lost, a receiver may see an event twice
  (same `Webhook-Id`, by which it de-duplicates);
- retries back off exponentially (`FIRST_RETRY`, doubling, at most `LONGEST_WAIT`, less up to
  a fifth at random so receivers coming back are not hit all at once) for `RETRY_FOR` after the
  event; then the delivery is `failed`;
- each attempt is logged (status code or error) for the endpoint's delivery log;
- a body is the same bytes at every attempt (`body_of`), signed per the Standard Webhooks
  scheme by its library: `v1,` + base64 HMAC-SHA256 of "{id}.{timestamp}.{body}";
- redirects are not followed, and in production the URL is checked again before each attempt
  (`targets.py`): a receiver cannot aim the service at its own network;
- settled events are deleted after `KEEP_FOR` (30 days) with their log, so the outbox does not
  grow forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from app.clock import utcnow
from app.logs import describe
from app.webhooks import targets
from app.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

LEASE = timedelta(seconds=60)
TIMEOUT_SECONDS = 10.0
FIRST_RETRY = timedelta(seconds=5)
LONGEST_WAIT = timedelta(hours=1)
RETRY_FOR = timedelta(hours=24)
USER_AGENT = "access-rpm-webhooks/1"

log = logging.getLogger("access_rpm.webhooks")


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery taken for one attempt, with what sending it needs."""

    delivery_id: uuid.UUID
    attempt: int
    endpoint_id: uuid.UUID
    url: str
    secret: str
    event_id: uuid.UUID
    event: str
    body: str
    event_at: datetime


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None = None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def body_of(event: WebhookEvent) -> str:
    """The delivery body: `{id, event, created_at, data}`, compact, keys in order."""
    payload = {
        "id": str(event.id),
        "event": event.event,
        "created_at": event.created_at.isoformat(),
        "data": event.data,
    }
    return json.dumps(payload, separators=(",", ":"), sort_keys=True)


def backoff(attempt: int) -> timedelta:
    """The wait after failed attempt `attempt` (1, 2, ...): 5 s doubling, at most an hour,
    less up to a fifth at random."""
    wait: timedelta = min(FIRST_RETRY * 2 ** min(attempt - 1, 20), LONGEST_WAIT)
    return wait * (1 - random.random() / 5)  # noqa: S311  (spreading load, not a secret)


async def claim(maker: async_sessionmaker[AsyncSession], *, batch: int) -> list[Claimed]:
    """Take up to `batch` deliveries due now, counting the attempt and leasing each."""
    now = utcnow()
    async with maker() as session, session.begin():
        rows = (
            await session.execute(
                select(WebhookDelivery, WebhookEndpoint, WebhookEvent)
                .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
                .where(
                    WebhookDelivery.status == "pending",
                    WebhookDelivery.next_attempt_at <= now,
                    WebhookEndpoint.deleted_at.is_(None),
                )
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(batch)
                .with_for_update(skip_locked=True, of=WebhookDelivery)
            )
        ).all()
        claimed = []
        for delivery, endpoint, event in rows:
            delivery.attempts += 1
            delivery.next_attempt_at = now + LEASE
            claimed.append(
                Claimed(
                    delivery_id=delivery.id,
                    attempt=delivery.attempts,
                    endpoint_id=endpoint.id,
                    url=endpoint.url,
                    secret=endpoint.secret,
                    event_id=event.id,
                    event=event.event,
                    body=body_of(event),
                    event_at=event.created_at,
                )
            )
    return claimed


def headers_for(claimed: Claimed, *, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt, signed with the endpoint's secret."""
    msg_id = str(claimed.event_id)
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Webhook-Id": msg_id,
        "Webhook-Timestamp": str(int(at.timestamp())),
        "Webhook-Signature": Webhook(claimed.secret).sign(msg_id, at, claimed.body),
    }


async def send(client: httpx.AsyncClient, claimed: Claimed, *, production: bool) -> Outcome:
    """One attempt; never raises for the receiver's or the network's failures."""
    try:
        await targets.check_addresses(claimed.url, production=production)
    except targets.UnsafeTarget as exc:
        return Outcome(error=f"refused: url {exc}")
    try:
        response = await client.post(
            claimed.url,
            content=claimed.body.encode(),
            headers=headers_for(claimed, at=utcnow()),
            timeout=TIMEOUT_SECONDS,
            follow_redirects=False,
        )
    except httpx.TimeoutException:
        return Outcome(error="timed out")
    except httpx.HTTPError as exc:
        return Outcome(error=f"{type(exc).__name__}: could not deliver")
    return Outcome(status_code=response.status_code)


async def record(
    maker: async_sessionmaker[AsyncSession], claimed: Claimed, outcome: Outcome
) -> None:
    """Log the attempt; the delivery is delivered, retried later or, past `RETRY_FOR`,
    failed. Only the attempt that still holds the delivery moves it (a lease that ran out
    was taken again by another attempt, whose outcome counts)."""
    now = utcnow()
    async with maker() as session, session.begin():
        session.add(
            WebhookAttempt(
                delivery_id=claimed.delivery_id,
                endpoint_id=claimed.endpoint_id,
                event_id=claimed.event_id,
                event=claimed.event,
                attempt=claimed.attempt,
                status_code=outcome.status_code,
                error=outcome.error,
                at=now,
            )
        )
        if outcome.delivered:
            values: dict[str, object] = {"status": "delivered", "delivered_at": now}
        else:
            retry_at = now + backoff(claimed.attempt)
            if retry_at > claimed.event_at + RETRY_FOR:
                values = {"status": "failed"}
            else:
                values = {"next_attempt_at": retry_at}
        await session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == claimed.delivery_id,
                WebhookDelivery.attempts == claimed.attempt,
                WebhookDelivery.status == "pending",
            )
            .values(**values)
        )


async def deliver_due(
    maker: async_sessionmaker[AsyncSession],
    *,
    client: httpx.AsyncClient,
    production: bool,
    batch: int = 50,
) -> int:
    """Attempt every delivery due now, `batch` at a time, each batch's calls in parallel;
    returns how many attempts were made."""
    made = 0
    while claimed := await claim(maker, batch=batch):
        outcomes = await asyncio.gather(*(send(client, c, production=production) for c in claimed))
        for c, outcome in zip(claimed, outcomes, strict=True):
            await record(maker, c, outcome)
        made += len(claimed)
    return made


POLL_SECONDS = 2.0  # how soon a new event goes out: deliveries are looked for this often
# How long a settled event (no delivery pending) and its delivery log are kept; then deleted,
# so the outbox does not grow forever. Longer than any retry (`RETRY_FOR`).
KEEP_FOR = timedelta(days=30)
PRUNE_EVERY = timedelta(hours=1)


async def prune(maker: async_sessionmaker[AsyncSession]) -> int:
    """Delete events older than `KEEP_FOR` with no delivery pending (their deliveries and
    attempts go with them); returns how many events."""
    pending = select(WebhookDelivery.id).where(
        WebhookDelivery.event_id == WebhookEvent.id, WebhookDelivery.status == "pending"
    )
    async with maker() as session, session.begin():
        gone = await session.execute(
            delete(WebhookEvent)
            .where(WebhookEvent.created_at < utcnow() - KEEP_FOR, ~pending.exists())
            .returning(WebhookEvent.id)
        )
        return len(gone.all())


async def run_forever(
    maker: async_sessionmaker[AsyncSession], *, production: bool, stop: asyncio.Event
) -> None:
    """Deliver what is due, pass after pass, until `stop` is set; an error is logged (types
    and frames only) and the next pass tries again."""
    pruned_at: datetime | None = None
    async with httpx.AsyncClient() as client:
        while not stop.is_set():
            try:
                await deliver_due(maker, client=client, production=production)
                if pruned_at is None or utcnow() - pruned_at >= PRUNE_EVERY:
                    await prune(maker)
                    pruned_at = utcnow()
            except Exception as exc:
                log.error("webhook delivery pass failed: %s", describe(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=POLL_SECONDS)
