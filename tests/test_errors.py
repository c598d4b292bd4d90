"""The error shape everywhere, bad input as 4xx, request ids, and operations endpoints."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import make_org

PATIENT = {
    "given_name": "Ana",
    "family_name": "Silva",
    "birth_date": "1957-04-02",
    "sex": "female",
    "timezone": "America/New_York",
}


def _assert_shape(response: httpx.Response, status: int, error: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    body: dict[str, object] = response.json()
    assert body["error"] == error
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert set(body) <= {"error", "detail", "fields"}
    assert response.headers["x-request-id"]
    return body


async def test_malformed_json_is_400(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    response = await client.post(
        "/v1/patients",
        content=b'{"given_name": "Ana",',
        headers={**org.clinician.headers, "content-type": "application/json"},
    )
    _assert_shape(response, 400, "MalformedJSON")


async def test_body_over_1_mib_is_413(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    big = b'{"given_name": "' + b"a" * (1024 * 1024) + b'"}'
    response = await client.post(
        "/v1/patients",
        content=big,
        headers={**org.clinician.headers, "content-type": "application/json"},
    )
    _assert_shape(response, 413, "PayloadTooLarge")


async def test_chunked_body_over_1_mib_is_413(app: FastAPI, client: httpx.AsyncClient) -> None:
    """Without Content-Length the limit still holds while the body streams in."""
    org = await make_org(app)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * 65536

    response = await client.post(
        "/v1/patients",
        content=chunks(),
        headers={**org.clinician.headers, "content-type": "application/json"},
    )
    _assert_shape(response, 413, "PayloadTooLarge")


async def test_body_just_under_the_limit_is_parsed(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    padded = b" " * (1024 * 1024 - 200) + b'{"unexpected": 1}'
    response = await client.post(
        "/v1/patients",
        content=padded,
        headers={**org.clinician.headers, "content-type": "application/json"},
    )
    assert response.status_code == 422


async def test_unknown_field_is_422_naming_it(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    response = await client.post(
        "/v1/patients", json={**PATIENT, "favourite_colour": "blue"}, headers=org.clinician.headers
    )
    body = _assert_shape(response, 422, "ValidationError")
    assert body["fields"] == [{"path": "favourite_colour", "message": "unknown field"}]


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("birth_date", "1957-02-30", "date"),
        ("birth_date", "not a date", "date"),
        ("birth_date", "2999-01-01", "between 1900-01-01 and today"),
        ("timezone", "Mars/Olympus", "IANA"),
        ("sex", "robot", "female"),
        ("mbi", "12345", "Medicare Beneficiary Identifier"),
        ("height_cm", 300, "250"),
    ],
)
async def test_bad_values_are_422_naming_the_field(
    app: FastAPI, client: httpx.AsyncClient, field: str, value: object, fragment: str
) -> None:
    org = await make_org(app)
    response = await client.post(
        "/v1/patients", json={**PATIENT, field: value}, headers=org.clinician.headers
    )
    body = _assert_shape(response, 422, "ValidationError")
    fields = body["fields"]
    assert isinstance(fields, list)
    assert fields[0]["path"] == field
    assert fragment in fields[0]["message"]


async def test_missing_field_is_422(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    body = {k: v for k, v in PATIENT.items() if k != "timezone"}
    response = await client.post("/v1/patients", json=body, headers=org.clinician.headers)
    result = _assert_shape(response, 422, "ValidationError")
    assert result["fields"] == [{"path": "timezone", "message": "required field is missing"}]


async def test_bad_query_parameter_is_422(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    response = await client.get("/v1/patients?limit=5000", headers=org.clinician.headers)
    body = _assert_shape(response, 422, "ValidationError")
    assert body["fields"][0]["path"] == "query.limit"  # type: ignore[index]
    bad_cursor = await client.get("/v1/patients?cursor=%%%", headers=org.clinician.headers)
    _assert_shape(bad_cursor, 422, "ValidationError")


async def test_unknown_route_and_method(client: httpx.AsyncClient) -> None:
    _assert_shape(await client.get("/v1/nothing-here"), 404, "NotFound")
    _assert_shape(await client.delete("/healthz"), 405, "MethodNotAllowed")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        # One path, two routes: Starlette alone names only the first route's methods.
        ("OPTIONS", "/v1/patients", "GET, POST"),
        ("DELETE", "/v1/patients/me/readings", "GET, POST"),
        ("OPTIONS", "/v1/patients/me/devices/{id}", "PATCH, DELETE"),
        # Literal siblings of `{reading_id}` are not taken for a malformed id (a 422).
        ("DELETE", "/v1/patients/me/readings/batch", "POST"),
        ("DELETE", "/v1/patients/me/readings/daily", "GET"),
        ("PUT", "/v1/patients/me/readings/{id}", "DELETE"),
    ],
)
async def test_405_allows_every_method_of_the_path(
    client: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    response = await client.request(method, path.format(id=uuid.uuid4()))
    _assert_shape(response, 405, "MethodNotAllowed")
    assert response.headers["allow"] == allow


async def test_a_reading_id_that_is_no_uuid_is_no_route(client: httpx.AsyncClient) -> None:
    _assert_shape(await client.delete("/v1/patients/me/readings/nonsense"), 404, "NotFound")


async def test_request_id_is_echoed_or_made(client: httpx.AsyncClient) -> None:
    echoed = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    made = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert made.headers["x-request-id"] != "bad id with spaces"
    assert len(made.headers["x-request-id"]) == 32


async def test_unexpected_error_is_a_clean_500(own_app: FastAPI) -> None:
    app = own_app  # the route added here must not reach other tests' app

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.get("/boom")
    body = _assert_shape(response, 500, "InternalError")
    assert "secret" not in str(body)


async def test_health_ready_metrics(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ok"}
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert "access_rpm_http_requests_total" in metrics.text
    assert metrics.headers["content-type"].startswith("text/plain")


async def test_readyz_is_503_when_the_database_is_down(app: FastAPI) -> None:
    from app.db import create_engine

    real = app.state.engine
    app.state.engine = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            response = await http.get("/readyz")
    finally:
        await app.state.engine.dispose()
        app.state.engine = real
    _assert_shape(response, 503, "ServiceUnavailable")
