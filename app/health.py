"""Liveness, readiness and Prometheus metrics (not versioned; no user token).

Ready means the database answers and its schema is at the latest migration of `migrations/`:
a server started on a database nobody migrated (raw `uvicorn app.main:app`) must not be sent
traffic that would fail on missing tables. `python -m app serve` migrates before it serves.

`/metrics` follows the settings (docs/api.md "Operations"): off (404), open, or behind
`Authorization: Bearer <metrics_token>`, compared in constant time.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from functools import lru_cache

from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import Connection, Select, String, column, inspect, select, table
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.errors import NotFound, ServiceUnavailable, Unauthorized, error_responses
from app.migrate import alembic_config

# Alembic's default, which migrations/env.py keeps.
VERSION_TABLE = "alembic_version"
MIGRATE = (
    "run `python -m app migrate`, or start the server with `python -m app serve`, which"
    " migrates first"
)

router = APIRouter(tags=["operations"])


class Status(BaseModel):
    status: str


@router.get("/healthz")
async def healthz() -> Status:
    """The process is up."""
    return Status(status="ok")


@dataclass(frozen=True, slots=True)
class Migrations:
    """The revisions of migrations/: the latest (its heads) and every one it knows."""

    heads: frozenset[str]
    known: frozenset[str]


@lru_cache(maxsize=1)
def known_migrations() -> Migrations:
    """Read once per process (the app's startup): the files do not change under it."""
    script = ScriptDirectory.from_config(alembic_config(""))
    return Migrations(
        heads=frozenset(script.get_heads()),
        known=frozenset(revision.revision for revision in script.walk_revisions()),
    )


def _applied(connection: Connection) -> frozenset[str]:
    """The revisions the database is at (none when it was never migrated)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return frozenset()
    versions: Select[str] = select(column("version_num", String)).select_from(table(VERSION_TABLE))
    return frozenset(connection.execute(versions).scalars())


def schema_problem(applied: frozenset[str], migrations: Migrations) -> str | None:
    """Why a database at `applied` cannot serve this code, or None when it is at the latest."""
    if applied == migrations.heads:
        return None
    if not applied:
        return f"The database is not migrated: {MIGRATE}."
    if applied <= migrations.known:
        return f"The database is not at the latest migration: {MIGRATE}."
    # Migrated by a newer release: this code cannot vouch for a schema it has never seen.
    return "The database was migrated by a newer release than this one."


@router.get("/readyz", responses=error_responses(503))
async def readyz(request: Request) -> Status:
    """The database answers and is at the latest migration."""
    engine: AsyncEngine = request.app.state.engine
    migrations: Migrations = request.app.state.migrations
    try:
        async with engine.connect() as connection:
            applied = await connection.run_sync(_applied)
    except Exception as exc:
        raise ServiceUnavailable("The database is not reachable.") from exc
    problem = schema_problem(applied, migrations)
    if problem is not None:
        raise ServiceUnavailable(problem)
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
