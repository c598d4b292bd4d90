from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from app.schemas import ReadModel, StrictModel, TextLine
from app.webhooks.events import EventType


class WebhookCreate(StrictModel):
    url: str = Field(
        min_length=8,
        max_length=2048,
        pattern=r"^https?://[^\s]+$",
        description="Where deliveries are POSTed; https in production, to a public address.",
    )
    events: list[EventType] = Field(min_length=1, max_length=4)
    description: Annotated[str, TextLine(max_length=500)] | None = None


class WebhookRead(ReadModel):
    id: uuid.UUID
    url: str
    events: list[EventType]
    description: str | None
    created_at: datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(
        description="The signing secret (`whsec_` + base64), shown once: verify each delivery's"
        " `Webhook-Signature` with it (Standard Webhooks)."
    )


class WebhookList(BaseModel):
    items: list[WebhookRead]


class DeliveryAttemptRead(BaseModel):
    event_id: uuid.UUID
    event: EventType
    status_code: int | None = Field(description="The receiver's HTTP status; null if none came.")
    error: str | None = Field(description="Why the attempt failed without a status, if it did.")
    attempt: int = Field(description="1 for the first attempt of this event to this endpoint.")
    at: datetime


class DeliveryAttemptList(BaseModel):
    items: list[DeliveryAttemptRead]
