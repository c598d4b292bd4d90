"""The local stand-in of CMS's Data Reporting API (`app/cms/standin.py`) keeps to the guide's
description: OAuth client credentials, bearer tokens on every call, the 202 pattern, and
OperationOutcomes for what it refuses; and it checks what CMS's profiles require."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.cms.standin import StandIn

BASE = "http://cms.test"


@pytest.fixture
async def cms() -> AsyncIterator[tuple[StandIn, httpx.AsyncClient]]:
    standin = StandIn(clients={"c": "s"}, polls_before_result=0)
    transport = httpx.ASGITransport(app=standin.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        yield standin, http


async def _token(http: httpx.AsyncClient) -> dict[str, str]:
    answer = await http.post("/token", data={"grant_type": "client_credentials"}, auth=("c", "s"))
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _parameters(**changes: Any) -> dict[str, Any]:
    bundle = {
        "resourceType": "Bundle",
        "type": "document",
        "identifier": {"value": "urn:uuid:1"},
        "entry": [
            {
                "resource": {
                    "resourceType": "Composition",
                    "date": "2026-07-09",
                    "section": [{"code": {"coding": [{"code": "eCKM"}]}}],
                }
            },
            {
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [
                        {
                            "system": "http://terminology.hl7.org/NamingSystem/cmsMBI",
                            "value": "1EG4TE5MK73",
                        }
                    ],
                }
            },
        ],
    }
    values = {
        "participantID": {"valueIdentifier": {"value": "ACCES12345"}},
        "payerID": {"valueIdentifier": {"value": "CMS"}},
        "track": {"valueCodeableConcept": {"coding": [{"code": "eCKM"}]}},
        "reportType": {"valueCodeableConcept": {"coding": [{"code": "baseline"}]}},
        "dataBundle": {"resource": bundle},
        **changes,
    }
    parameter = [{"name": name, **value} for name, value in values.items() if value is not None]
    return {"resourceType": "Parameters", "parameter": parameter}


async def _result(http: httpx.AsyncClient, body: Any, entity: str = "ACCES12345") -> Any:
    headers = await _token(http)
    sent = await http.post(
        "/Patient/$report-data", params={"entityId": entity}, json=body, headers=headers
    )
    assert sent.status_code == 202, sent.text
    status = await http.get(sent.headers["content-location"], headers=headers)
    assert status.status_code == 200, status.text
    return status.json()


async def test_token_rules(cms: tuple[StandIn, httpx.AsyncClient]) -> None:
    _, http = cms
    grant = {"grant_type": "client_credentials"}
    assert (await http.post("/token", data=grant, auth=("c", "wrong"))).status_code == 401
    form = {**grant, "client_id": "c", "client_secret": "s"}
    assert (await http.post("/token", data=form)).status_code == 200
    other = await http.post("/token", data={"grant_type": "password"}, auth=("c", "s"))
    assert other.json() == {"error": "unsupported_grant_type"}
    garbled = await http.post("/token", data=grant, headers={"Authorization": "Basic %%%"})
    assert garbled.status_code == 401


async def test_every_call_needs_a_token(cms: tuple[StandIn, httpx.AsyncClient]) -> None:
    _, http = cms
    for answer in (
        await http.post("/Patient/$report-data", json=_parameters()),
        await http.get("/Patient/$submission-status/sub-1"),
        await http.get(
            "/Patient/$submission-status/sub-1", headers={"Authorization": "Bearer made-up"}
        ),
    ):
        assert answer.status_code == 401
        assert answer.json()["resourceType"] == "OperationOutcome"


async def test_what_is_not_parameters_is_400(cms: tuple[StandIn, httpx.AsyncClient]) -> None:
    _, http = cms
    headers = await _token(http)
    for content in (b"{not json", b'{"resourceType": "Bundle"}', b"[1]"):
        answer = await http.post("/Patient/$report-data", content=content, headers=headers)
        assert answer.status_code == 400, answer.text
        assert answer.json()["issue"][0]["code"] == "structure"
    unknown = await http.get("/Patient/$submission-status/sub-unknown", headers=headers)
    assert unknown.status_code == 404
    metadata = await http.get("/metadata")
    assert metadata.json()["resourceType"] == "CapabilityStatement"


@pytest.mark.parametrize(
    ("changes", "entity", "problem"),
    [
        ({}, "ACCES99999", "participantID does not match the entityId"),
        ({"participantID": {"valueIdentifier": {"value": "ACCESS1234"}}}, "ACCESS1234", "ACCES"),
        ({"payerID": None}, "ACCES12345", "the payerID parameter is missing"),
        (
            {"track": {"valueCodeableConcept": {"coding": [{"code": "BH"}]}}},
            "ACCES12345",
            "first section is not the track",
        ),
        (
            {"dataBundle": {"resource": {"resourceType": "Bundle", "type": "batch"}}},
            "ACCES12345",
            "dataBundle must be a document Bundle",
        ),
        (
            {"dataBundle": {"resource": {"resourceType": "Bundle", "type": "document"}}},
            "ACCES12345",
            "the first entry of dataBundle must be a Composition",
        ),
    ],
)
async def test_what_cms_checks_is_a_validation_error(
    cms: tuple[StandIn, httpx.AsyncClient], changes: dict[str, Any], entity: str, problem: str
) -> None:
    _, http = cms
    result = await _result(http, _parameters(**changes), entity)
    (answer, issues) = result["parameter"]
    assert answer["valueCodeableConcept"]["coding"][0]["code"] == "validation-error"
    assert any(problem in i["diagnostics"] for i in issues["resource"]["issue"])


async def test_the_same_bundle_again_is_the_same_submission_another_a_duplicate(
    cms: tuple[StandIn, httpx.AsyncClient],
) -> None:
    standin, http = cms
    first = await _result(http, _parameters())
    assert first["parameter"][0]["valueCodeableConcept"]["coding"][0]["code"] == "success"
    assert (await _result(http, _parameters())) == first
    assert standin.distinct_bundles() == 1
    bundle = _parameters()["parameter"][4]["resource"]
    again = _parameters(dataBundle={"resource": {**bundle, "identifier": {"value": "urn:uuid:2"}}})
    second = await _result(http, again)
    assert second["parameter"][0]["valueCodeableConcept"]["coding"][0]["code"] == "duplicate"
    assert len(standin.received) == 3
