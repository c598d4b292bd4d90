"""Who may read what under /fhir: the authorization matrix enumerates `/v1` routes only, so
each /fhir route is checked here: anonymous 401, another patient or organization 404, a
device 403 (404 for another patient's), people in reach 200; all as OperationOutcomes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from app.fhir import search
from tests.factories import OrgWorld, PatientWorld, make_org, make_patient
from tests.fhir.helpers import FHIR_JSON, audit_events, fhir_get, outcome_of

Route = Callable[[uuid.UUID], tuple[str, dict[str, str]]]
# (name, operation id, the request for a patient id)
ROUTES: list[tuple[str, str, Route]] = [
    ("read Patient", "fhir_read_patient", lambda p: (f"/fhir/Patient/{p}", {})),
    (
        "search Observation",
        "fhir_search_observation",
        lambda p: ("/fhir/Observation", {"patient": str(p)}),
    ),
    (
        "search Observation by reference",
        "fhir_search_observation",
        lambda p: ("/fhir/Observation", {"patient": f"Patient/{p}", "code": "8480-6"}),
    ),
    (
        "search QuestionnaireResponse",
        "fhir_search_questionnaire_response",
        lambda p: ("/fhir/QuestionnaireResponse", {"patient": str(p)}),
    ),
]


@pytest.fixture
async def world(app: FastAPI) -> tuple[OrgWorld, PatientWorld, PatientWorld, OrgWorld]:
    home = await make_org(app, "Home")
    target = await make_patient(app, home)
    neighbour = await make_patient(app, home)
    elsewhere = await make_org(app, "Elsewhere")
    return home, target, neighbour, elsewhere


@pytest.mark.parametrize(("name", "operation", "route"), ROUTES, ids=[r[0] for r in ROUTES])
async def test_route_policy(
    app: FastAPI,
    client: httpx.AsyncClient,
    world: tuple[OrgWorld, PatientWorld, PatientWorld, OrgWorld],
    name: str,
    operation: str,
    route: Route,
) -> None:
    home, target, neighbour, elsewhere = world
    path, params = route(target.id)

    anonymous = await fhir_get(client, path, params=params)
    assert outcome_of(anonymous, 401)["issue"][0]["code"] == "login"
    assert anonymous.headers["www-authenticate"] == "Bearer"

    outsiders = {
        "another patient": neighbour.user,
        "another patient's device": neighbour.device,
        "another organization's clinician": elsewhere.clinician,
        "another organization's admin": elsewhere.admin,
    }
    for who, actor in outsiders.items():
        response = await fhir_get(client, path, actor, params)
        assert outcome_of(response, 404)["issue"][0]["code"] == "not-found", who

    # Reach before role: the patient's own device reaches them, and may read nothing here.
    forbidden = await fhir_get(client, path, target.device, params)
    assert outcome_of(forbidden, 403)["issue"][0]["code"] == "forbidden"
    assert (
        await audit_events(
            app, patient_id=target.id, resource_type=operation[:32], outcome="denied"
        )
        == 1
    )

    for who, actor in {
        "the patient": target.user,
        "a clinician": home.clinician,
        "an admin": home.admin,
    }.items():
        response = await fhir_get(client, path, actor, params)
        assert response.status_code == 200, (who, response.text)
        assert response.headers["content-type"] == FHIR_JSON


@pytest.mark.parametrize("ref", ["not-a-uuid", "0b7c8f3e-5a51-4c1e-9d2b-2f4f6b1a9c10"])
async def test_unknown_patients_are_404(
    client: httpx.AsyncClient,
    world: tuple[OrgWorld, PatientWorld, PatientWorld, OrgWorld],
    ref: str,
) -> None:
    home = world[0]
    for path, params in (
        (f"/fhir/Patient/{ref}", {}),
        ("/fhir/Observation", {"patient": ref}),
        ("/fhir/QuestionnaireResponse", {"patient": f"Patient/{ref}"}),
    ):
        outcome_of(await fhir_get(client, path, home.clinician, params), 404)


async def test_metadata_needs_no_token(client: httpx.AsyncClient) -> None:
    response = await fhir_get(client, "/fhir/metadata")
    assert response.status_code == 200
    assert response.headers["content-type"] == FHIR_JSON
    CapabilityStatement.model_validate(response.json())
    statement = response.json()
    assert statement["fhirVersion"] == "4.0.1"
    assert statement["kind"] == "instance"
    assert statement["implementation"]["url"] == "http://test/fhir"


async def test_metadata_lists_what_the_routes_take(client: httpx.AsyncClient) -> None:
    body = (await fhir_get(client, "/fhir/metadata")).json()
    served = {r["type"]: r for r in body["rest"][0]["resource"]}
    assert set(served) == {"Patient", "Observation", "QuestionnaireResponse"}
    assert [i["code"] for i in served["Patient"]["interaction"]] == ["read"]
    declared = {
        kind: {p["name"] for p in served[kind]["searchParam"]}
        for kind in ("Observation", "QuestionnaireResponse")
    }
    # Every search parameter a route takes, less the format and the opaque paging cursor.
    hidden = {search.FORMAT, search.PAGE_CURSOR}
    assert declared["Observation"] == search.OBSERVATION_PARAMETERS - hidden
    assert declared["QuestionnaireResponse"] == search.QUESTIONNAIRE_RESPONSE_PARAMETERS - hidden


FORMATS: list[tuple[dict[str, str], dict[str, str], int]] = [
    ({}, {}, 200),
    ({"_format": "json"}, {}, 200),
    ({"_format": "application/fhir+json"}, {}, 200),
    ({}, {"accept": "application/json"}, 200),
    ({}, {"accept": "application/fhir+json; fhirVersion=4.0"}, 200),
    ({}, {"accept": "text/html, */*;q=0.1"}, 200),
    ({"_format": "json"}, {"accept": "application/fhir+xml"}, 200),  # _format wins
    ({"_format": "xml"}, {}, 406),
    ({}, {"accept": "application/fhir+xml"}, 406),
]


@pytest.mark.parametrize(("params", "headers", "status"), FORMATS)
async def test_formats(
    client: httpx.AsyncClient, params: dict[str, str], headers: dict[str, str], status: int
) -> None:
    response = await fhir_get(client, "/fhir/metadata", None, params, **headers)
    if status == 200:
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == FHIR_JSON
    else:
        outcome_of(response, status)


async def test_unknown_paths_and_methods_answer_in_fhir(client: httpx.AsyncClient) -> None:
    outcome_of(await fhir_get(client, "/fhir/Encounter"), 404)
    not_allowed = await client.delete("/fhir/metadata")
    assert outcome_of(not_allowed, 405)["issue"][0]["code"] == "not-supported"
    assert not_allowed.headers["allow"] == "GET"


async def test_v1_errors_keep_their_shape(client: httpx.AsyncClient) -> None:
    # The /fhir handlers wrap the API's: elsewhere errors are still {error, detail}.
    response = await client.get("/v1/patients")
    assert response.status_code == 401
    body: dict[str, Any] = response.json()
    assert body["error"] == "Unauthorized"


@pytest.mark.parametrize("query", ["=1", "%C2%85x=1", "a%00b=1", "%E2%80%A8=1"])
async def test_any_parameter_name_is_a_400_never_a_500(
    client: httpx.AsyncClient,
    world: tuple[OrgWorld, PatientWorld, PatientWorld, OrgWorld],
    query: str,
) -> None:
    home, target = world[0], world[1]
    response = await fhir_get(client, f"/fhir/Patient/{target.id}?{query}", home.clinician)
    diagnostics = outcome_of(response, 400)["issue"][0]["diagnostics"]
    assert diagnostics.isprintable()
