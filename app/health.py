"""Liveness, readiness and Prometheus metrics (not versioned; no user token).

`/metrics` follows the settings (docs/api.md "Operations"): off (404), open, or behind
`Authorization: Bearer <metrics_token>`, compared in constant time.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.errors import NotFound, ServiceUnavailable, Unauthorized, error_responses

router = APIRouter(tags=["operations"])


class Status(BaseModel):
    status: str


@router.get("/healthz")
async def healthz() -> Status:
    """The process is up."""
    return Status(status="ok")


@router.get("/readyz", responses=error_responses(503))
async def readyz(request: Request) -> Status:
    """The database answers."""
    engine: AsyncEngine = request.app.state.engine
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:
        raise ServiceUnavailable("The database is not reachable.") from exc
    return Status(status="ok")


@router.get("/metrics", response_class=Response, responses=error_responses(401, 404))
async def metrics(request: Request) -> Response:
    """Prometheus metrics in the text exposition format (when enabled; may need a token)."""
    settings: Settings = request.app.state.settings
    if not settings.metrics_enabled:
        raise NotFound()
    if settings.metrics_token is not None:
        scheme, _, sent = request.headers.get("authorization", "").partition(" ")
        expected = settings.metrics_token.get_secret_value()
        # Constant time: how much of a guess matched must not show in the answer's timing.
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            sent.strip().encode(), expected.encode()
        ):
            raise Unauthorized("The metrics token is required.")
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
