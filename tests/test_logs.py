"""No patient value reaches a log line: an unexpected error is logged by type and place only."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.db import SessionDep
from app.logs import describe

SECRET = "Jane-Doe-1EG4TE5MK73"


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_an_unexpected_error_logs_where_not_what(
    own_app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    app = own_app

    @app.get("/boom")
    async def boom() -> None:
        try:
            raise ValueError(f"patient {SECRET}")
        except ValueError as cause:
            raise RuntimeError(f"could not store {SECRET}") from cause

    caplog.set_level(logging.INFO)
    async with _client(app) as http:
        response = await http.get("/boom", headers={"X-Request-ID": "req-42"})
    assert response.status_code == 500
    assert SECRET not in caplog.text
    assert "req-42" in caplog.text
    assert "builtins.ValueError" in caplog.text
    assert "builtins.RuntimeError" in caplog.text
    assert "test_logs.py" in caplog.text  # where it happened


async def test_a_database_error_carrying_a_bound_value_is_logged_without_it(
    own_app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    app = own_app

    @app.get("/db-boom")
    async def db_boom(session: SessionDep) -> None:
        # PostgreSQL (asyncpg) names the bad value in its error; SQLite's driver fails on the
        # unknown function and names the SQL, which holds the value as a literal.
        await session.execute(
            text(f"SELECT no_such_function('{SECRET}', CAST(:value AS integer))"),
            {"value": SECRET},
        )

    caplog.set_level(logging.INFO)
    async with _client(app) as http:
        response = await http.get("/db-boom")
    assert response.status_code == 500
    assert "unhandled error" in caplog.text
    assert SECRET not in caplog.text


def test_describe_names_types_and_frames_only() -> None:
    values: dict[str, str] = {}
    try:
        values[SECRET]
    except KeyError as exc:
        described = describe(exc)
    assert described.startswith("builtins.KeyError at ")
    assert "test_describe_names_types_and_frames_only" in described
    assert SECRET not in described
