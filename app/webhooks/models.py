"""Webhook endpoints, the outbox of events, and each event's delivery to each endpoint."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, CreatedMixin, IdMixin


class WebhookEndpoint(IdMixin, CreatedMixin, Base):
    """Where an organization wants events sent, and the secret deliveries are signed with."""

    __tablename__ = "webhook_endpoints"

    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    # The subscribed event types as ",a,b," so one LIKE finds the subscribers of an event.
    events: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(500))
    # The signing key (`whsec_` + base64), kept to sign each delivery (HMAC needs the key
    # itself, not a digest of it); shown once, never returned again.
    secret: Mapped[str] = mapped_column(String(100))
    deleted_at: Mapped[datetime | None]


class WebhookEvent(IdMixin, CreatedMixin, Base):
    """One event, written in the transaction of the change that caused it (the outbox);
    deleted with its deliveries and their attempts once settled and `KEEP_FOR` old."""

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_created_at", "created_at"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(index=True)
    event: Mapped[str] = mapped_column(String(32))
    # Ids only: never a clinical value or a name (docs/api.md "Webhooks").
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class WebhookDelivery(IdMixin, CreatedMixin, Base):
    """One event to one endpoint, until it is delivered or its retries run out."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_status_due", "status", "next_attempt_at"),)

    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_events.id", ondelete="CASCADE"), index=True
    )
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    # pending -> delivered | failed (retries ran out) | cancelled (endpoint deleted)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    # When the next attempt may start; while one runs, the end of its lease (a worker that
    # dies mid-delivery leaves the delivery to be taken again then).
    next_attempt_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class WebhookAttempt(IdMixin, Base):
    """One HTTP attempt of a delivery, as the endpoint's delivery log shows it."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_endpoint_id_at", "endpoint_id", "at"),)

    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    endpoint_id: Mapped[uuid.UUID]
    event_id: Mapped[uuid.UUID]
    event: Mapped[str] = mapped_column(String(32))
    attempt: Mapped[int]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]
