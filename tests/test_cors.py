"""CORS: a browser app served from a configured origin may call the API; any other origin gets
no CORS headers, and with none configured nobody does (README "Configuration")."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app
from app.middleware import CorsMiddleware
from tests.conftest import make_settings
from tests.factories import make_org

ALLOWED = "https://clinic.example"
OTHER = "https://evil.example"


def preflight(
    origin: str, method: str = "POST", headers: str = "authorization,content-type"
) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    }


@pytest.fixture
async def cors_app(database_url: str) -> AsyncIterator[FastAPI]:
    # Written as a person might (a trailing slash, capitals): browsers send it normalized.
    app = create_app(make_settings(database_url, cors_origins=["https://Clinic.example/"]))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def cors_client(cors_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=cors_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def _cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


def _listed(value: str) -> set[str]:
    return {item.strip().lower() for item in value.split(",")}


async def test_a_preflight_from_an_allowed_origin_succeeds(
    cors_client: httpx.AsyncClient,
) -> None:
    response = await cors_client.options("/v1/patients", headers=preflight(ALLOWED))
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert {"get", "post", "patch", "delete"} <= _listed(
        response.headers["access-control-allow-methods"]
    )
    assert {"authorization", "content-type", "x-request-id"} <= _listed(
        response.headers["access-control-allow-headers"]
    )
    assert int(response.headers["access-control-max-age"]) > 0
    assert "origin" in _listed(response.headers["vary"])
    # Bearer tokens, never cookies: no credentials mode.
    assert "access-control-allow-credentials" not in response.headers


@pytest.mark.parametrize(
    ("origin", "method", "headers", "refused"),
    [
        (OTHER, "POST", "authorization,content-type", "the origin"),
        ("http://clinic.example", "GET", "authorization", "the origin"),  # another scheme
        ("https://clinic.example:8443", "GET", "authorization", "the origin"),  # another port
        ("null", "GET", "authorization", "the origin"),  # a sandboxed page or a file
        (ALLOWED, "POST", "authorization,x-api-key", "a request header"),
    ],
)
async def test_a_preflight_from_elsewhere_is_refused(
    cors_client: httpx.AsyncClient, origin: str, method: str, headers: str, refused: str
) -> None:
    response = await cors_client.options("/v1/patients", headers=preflight(origin, method, headers))
    assert response.status_code == 400
    if refused == "the origin":
        assert "access-control-allow-origin" not in response.headers
    body = response.json()
    assert body["error"] == "CorsRefused"
    assert refused in body["detail"]


async def test_an_allowed_origin_reads_answers_and_their_headers(
    cors_app: FastAPI, cors_client: httpx.AsyncClient
) -> None:
    org = await make_org(cors_app)
    listed = await cors_client.get(
        "/v1/patients", headers={"Origin": ALLOWED, **org.clinician.headers}
    )
    assert listed.status_code == 200
    assert listed.headers["access-control-allow-origin"] == ALLOWED
    assert {
        "retry-after",
        "location",
        "content-location",
        "www-authenticate",
        "x-request-id",
    } <= _listed(listed.headers["access-control-expose-headers"])
    # Errors too, so the page can show them: a 401, and a 413 refused before any route runs.
    anonymous = await cors_client.get("/v1/patients", headers={"Origin": ALLOWED})
    assert anonymous.status_code == 401
    assert anonymous.headers["access-control-allow-origin"] == ALLOWED
    too_large = await cors_client.post(
        "/v1/patients",
        content=b" " * (1024 * 1024 + 1),
        headers={"Origin": ALLOWED, "Content-Type": "application/json"},
    )
    assert too_large.status_code == 413
    assert too_large.headers["access-control-allow-origin"] == ALLOWED


async def test_another_origin_gets_no_allow_origin(cors_client: httpx.AsyncClient) -> None:
    response = await cors_client.get("/healthz", headers={"Origin": OTHER})
    assert response.status_code == 200  # the browser, not the server, withholds the answer
    assert "access-control-allow-origin" not in response.headers


async def test_without_the_setting_there_are_no_cors_headers(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    assert CorsMiddleware.__name__ not in [
        getattr(m.cls, "__name__", "") for m in app.user_middleware
    ]
    answered = await client.options("/v1/patients", headers=preflight(ALLOWED))
    assert answered.status_code == 405  # no CORS: OPTIONS is a method no route has
    assert _cors_headers(answered) == {}
    plain = await client.get("/healthz", headers={"Origin": ALLOWED})
    assert _cors_headers(plain) == {}
