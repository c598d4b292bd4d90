"""The docs, the schema and the metrics are switches (docs/api.md "Operations"), and the
committed schema does not depend on them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI

from app.__main__ import main
from app.config import get_settings
from app.main import create_app
from app.migrate import PROJECT_ROOT
from tests.conftest import make_settings

STRONG_SECRET = "Vq7-Xk2pLr9_Zt4mWn8sBy3cHd6fJg1QeU5oTi0aRwM"
METRICS_TOKEN = "m3tr1cs-T0ken-for-the-scraper-only-9f8e7d"
DOCS_PATHS = ("/docs", "/redoc", "/openapi.json")


@asynccontextmanager
async def _client(database_url: str, **overrides: object) -> AsyncIterator[httpx.AsyncClient]:
    if overrides.get("ACCESS_RPM_ENV") == "production":
        overrides.setdefault("ACCESS_RPM_JWT_SECRET", STRONG_SECRET)
    app = create_app(make_settings(database_url, **overrides))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


@pytest.mark.parametrize(
    ("overrides", "served"),
    [
        ({}, True),  # development: on
        ({"ACCESS_RPM_ENV": "production"}, False),  # production: off unless asked
        ({"ACCESS_RPM_ENV": "production", "docs_enabled": True}, True),
        ({"docs_enabled": False}, False),
    ],
)
async def test_docs_and_schema_switch(
    database_url: str, overrides: dict[str, object], served: bool
) -> None:
    async with _client(database_url, **overrides) as client:
        for path in DOCS_PATHS:
            response = await client.get(path)
            assert response.status_code == (200 if served else 404), path
        # The API itself is there either way.
        assert (await client.get("/healthz")).status_code == 200


async def test_the_schema_is_the_same_with_docs_off(database_url: str) -> None:
    served = create_app(make_settings(database_url)).openapi()
    hidden = create_app(
        make_settings(
            database_url,
            ACCESS_RPM_ENV="production",
            ACCESS_RPM_JWT_SECRET=STRONG_SECRET,
            docs_enabled=False,
        )
    ).openapi()
    assert hidden == served


def test_openapi_command_works_with_docs_off(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ACCESS_RPM_ENV", "production")
    monkeypatch.setenv("ACCESS_RPM_JWT_SECRET", STRONG_SECRET)
    monkeypatch.setenv("ACCESS_RPM_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    monkeypatch.setenv("ACCESS_RPM_DOCS_ENABLED", "false")
    get_settings.cache_clear()
    try:
        assert get_settings().serves_docs is False
        assert main(["openapi"]) == 0
    finally:
        get_settings.cache_clear()
    committed = json.loads((PROJECT_ROOT / "openapi" / "openapi.json").read_text())
    assert json.loads(capsys.readouterr().out) == committed


async def test_metrics_can_be_switched_off(database_url: str) -> None:
    async with _client(database_url, metrics_enabled=False) as client:
        response = await client.get("/metrics")
        assert response.status_code == 404
        assert response.json()["error"] == "NotFound"


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (None, 401),
        ("", 401),
        ("Bearer", 401),
        ("Bearer wrong-token", 401),
        (f"Bearer {METRICS_TOKEN}x", 401),
        (f"Bearer {METRICS_TOKEN[:-1]}", 401),
        (f"Basic {METRICS_TOKEN}", 401),
        (f"Bearer {METRICS_TOKEN}", 200),
        (f"bearer {METRICS_TOKEN}", 200),  # the scheme is case-insensitive (RFC 7235)
    ],
)
async def test_metrics_behind_a_token(
    database_url: str, authorization: str | None, status: int
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    async with _client(database_url, metrics_token=METRICS_TOKEN) as client:
        response = await client.get("/metrics", headers=headers)
    assert response.status_code == status, response.text
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
        assert METRICS_TOKEN not in response.text
    else:
        assert "access_rpm_http_requests_total" in response.text


async def test_metrics_open_by_default(client: httpx.AsyncClient, app: FastAPI) -> None:
    assert app.state.settings.metrics_token is None
    assert (await client.get("/metrics")).status_code == 200


def test_production_warns_when_metrics_are_open(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    production = {"ACCESS_RPM_ENV": "production", "ACCESS_RPM_JWT_SECRET": STRONG_SECRET}
    create_app(make_settings(database_url, **production))
    assert "/metrics is open to anyone" in caplog.text
    caplog.clear()
    create_app(make_settings(database_url, **production, metrics_token=METRICS_TOKEN))
    create_app(make_settings(database_url, **production, metrics_enabled=False))
    assert "/metrics" not in caplog.text
