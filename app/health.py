"""Liveness, readiness and Prometheus metrics (not versioned, not authenticated)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.errors import ServiceUnavailable, error_responses

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


@router.get("/metrics", response_class=Response)
async def metrics() -> Response:
    """Prometheus metrics in the text exposition format."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
