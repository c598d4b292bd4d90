"""The calls to CMS's API, answer by answer (`app/cms/client.py`): what each HTTP answer, or its
absence, means for a submission. CMS is played by a handler on an httpx mock transport."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_args

import httpx
import pytest

from app.cms.client import Accepted, CmsClient, Credentials, Pending, Result, Retry
from app.fhir.report_codes import RESULTS
from app.outcomes.schemas import ResultCode

BASE = "https://cms.example/access"
CREDENTIALS = Credentials(BASE, "client", "secret")
TOKEN = httpx.Response(200, json={"access_token": "t1", "token_type": "bearer", "expires_in": 300})
Handler = Callable[[httpx.Request], httpx.Response]


def _client(answer: Handler, calls: list[httpx.Request] | None = None) -> CmsClient:
    def handle(request: httpx.Request) -> httpx.Response:
        if calls is not None:
            calls.append(request)
        if request.url.path.endswith("/token"):
            return TOKEN
        return answer(request)

    return CmsClient(httpx.AsyncClient(transport=httpx.MockTransport(handle)))


def _parameters(code: str, text: str | None = None, issues: tuple[str, ...] = ()) -> dict[str, Any]:
    concept: dict[str, Any] = {"coding": [{"system": "x", "code": code}]}
    if text:
        concept["text"] = text
    parameter: list[dict[str, Any]] = [{"name": "result", "valueCodeableConcept": concept}]
    if issues:
        parameter.append(
            {
                "name": "issues",
                "resource": {
                    "resourceType": "OperationOutcome",
                    "issue": [{"severity": "error", "details": {"text": t}} for t in issues],
                },
            }
        )
    return {"resourceType": "Parameters", "parameter": parameter}


def _raise(error: Exception) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        raise error

    return handle


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            lambda r: httpx.Response(
                202, headers={"Content-Location": "Patient/$submission-status/s1"}
            ),
            Accepted(f"{BASE}/Patient/$submission-status/s1"),
        ),
        (
            lambda r: httpx.Response(
                202, headers={"Content-Location": "https://status.cms.example/s2"}
            ),
            Accepted("https://status.cms.example/s2"),
        ),
        (lambda r: httpx.Response(202), Retry("CMS answered 202 without a Content-Location")),
        (
            lambda r: httpx.Response(200, json=_parameters("duplicate", "Already reported")),
            Result("duplicate", "Already reported"),
        ),
        (
            lambda r: httpx.Response(
                400,
                json={"resourceType": "OperationOutcome", "issue": [{"diagnostics": "bad MBI"}]},
            ),
            Result("validation-error", "bad MBI"),
        ),
        (lambda r: httpx.Response(422, content=b"not json"), Result("validation-error", None)),
        (lambda r: httpx.Response(503), Retry("CMS answered 503: no detail")),
        (lambda r: httpx.Response(429), Retry("CMS answered 429: no detail")),
        (lambda r: httpx.Response(401), Retry("CMS refused the token (401)")),
        (_raise(httpx.ReadTimeout("slow")), Retry("CMS did not answer in time")),
        (_raise(httpx.ConnectError("down")), Retry("could not reach CMS (ConnectError)")),
    ],
)
async def test_send(answer: Handler, expected: object) -> None:
    client = _client(answer)
    assert await client.send(CREDENTIALS, entity_id="ACCES12345", body=b"{}") == expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (lambda r: httpx.Response(202), Pending()),
        (
            lambda r: httpx.Response(
                200, json=_parameters("validation-error", "Rejected", ("MBI unknown", "No BP"))
            ),
            Result("validation-error", "Rejected\nMBI unknown\nNo BP"),
        ),
        (lambda r: httpx.Response(200, json=_parameters("success")), Result("success", None)),
        (
            lambda r: httpx.Response(200, json=_parameters("maybe")),
            Retry("CMS answered a result this service does not know: 'maybe'"),
        ),
        (
            lambda r: httpx.Response(200, json={"resourceType": "Parameters"}),
            Retry("CMS answered a result this service does not know: None"),
        ),
        (lambda r: httpx.Response(404), Retry("CMS answered 404: no detail")),
    ],
)
async def test_poll(answer: Handler, expected: object) -> None:
    client = _client(answer)
    assert await client.poll(CREDENTIALS, status_url=f"{BASE}/s") == expected


async def test_the_token_is_asked_with_basic_auth_and_kept_until_refused() -> None:
    calls: list[httpx.Request] = []
    refused = [True]

    def answer(request: httpx.Request) -> httpx.Response:
        if refused and request.method == "GET" and len(calls) > 3:
            refused.clear()
            return httpx.Response(401)
        return httpx.Response(202)

    client = _client(answer, calls)
    for _ in range(4):
        await client.poll(CREDENTIALS, status_url=f"{BASE}/s")
    await client.poll(CREDENTIALS, status_url=f"{BASE}/s")
    tokens = [c for c in calls if c.url.path.endswith("/token")]
    assert len(tokens) == 2  # once, then again after CMS refused the token
    assert tokens[0].headers["authorization"].startswith("Basic ")
    assert tokens[0].content == b"grant_type=client_credentials"
    assert calls[1].headers["authorization"] == "Bearer t1"


@pytest.mark.parametrize(
    ("token_answer", "expected"),
    [
        (
            httpx.Response(401, json={"error": "invalid_client"}),
            "CMS refused the client credentials (401 invalid_client)",
        ),
        (httpx.Response(200, json={"token_type": "bearer"}), "without an access token"),
        (httpx.Response(500, content=b"oops"), "CMS refused the client credentials (500 )"),
    ],
)
async def test_token_failures_are_retried(token_answer: httpx.Response, expected: str) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return token_answer

    client = CmsClient(httpx.AsyncClient(transport=httpx.MockTransport(handle)))
    answer = await client.send(CREDENTIALS, entity_id="ACCES12345", body=b"{}")
    assert isinstance(answer, Retry)
    assert expected in answer.error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (httpx.ConnectTimeout("slow"), "CMS's token endpoint did not answer in time"),
        (httpx.ConnectError("down"), "could not reach CMS's token endpoint (ConnectError)"),
    ],
)
async def test_an_unreachable_token_endpoint_is_retried(error: Exception, expected: str) -> None:
    client = CmsClient(httpx.AsyncClient(transport=httpx.MockTransport(_raise(error))))
    assert await client.poll(CREDENTIALS, status_url=f"{BASE}/s") == Retry(expected)


def test_the_report_reads_back_exactly_the_guides_result_codes() -> None:
    """ACCESSReportDataResultCS's seven codes (docs/rules.md "Reporting to CMS"), the same in
    the codes the client accepts and in the report's schema."""
    assert list(RESULTS) == [
        "success",
        "validation-error",
        "duplicate",
        "patient-not-aligned",
        "reporting-period-closed",
        "incomplete-data",
        "incorrect-track",
    ]
    assert get_args(ResultCode) == tuple(RESULTS)
