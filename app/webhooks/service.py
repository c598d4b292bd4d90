"""Webhook endpoints of an organization, managed by its admin, and their delivery logs.

Invariants: an admin sees and manages their own organization's endpoints only (another
organization's id is a 404); the secret is made here, returned once and never again; deleting
an endpoint stops its pending deliveries at once (they are cancelled, the log stays readable
until the endpoint is gone from lists). No patient data is read or shown here (payloads carry
ids), so nothing here writes to the patient-data audit trail.
"""

from __future__ import annotations

import base64
import secrets
import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.clock import utcnow
from app.errors import FieldError, Invalid, NotFound
from app.webhooks import targets
from app.webhooks.events import EventType
from app.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.webhooks.schemas import (
    DeliveryAttemptList,
    DeliveryAttemptRead,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookRead,
)

_SECRET_BYTES = 32  # Standard Webhooks: 24 to 64 bytes


def _read(endpoint: WebhookEndpoint) -> WebhookRead:
    return WebhookRead(
        id=endpoint.id,
        url=endpoint.url,
        events=_events(endpoint.events),
        description=endpoint.description,
        created_at=endpoint.created_at,
    )


def _events(stored: str) -> list[EventType]:
    return [e for e in stored.split(",") if e]  # type: ignore[misc]  # written from EventType


async def create(
    session: AsyncSession, *, principal: Principal, body: WebhookCreate, production: bool
) -> WebhookCreated:
    try:
        targets.check_form(body.url, production=production)
        await targets.check_addresses(body.url, production=production)
    except targets.UnsafeTarget as exc:
        raise Invalid(
            f"Invalid request: url {exc}.", fields=[FieldError(path="url", message=str(exc))]
        ) from None
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode()
    events = sorted(set(body.events))
    endpoint = WebhookEndpoint(
        organization_id=principal.organization_id,
        url=body.url,
        events="," + ",".join(events) + ",",
        description=body.description,
        secret=secret,
    )
    session.add(endpoint)
    await session.flush()
    return WebhookCreated(**_read(endpoint).model_dump(), secret=secret)


async def list_endpoints(session: AsyncSession, *, principal: Principal) -> WebhookList:
    rows = await session.scalars(
        select(WebhookEndpoint)
        .where(
            WebhookEndpoint.organization_id == principal.organization_id,
            WebhookEndpoint.deleted_at.is_(None),
        )
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    )
    return WebhookList(items=[_read(e) for e in rows])


async def _own(
    session: AsyncSession, *, principal: Principal, endpoint_id: uuid.UUID
) -> WebhookEndpoint:
    endpoint = await session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.id == endpoint_id,
            WebhookEndpoint.organization_id == principal.organization_id,
            WebhookEndpoint.deleted_at.is_(None),
        )
    )
    if endpoint is None:
        raise NotFound("No such webhook.")
    return endpoint


async def delete(session: AsyncSession, *, principal: Principal, endpoint_id: uuid.UUID) -> None:
    """Delete the endpoint; its pending deliveries are cancelled."""
    endpoint = await _own(session, principal=principal, endpoint_id=endpoint_id)
    endpoint.deleted_at = utcnow()
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == "pending")
        .values(status="cancelled")
    )


async def attempts(
    session: AsyncSession, *, principal: Principal, endpoint_id: uuid.UUID, limit: int
) -> DeliveryAttemptList:
    """The endpoint's most recent delivery attempts, newest first."""
    endpoint = await _own(session, principal=principal, endpoint_id=endpoint_id)
    rows = await session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.endpoint_id == endpoint.id)
        .order_by(WebhookAttempt.at.desc(), WebhookAttempt.id.desc())
        .limit(limit)
    )
    return DeliveryAttemptList(
        items=[
            DeliveryAttemptRead(
                event_id=a.event_id,
                event=a.event,
                status_code=a.status_code,
                error=a.error,
                attempt=a.attempt,
                at=a.at,
            )
            for a in rows
        ]
    )
