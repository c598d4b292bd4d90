"""Test harness: a real database per test, built by the migrations, and the app over ASGI.

SQLite: the migrated schema is built once, then each test gets its own copy of the file.
PostgreSQL (`TEST_DATABASE_URL`): the schema is rebuilt once per run; each test's rows are
truncated afterwards. Requests commit for real, so concurrency tests see real transactions.
Under pytest-xdist every worker has its own PostgreSQL database (`<name>_gw0`, ...), created
when missing, so workers never see each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import Settings
from app.db import Base, create_engine
from app.main import create_app
from app.migrate import upgrade_head


def _worker_database(url: str | None) -> str | None:
    """This xdist worker's own database: the configured one with the worker id appended."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if url is None or worker is None:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


CONFIGURED_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_DATABASE_URL = _worker_database(CONFIGURED_DATABASE_URL)
TEST_SECRET = "test-secret-" + "k" * 40
# A fresh key per test process: nothing a test stores outlives it.
TEST_ENCRYPTION_KEY = Fernet.generate_key().decode()


def is_postgres() -> bool:
    return TEST_DATABASE_URL is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if is_postgres():
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set TEST_DATABASE_URL")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


async def _create_database(configured: str, url: str) -> None:
    """Create `url`'s database (on the configured server) unless it exists."""
    name = make_url(url).database
    engine = create_async_engine(configured, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        exists = await connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        )
        if not exists:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()


async def _reset_postgres(url: str) -> None:
    if CONFIGURED_DATABASE_URL is not None and url != CONFIGURED_DATABASE_URL:
        await _create_database(CONFIGURED_DATABASE_URL, url)
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL (PostgreSQL) or file path (SQLite) of a freshly migrated database."""
    if TEST_DATABASE_URL is not None:
        asyncio.run(_reset_postgres(TEST_DATABASE_URL))
        upgrade_head(TEST_DATABASE_URL)
        return TEST_DATABASE_URL
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade_head(f"sqlite+aiosqlite:///{path}")
    return str(path)


async def truncate_all(url: str) -> None:
    """Empty every table between tests. The audit trail refuses TRUNCATE (a trigger); the test
    harness, as the database owner, sets the triggers aside for this one transaction."""
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("SET LOCAL session_replication_role = replica"))
        await connection.execute(text(f"TRUNCATE {tables} CASCADE"))
    await engine.dispose()


@pytest.fixture
async def database_url(migrated_template: str, tmp_path: Path) -> AsyncIterator[str]:
    if TEST_DATABASE_URL is not None:
        yield TEST_DATABASE_URL
        await truncate_all(TEST_DATABASE_URL)
        return
    target = tmp_path / "test.db"
    with sqlite3.connect(migrated_template) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    yield f"sqlite+aiosqlite:///{target}"


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "DATABASE_URL": database_url,
        "ACCESS_RPM_ENV": "development",
        "ACCESS_RPM_JWT_SECRET": TEST_SECRET,
        "ACCESS_RPM_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
        # Argon2id at its minimum cost: the tests check behaviour, not hashing strength.
        "ACCESS_RPM_ARGON2_TIME_COST": 1,
        "ACCESS_RPM_ARGON2_MEMORY_KIB": 8,
        # Tests run the worker's passes themselves, on a clock they move.
        "worker_in_process": False,
    }
    values.update(overrides)
    return Settings.model_validate(values)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


_shared: list[FastAPI] = []


def _shared_app(settings: Settings) -> FastAPI:
    """One app per test process, started on each test's own database: FastAPI prepares every
    route on an app's first request (about 0.1 s here), which per test was most of the suite's
    time. Tests that need other settings build their own with `create_app`."""
    if not _shared:
        _shared.append(create_app(settings))
    application = _shared[0]
    application.state.settings = settings
    return application


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = _shared_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def own_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """An app of the test's own, for a test that adds routes to it."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
