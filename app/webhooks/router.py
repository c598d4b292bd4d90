from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.auth.dependencies import CurrentAdmin, SettingsDep
from app.db import SessionDep
from app.errors import error_responses
from app.webhooks import service as webhooks_service
from app.webhooks.schemas import DeliveryAttemptList, WebhookCreate, WebhookCreated, WebhookList

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_webhook(
    body: WebhookCreate, principal: CurrentAdmin, session: SessionDep, settings: SettingsDep
) -> WebhookCreated:
    """Subscribe a URL to events; the signing secret is in this response only."""
    return await webhooks_service.create(
        session, principal=principal, body=body, production=settings.env == "production"
    )


@router.get("")
async def list_webhooks(principal: CurrentAdmin, session: SessionDep) -> WebhookList:
    """The organization's webhooks."""
    return await webhooks_service.list_endpoints(session, principal=principal)


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_webhook(
    webhook_id: uuid.UUID, principal: CurrentAdmin, session: SessionDep
) -> Response:
    """Delete a webhook; deliveries not yet made are cancelled."""
    await webhooks_service.delete(session, principal=principal, endpoint_id=webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{webhook_id}/deliveries", responses=error_responses(404))
async def list_deliveries(
    webhook_id: uuid.UUID,
    principal: CurrentAdmin,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryAttemptList:
    """The webhook's recent delivery attempts, newest first."""
    return await webhooks_service.attempts(
        session, principal=principal, endpoint_id=webhook_id, limit=limit
    )
