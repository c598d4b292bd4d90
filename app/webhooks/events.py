"""Emitting webhook events: the outbox half, called by services inside their own transaction.

Invariants: an event and its deliveries are rows written in the transaction of the change that
caused it, so a change that commits has its event and a rolled-back one has none (the
transactional outbox); one delivery per subscribed, undeleted endpoint of the organization,
chosen by the database in the same statement; when no endpoint subscribes, nothing is written
(a readings batch pays one indexed look-up). Payloads carry ids only.
"""

from __future__ import annotations

import uuid
from typing import Any, Final, Literal

from sqlalchemy import insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import utcnow
from app.db import UTCDateTime, database_new_id, new_id
from app.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

EventType = Literal["alert.opened", "alert.updated", "report.status_changed", "reading.created"]
EVENT_TYPES: Final[tuple[EventType, ...]] = (
    "alert.opened",
    "alert.updated",
    "report.status_changed",
    "reading.created",
)


def subscribed_to(event: str) -> Any:
    """The endpoints' condition for being subscribed to `event` (kept as ",a,b,")."""
    return WebhookEndpoint.events.contains(f",{event},", autoescape=True)


async def wanted(session: AsyncSession, *, organization_id: uuid.UUID, event: EventType) -> bool:
    """Whether any live endpoint of the organization subscribes to `event` (so a caller can
    skip reading what the event would say)."""
    found = await session.scalar(_subscribers(organization_id, event).limit(1))
    return found is not None


def _subscribers(organization_id: uuid.UUID, event: str) -> Any:
    return select(WebhookEndpoint.id).where(
        WebhookEndpoint.organization_id == organization_id,
        WebhookEndpoint.deleted_at.is_(None),
        subscribed_to(event),
    )


async def emit(
    session: AsyncSession, *, organization_id: uuid.UUID, event: EventType, data: dict[str, Any]
) -> uuid.UUID | None:
    """Record `event` for every endpoint of the organization subscribed to it; returns the
    event's id, or None when no endpoint wants it."""
    subscribers = _subscribers(organization_id, event)
    if (await session.scalar(subscribers.limit(1))) is None:
        return None
    now = utcnow()
    event_id = new_id()
    await session.execute(
        insert(WebhookEvent).values(
            id=event_id, organization_id=organization_id, event=event, data=data, created_at=now
        )
    )
    chosen = subscribers.subquery()
    await session.execute(
        insert(WebhookDelivery).from_select(
            [
                "id",
                "event_id",
                "endpoint_id",
                "status",
                "attempts",
                "next_attempt_at",
                "created_at",
            ],
            select(
                database_new_id(session),
                literal(event_id),
                chosen.c.id,
                literal("pending"),
                literal(0),
                literal(now, UTCDateTime()),
                literal(now, UTCDateTime()),
            ),
        )
    )
    return event_id
