"""Readiness: `/readyz` is 200 only when the database answers and is at the latest migration,
so a server started on a database nobody migrated (raw uvicorn) is sent no traffic (README,
"Two commands")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.db import create_engine
from app.health import Migrations, known_migrations, schema_problem
from app.main import create_app
from app.migrate import alembic_config
from tests.conftest import TEST_DATABASE_URL, _reset_postgres, make_settings

NOT_MIGRATED = "The database is not migrated: run `python -m app migrate`"
BEHIND = "The database is not at the latest migration: run `python -m app migrate`"
NEWER = "The database was migrated by a newer release than this one."


async def _readyz(database_url: str) -> httpx.Response:
    app = create_app(make_settings(database_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await http.get("/readyz")


@pytest.fixture
async def fresh_url(tmp_path: Path) -> AsyncIterator[str]:
    """An empty database nobody migrated: a new SQLite file, or on PostgreSQL a database of
    its own (beside this worker's test database), emptied."""
    if TEST_DATABASE_URL is None:
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    parsed = make_url(TEST_DATABASE_URL)
    url = parsed.set(database=f"{parsed.database}_readyz").render_as_string(hide_password=False)
    await _reset_postgres(url)
    yield url
    await _reset_postgres(url)


def _assert_unready(response: httpx.Response, detail: str) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "ServiceUnavailable"
    assert response.json()["detail"].startswith(detail), response.json()


async def test_a_fresh_database_is_not_ready(fresh_url: str) -> None:
    response = await _readyz(fresh_url)
    _assert_unready(response, NOT_MIGRATED)
    assert "python -m app serve" in response.json()["detail"]  # the other way out


async def test_a_migrated_database_is_ready(database_url: str) -> None:
    response = await _readyz(database_url)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok"}


async def test_a_database_one_migration_behind_or_ahead_is_not_ready(fresh_url: str) -> None:
    script = ScriptDirectory.from_config(alembic_config(fresh_url))
    (head,) = script.get_heads()
    previous = script.get_revision(head).down_revision
    assert isinstance(previous, str)
    await asyncio.to_thread(command.upgrade, alembic_config(fresh_url), previous)
    _assert_unready(await _readyz(fresh_url), BEHIND)
    # Migrated by a release this code does not know: it cannot vouch for that schema either.
    engine = create_engine(fresh_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE alembic_version SET version_num = 'f0f0f0f0f0f0'")
            )
    finally:
        await engine.dispose()
    _assert_unready(await _readyz(fresh_url), NEWER)


async def test_the_latest_migration_is_read_once_at_startup(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not per readiness call: the probe runs every few seconds."""
    app = create_app(make_settings(database_url))
    async with app.router.lifespan_context(app):

        def refuse(*_args: object, **_kwargs: object) -> ScriptDirectory:
            raise AssertionError("migrations/ read again")

        monkeypatch.setattr(ScriptDirectory, "from_config", refuse)
        known_migrations.cache_clear()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            for _ in range(3):
                assert (await http.get("/readyz")).status_code == 200
    monkeypatch.undo()
    known_migrations.cache_clear()


MIGRATIONS = Migrations(heads=frozenset({"c"}), known=frozenset({"a", "b", "c"}))


@pytest.mark.parametrize(
    ("applied", "problem"),
    [
        ({"c"}, None),
        (set(), NOT_MIGRATED),
        ({"a"}, BEHIND),
        ({"b"}, BEHIND),
        ({"z"}, NEWER),
        ({"c", "z"}, NEWER),
    ],
)
def test_schema_problem(applied: set[str], problem: str | None) -> None:
    found = schema_problem(frozenset(applied), MIGRATIONS)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert found.startswith(problem)
