"""The error shape everywhere, bad input as 4xx, request ids, and operations endpoints."""

from __future__ import annotations

import ast
import importlib
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
import pytest
from fastapi import FastAPI
from pydantic import AfterValidator, Field, TypeAdapter, ValidationError

from app.errors import HTTP_ERROR_CODES, AppError
from app.field_messages import TIMESTAMP_MESSAGE, field_message
from app.schemas import Timestamp
from tests.factories import make_org, make_patient

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


# --- Messages written for people (docs/api.md "Errors, refined") ------------------------------
# A 422 names the field (its path) and says what the value must be, with the allowed range where
# there is one, in one place (`app.field_messages.field_message`), never in the library's words.

LIBRARY_WORDING = (
    "Input should",
    "Value error",
    "Assertion failed",
    "Field required",
    "Extra inputs",
    "after validation",
    "String should",
    "List should",
    "valid dictionary",
    "unable to parse",
)
LONG_ID = "p" * 65


def _patient(**changes: object) -> dict[str, object]:
    return {**PATIENT, **changes}


@pytest.mark.parametrize(
    ("method", "path", "body", "field", "message"),
    [
        ("POST", "/v1/patients", _patient(height_cm=300), "height_cm",
         "must be from 50 to 250 (got 300)"),
        ("POST", "/v1/patients", _patient(height_cm=12.5), "height_cm",
         "must be from 50 to 250 (got 12.5)"),
        ("POST", "/v1/patients", _patient(height_cm="tall"), "height_cm", "must be a number"),
        ("POST", "/v1/patients", _patient(sex="robot"), "sex",
         "must be 'female', 'male', 'other' or 'unknown'"),
        ("POST", "/v1/patients", _patient(given_name=5), "given_name", "must be a string"),
        ("POST", "/v1/patients", _patient(given_name=""), "given_name",
         "must be 1 to 100 characters long (got 0)"),
        ("POST", "/v1/patients", _patient(given_name="a" * 101), "given_name",
         "must be 1 to 100 characters long (got 101)"),
        ("POST", "/v1/patients", _patient(mbi="12345"), "mbi",
         "not a Medicare Beneficiary Identifier (11 characters, e.g. 1EG4TE5MK73)"),
        ("POST", "/v1/patients", _patient(social_risk=[]), "social_risk", "must be a JSON object"),
        ("POST", "/v1/patients", ["not", "an", "object"], "body", "must be a JSON object"),
        ("GET", "/v1/patients?limit=5000", None, "query.limit",
         "must be from 1 to 1000 (got 5000)"),
        ("GET", "/v1/patients?limit=0", None, "query.limit", "must be from 1 to 1000 (got 0)"),
        ("GET", "/v1/patients?limit=ten", None, "query.limit", "must be a whole number"),
        ("GET", "/v1/patients?track=eckm", None, "query.track",
         "must be 'eCKM', 'CKM', 'MSK' or 'BH'"),
        ("GET", "/v1/organization/attainment?cohort=2025", None, "query.cohort",
         "must be from 2026 to 2040 (got 2025)"),
        ("GET", f"/v1/patients/{LONG_ID}", None, "path.patient_id",
         "must be at most 64 characters long (got 65)"),
    ],
)  # fmt: skip
async def test_422_messages_name_the_rule_and_its_range(
    app: FastAPI,
    client: httpx.AsyncClient,
    method: str,
    path: str,
    body: object,
    field: str,
    message: str,
) -> None:
    org = await make_org(app)
    response = await client.request(method, path, json=body, headers=org.clinician.headers)
    result = _assert_shape(response, 422, "ValidationError")
    fields = result["fields"]
    assert isinstance(fields, list)
    assert {"path": field, "message": message} in fields, fields
    assert f"{field}: {message}" in str(result["detail"])
    for wording in LIBRARY_WORDING:
        assert wording not in response.text, wording


async def test_an_oversized_batch_says_how_many_items_it_may_have(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org, height_cm=None)
    reading = {"type": "weight", "value": 70, "unit": "kg", "effective_at": "2025-03-03T12:00:00Z"}
    response = await client.post(
        f"/v1/patients/{patient.id}/readings/batch",
        json={"readings": [reading] * 1152},
        headers=org.clinician.headers,
    )
    result = _assert_shape(response, 422, "ValidationError")
    assert result["fields"] == [
        {"path": "readings", "message": "must have at most 1000 items (got 1152)"}
    ]


async def test_a_list_field_states_both_ends(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org)
    response = await client.post(
        f"/v1/patients/{patient.id}/enrollments",
        json={"track": "eCKM", "conditions": [], "start_date": "2026-01-05"},
        headers=org.clinician.headers,
    )
    result = _assert_shape(response, 422, "ValidationError")
    assert {"path": "conditions", "message": "must have 1 to 12 items (got 0)"} in result["fields"]  # type: ignore[operator]


def _errors(annotation: Any, value: object) -> list[Any]:
    try:
        TypeAdapter(annotation).validate_python(value)
    except ValidationError as exc:
        return list(exc.errors())
    raise AssertionError(f"{value!r} was accepted")


def _value_error(value: str) -> str:
    raise ValueError("must be a prime number")


@pytest.mark.parametrize(
    ("annotation", "value", "message"),
    [
        (Annotated[int, Field(ge=1)], 0, "must be at least 1 (got 0)"),
        (Annotated[int, Field(le=9)], 10, "must be at most 9 (got 10)"),
        (Annotated[float, Field(gt=0)], -1.5, "must be greater than 0 (got -1.5)"),
        (Annotated[float, Field(gt=0, lt=1)], 1, "must be less than 1 (got 1)"),
        (Annotated[int, Field(multiple_of=5)], 7, "must be a multiple of 5"),
        (Annotated[str, Field(min_length=3)], "ab", "must be at least 3 characters long (got 2)"),
        (Annotated[str, Field(max_length=1)], "ab", "must be at most 1 character long (got 2)"),
        (Annotated[list[int], Field(min_length=2)], [1], "must have at least 2 items (got 1)"),
        (int, 1.5, "must be a whole number"),
        (int, "1e3", "must be a whole number"),
        (bool, "perhaps", "must be true or false"),
        (uuid.UUID, "nope", "must be a UUID (e.g. 3f2b8c1e-9d4a-4e6f-8b7a-1c2d3e4f5a6b)"),
        (list[int], "1,2", "must be a list"),
        (Literal["a"], "b", "must be 'a'"),
        (Annotated[str, AfterValidator(_value_error)], "4", "must be a prime number"),
        (Annotated[str, Field(pattern=r"^[0-9]+$")], "x",
         "is not in the format the schema's pattern gives"),
    ],
)  # fmt: skip
def test_field_messages_by_error_type(annotation: Any, value: object, message: str) -> None:
    (error,) = _errors(annotation, value)
    assert field_message(error) == message


def test_declared_bounds_complete_the_range() -> None:
    (error,) = _errors(Annotated[int, Field(ge=1)], 0)
    assert field_message(error, declared={"ge": 1, "le": 1000}) == "must be from 1 to 1000 (got 0)"
    (error,) = _errors(Annotated[str, Field(max_length=5)], "abcdef")
    assert (
        field_message(error, declared={"min_length": 5, "max_length": 5})
        == "must be exactly 5 characters long (got 6)"
    )


# --- Strict RFC 3339 timestamps ----------------------------------------------------------------
# A timestamp is RFC 3339 text with seconds and an offset: a Unix time (a number, or digits in a
# string), a day alone, or a time without its offset or seconds is a 422 naming the field, never
# a moment guessed for the caller.

NOT_TIMESTAMPS = [
    1741003200,
    1741003200.5,
    "1741003200",
    True,
    "2025-03-03",
    "2025-03-03T12:00:00",
    "2025-03-03T12:00Z",
    "2025-03-03 12:00:00Z",
    "2025-03-03t12:00:00z",
    "20250303T120000Z",
    "Mon, 03 Mar 2025 12:00:00 GMT",
    {"seconds": 1741003200},
]


@pytest.mark.parametrize("value", NOT_TIMESTAMPS, ids=repr)
@pytest.mark.parametrize(
    ("route", "field", "body"),
    [
        ("readings", "effective_at", {"type": "weight", "value": 70, "unit": "kg"}),
        (
            "readings",
            "end_at",
            {"type": "steps", "count": 900, "effective_at": "2025-03-03T12:00:00Z"},
        ),
        ("checkins", "completed_at", {"instrument": "pain_nrs", "answers": {"pain_avg_7d": 5}}),
    ],
)
async def test_timestamps_are_rfc_3339_text_only(
    app: FastAPI,
    client: httpx.AsyncClient,
    route: str,
    field: str,
    body: dict[str, object],
    value: object,
) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org, height_cm=None)
    response = await client.post(
        f"/v1/patients/{patient.id}/{route}",
        json={**body, field: value},
        headers=org.clinician.headers,
    )
    result = _assert_shape(response, 422, "ValidationError")
    assert {"path": field, "message": TIMESTAMP_MESSAGE} in result["fields"]  # type: ignore[operator]


def test_the_timestamp_type_refuses_what_is_not_text() -> None:
    """Before pydantic would read a number as seconds since 1970, or a datetime's parts."""
    adapter = TypeAdapter[datetime](Timestamp)
    for value in NOT_TIMESTAMPS:
        with pytest.raises(ValidationError) as refused:
            adapter.validate_python(value)
        assert field_message(refused.value.errors()[0]) == TIMESTAMP_MESSAGE, value
    assert adapter.validate_python("2025-03-03T07:00:00-05:00") == datetime(
        2025, 3, 3, 12, tzinfo=UTC
    )


# --- Error codes -------------------------------------------------------------------------------

PASCAL_CASE = re.compile(r"^[A-Z][A-Za-z0-9]*$")  # MalformedJSON too
# RFC 6749 (5.2) and RFC 7009 (2.2.1) fix these at the OAuth token and revocation endpoints.
OAUTH_CODES = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "unsupported_token_type",
    }
)
APP = Path(__file__).resolve().parent.parent / "app"


def _name(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")


def _error_codes() -> Iterator[tuple[str, int, str]]:
    """Every error code written in app/: an `error="..."` given to an `AppError` or to
    `error_response`, and an `error = "..."` of a class derived from one, with where it is."""
    importlib.import_module("app.main")  # every package, so every AppError subclass exists
    makers = {cls.__name__ for cls in _subclasses(AppError)} | {"error_response"}
    for path in sorted(APP.rglob("*.py")):
        where = str(path.relative_to(APP.parent))
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            values: list[ast.expr | None] = []
            if isinstance(node, ast.Call) and _name(node.func) in makers:
                values = [k.value for k in node.keywords if k.arg == "error"]
            elif isinstance(node, ast.ClassDef) and {_name(b) for b in node.bases} & makers:
                values = [
                    statement.value
                    for statement in node.body
                    if isinstance(statement, ast.Assign | ast.AnnAssign)
                    and any(
                        isinstance(t, ast.Name) and t.id == "error"
                        for t in (
                            statement.targets
                            if isinstance(statement, ast.Assign)
                            else [statement.target]
                        )
                    )
                ]
            for value in values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    yield where, value.lineno, value.value


def test_every_error_code_is_pascal_case() -> None:
    """Except the OAuth endpoints' own values, which only app/auth may use."""
    codes = list(_error_codes())
    assert len(codes) > 10  # the scan finds them
    wrong = [
        (where, line, code)
        for where, line, code in codes
        if not PASCAL_CASE.match(code)
        and not (code in OAUTH_CODES and where.startswith("app/auth/"))
    ]
    assert not wrong
    assert all(PASCAL_CASE.match(code) for code in HTTP_ERROR_CODES.values())
    for error_class in _subclasses(AppError):
        assert PASCAL_CASE.match(error_class.error), error_class


def _subclasses(cls: type[AppError]) -> Iterator[type[AppError]]:
    yield cls
    for sub in cls.__subclasses__():
        yield from _subclasses(sub)
