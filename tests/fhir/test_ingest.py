"""POST /fhir: batch and transaction Bundles of Observations stored as readings, exactly once,
by `/v1`'s rules, with `/v1`'s callers and reach, every entry answered."""

from __future__ import annotations

import asyncio
from typing import Any, get_args

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.audit.denials import NO_PATIENT
from app.audit.models import AuditEvent
from app.fhir import ingest as fhir_ingest
from app.patients.dependencies import IngestPatient
from app.webhooks.models import WebhookEvent
from tests.fhir.bad_entries import BAD_ENTRIES, Build
from tests.fhir.helpers import FHIR_JSON, outcome_of
from tests.fhir.ingest_helpers import (
    World,
    answered,
    blood_pressure,
    bundle,
    entry,
    make_world,
    observation,
    post_fhir,
    reading_id,
    status_codes,
    weights,
)
from tests.readings.helpers import count_rows


@pytest.fixture
async def world(app: FastAPI) -> World:
    return await make_world(app)


async def _events(app: FastAPI, **where: Any) -> list[AuditEvent]:
    async with app.state.sessionmaker() as session:
        conditions = [getattr(AuditEvent, name) == value for name, value in where.items()]
        return list(await session.scalars(select(AuditEvent).where(*conditions)))


# --- exactly once --------------------------------------------------------------------------------


async def test_a_transaction_of_100_sent_twice_stores_100(
    app: FastAPI, client: httpx.AsyncClient, world: World
) -> None:
    body = bundle("transaction", weights(world.patient.id, 100))
    first = answered(await post_fhir(client, world.home.clinician, body), "transaction")
    assert [r["status"] for r in first] == ["201 Created"] * 100
    again = answered(await post_fhir(client, world.home.clinician, body), "transaction")
    assert [r["status"] for r in again] == ["200 OK"] * 100
    assert [reading_id(r) for r in again] == [reading_id(r) for r in first]
    assert await count_rows(app, world.patient.id) == 100
    # In a batch too, and the same identifier with other values is still the same reading.
    changed = [{**o, "valueQuantity": {"value": 99, "code": "kg"}} for o in body_resources(body)]
    resent = answered(
        await post_fhir(client, world.patient.user, bundle("batch", changed)), "batch"
    )
    assert status_codes(resent) == [200] * 100
    assert await count_rows(app, world.patient.id) == 100


def body_resources(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in body["entry"]]


async def test_a_repeat_inside_one_bundle_is_stored_once(
    app: FastAPI, client: httpx.AsyncClient, world: World
) -> None:
    same = observation(world.patient.id, identifier="twice")
    responses = answered(
        await post_fhir(client, world.patient.user, bundle("transaction", [same, same])),
        "transaction",
    )
    assert status_codes(responses) == [201, 200]
    assert reading_id(responses[0]) == reading_id(responses[1])
    assert await count_rows(app, world.patient.id) == 1


async def _concurrent_identical(
    app: FastAPI, client: httpx.AsyncClient, world: World, requests: int
) -> None:
    body = bundle("transaction", weights(world.patient.id, 30))
    answers = await asyncio.gather(
        *(post_fhir(client, world.patient.device, body) for _ in range(requests))
    )
    codes = [status_codes(answered(a, "transaction")) for a in answers]
    assert sum(c.count(201) for c in codes) == 30
    ids = {tuple(reading_id(r) for r in answered(a, "transaction")) for a in answers}
    assert len(ids) == 1  # every request names the same stored readings
    assert await count_rows(app, world.patient.id) == 30


async def test_concurrent_identical_transactions_store_each_once(
    app: FastAPI, client: httpx.AsyncClient, world: World
) -> None:
    await _concurrent_identical(app, client, world, 5)


@pytest.mark.postgres_only
async def test_twenty_concurrent_identical_transactions_store_each_once(
    app: FastAPI, client: httpx.AsyncClient, world: World
) -> None:
    await _concurrent_identical(app, client, world, 20)


# --- entries answered one by one -----------------------------------------------------------------


async def test_a_batch_stores_its_good_entries_and_answers_each_bad_one(
    app: FastAPI, client: httpx.AsyncClient, world: World
) -> None:
    good = [observation(world.patient.id, value=71, identifier="good-1")]
    bad = [build(world) for _, build, *_ in BAD_ENTRIES]
    good.append(blood_pressure(world.patient.id, identifier="good-2"))
    posted = bundle("batch", [good[0], *bad, good[1]])
    responses = answered(await post_fhir(client, world.patient.user, posted), "batch")
    assert len(responses) == len(BAD_ENTRIES) + 2
    assert status_codes([responses[0], responses[-1]]) == [201, 201]
    for index, (case, _, status, element, code) in enumerate(BAD_ENTRIES, start=1):
        response = responses[index]
        assert response["status"].startswith(f"{status} "), (case, response)
        (issue, *_) = response["outcome"]["issue"]
        assert issue["code"] == code, (case, issue)
        assert issue["expression"] == [
            f"Bundle.entry[{index}]" + (f".{element}" if element else "")
        ], (case, issue)
        assert issue["diagnostics"], case
    assert await count_rows(app, world.patient.id) == 2
    for other in (world.neighbour, world.stranger):
        assert await count_rows(app, other.id) == 0


@pytest.mark.parametrize(
    ("case", "build", "status", "element", "code"), BAD_ENTRIES, ids=[b[0] for b in BAD_ENTRIES]
)
async def test_a_transaction_with_one_bad_entry_stores_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    world: World,
    case: str,
    build: Build,
    status: int,
    element: str,
    code: str,
) -> None:
    posted = bundle("transaction", [*weights(world.patient.id, 3), build(world)])
    outcome = outcome_of(
        await post_fhir(client, world.patient.user, posted), 400 if status == 405 else status
    )
    summary, *issues = outcome["issue"]
    assert "nothing was stored: 1 of 4 entries failed" in summary["diagnostics"]
    assert issues
    assert all(i["diagnostics"].startswith("entry 3 (") for i in issues)
    assert issues[0]["expression"][0].startswith("Bundle.entry[3]")
    assert await count_rows(app, world.patient.id) == 0


async def test_a_failed_transaction_names_every_failing_entry_and_leaves_no_trace(
    app: FastAPI, client: httpx.AsyncClient, world: World
) -> None:
    created = await client.post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "events": ["reading.created", "alert.opened"]},
        headers=world.home.admin.headers,
    )
    assert created.status_code == 201, created.text
    crisis = blood_pressure(world.patient.id, 185, 125)
    posted = bundle(
        "transaction",
        [
            crisis,
            observation(world.patient.id, value=900),
            observation(world.patient.id, code="1-8"),
        ],
    )
    outcome = outcome_of(await post_fhir(client, world.home.clinician, posted), 422)
    named = [i["expression"][0] for i in outcome["issue"][1:]]
    assert named == [
        "Bundle.entry[1].resource.valueQuantity.value",
        "Bundle.entry[2].resource.code",
    ]
    assert await count_rows(app, world.patient.id) == 0
    async with app.state.sessionmaker() as session:
        assert list(await session.scalars(select(WebhookEvent))) == []
    alerts = await client.get("/v1/alerts", headers=world.home.clinician.headers)
    assert alerts.json()["items"] == []
    assert await _events(app, patient_id=world.patient.id, resource_type="reading") == []
    # Mended, it is stored, with the same webhook event and alert as on /v1.
    mended = bundle("transaction", [crisis])
    (response,) = answered(await post_fhir(client, world.home.clinician, mended), "transaction")
    async with app.state.sessionmaker() as session:
        events = [(e.event, e.data) for e in await session.scalars(select(WebhookEvent))]
    new = {"patient_id": str(world.patient.id), "reading_ids": [reading_id(response)]}
    assert ("reading.created", new) in events
    assert [e for e, _ in events].count("alert.opened") == 1
    (alert,) = (await client.get("/v1/alerts", headers=world.home.clinician.headers)).json()[
        "items"
    ]
    assert alert["kind"] == "blood_pressure_crisis"
    assert alert["source_id"] == reading_id(response)


@pytest.mark.parametrize(
    ("entries", "status"),
    [
        (["elsewhere", "elsewhere"], 404),
        (["elsewhere", "unit"], 422),
        (["elsewhere", "malformed", "unit"], 400),
        (["method", "unit"], 400),
        (["nonsense"], 404),
    ],
)
async def test_a_failed_transactions_status(
    client: httpx.AsyncClient, world: World, entries: list[str], status: int
) -> None:
    kinds = {
        "elsewhere": observation(world.stranger.id),
        "unit": observation(world.patient.id, unit="g"),
        "malformed": observation(world.patient.id, value="x"),
        "method": entry(observation(world.patient.id), method="GET"),
        "nonsense": observation("not-a-uuid"),
    }
    posted = bundle("transaction", [kinds[kind] for kind in entries])
    outcome_of(await post_fhir(client, world.home.clinician, posted), status)


# --- who -----------------------------------------------------------------------------------------


def test_the_callers_are_v1_ingests() -> None:
    guard = get_args(IngestPatient)[1].dependency
    assert guard.roles == fhir_ingest.INGEST_ROLES


async def test_who_may_post(app: FastAPI, client: httpx.AsyncClient, world: World) -> None:
    anonymous = await post_fhir(client, None, bundle("batch", weights(world.patient.id, 1)))
    assert outcome_of(anonymous, 401)["issue"][0]["code"] == "login"
    assert anonymous.headers["www-authenticate"] == "Bearer"
    # Every caller /v1 ingest takes (no role is refused there: 403 is never the answer), each
    # within their reach.
    callers = {
        "the patient": world.patient.user,
        "the patient's device": world.patient.device,
        "a clinician": world.home.clinician,
        "an admin": world.home.admin,
    }
    for n, (who, actor) in enumerate(callers.items()):
        mine = observation(world.patient.id, identifier=f"who-{n}", minutes=n)
        theirs = observation(world.neighbour.id, identifier=f"who-{n}", minutes=n)
        responses = answered(
            await post_fhir(client, actor, bundle("batch", [mine, theirs])), "batch"
        )
        expected = [201, 201] if actor.principal.role in ("clinician", "admin") else [201, 404]
        assert status_codes(responses) == expected, who
    for actor in (world.elsewhere.clinician, world.elsewhere.admin, world.stranger.user):
        cross = bundle("transaction", weights(world.patient.id, 2, prefix="x"))
        outcome = outcome_of(await post_fhir(client, actor, cross), 404)
        assert outcome["issue"][1]["code"] == "not-found"
    assert await count_rows(app, world.patient.id) == 4
    assert await count_rows(app, world.neighbour.id) == 2


async def test_every_access_is_audited(
    app: FastAPI, client: httpx.AsyncClient, world: World
) -> None:
    posted = bundle("batch", [*weights(world.patient.id, 2), observation(world.stranger.id)])
    responses = answered(await post_fhir(client, world.patient.device, posted), "batch")
    (created,) = await _events(
        app, patient_id=world.patient.id, resource_type="reading", action="create"
    )
    assert created.actor_role == "device"
    assert created.outcome == "success"
    assert status_codes(responses) == [201, 201, 404]
    (denied,) = await _events(app, outcome="denied")
    assert (denied.patient_id, denied.resource_id, denied.action) == (
        NO_PATIENT,
        world.stranger.id,
        "create",
    )
    assert denied.organization_id == world.home.id
    # A transaction refused for a patient out of reach still records the denied access.
    cross = bundle("transaction", [observation(world.stranger.id, identifier="again")])
    outcome_of(await post_fhir(client, world.home.clinician, cross), 404)
    assert len(await _events(app, outcome="denied")) == 2
    # The other organization's patient's own record shows nothing of it.
    for actor in (world.patient.device, world.home.clinician):
        assert await _events(app, patient_id=world.stranger.id, actor_id=actor.id) == []


# --- the body ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (b"{not json", 400, "not JSON"),
        (b"", 400, "not JSON"),
        (b"[]", 400, "must be a FHIR Bundle"),
        (b'{"resourceType": "Observation"}', 400, "must be a FHIR Bundle"),
        (b'{"resourceType": "Bundle", "type": "document"}', 400, "batch or transaction"),
        (b'{"resourceType": "Bundle"}', 400, "batch or transaction"),
        (b'{"resourceType": "Bundle", "type": "batch", "entry": {}}', 400, "entry"),
        (b'{"resourceType": "Bundle", "type": "batch", "total": "x"}', 400, "total"),
        (b'{"resourceType": "Bundle", "type": "batch", "x": 1}', 400, "x"),
    ],
)
async def test_a_body_that_is_not_a_batch_or_transaction_is_a_400(
    client: httpx.AsyncClient, world: World, body: bytes, status: int, needle: str
) -> None:
    response = await post_fhir(client, world.home.clinician, body)
    issue = outcome_of(response, status)["issue"][0]
    assert needle in issue["diagnostics"]


async def test_media_types(client: httpx.AsyncClient, world: World) -> None:
    body = bundle("batch", [])
    for media in (
        "application/fhir+json",
        "application/json; charset=utf-8",
        "application/fhir+json; fhirVersion=4.0",
    ):
        response = await post_fhir(client, world.patient.user, body, content_type=media)
        assert answered(response, "batch") == []
    refused = await post_fhir(client, world.patient.user, body, content_type="text/plain")
    assert outcome_of(refused, 415)["issue"][0]["code"] == "not-supported"
    xml = await client.post(
        "/fhir", json=body, headers={**world.patient.user.headers, "Accept": "application/fhir+xml"}
    )
    outcome_of(xml, 406)
    assert (
        answered(await post_fhir(client, world.patient.user, body, _format="json"), "batch") == []
    )
    outcome_of(await post_fhir(client, world.patient.user, body, _sort="x"), 400)


async def test_too_many_entries_or_bytes(
    app: FastAPI, client: httpx.AsyncClient, world: World
) -> None:
    note = [{"text": "x" * 2000}]
    large = bundle("batch", [observation(world.patient.id, note=note) for _ in range(600)])
    # Over the body limit (1 MiB): refused before it is read (app/middleware.py), and as an
    # OperationOutcome, as every /fhir error.
    too_large = outcome_of(await post_fhir(client, world.patient.user, large), 413)
    assert too_large["issue"][0]["code"] == "too-long"
    small = {"resourceType": "Bundle", "type": "batch", "entry": [{}] * 1001}
    issue = outcome_of(await post_fhir(client, world.patient.user, small), 422)["issue"][0]
    assert (issue["code"], issue["expression"]) == ("too-long", ["Bundle.entry"])
    assert await count_rows(app, world.patient.id) == 0


async def test_the_capability_statement_declares_batch_transaction_and_create(
    client: httpx.AsyncClient,
) -> None:
    statement = (await client.get("/fhir/metadata")).json()
    rest = statement["rest"][0]
    assert {i["code"] for i in rest["interaction"]} == {"transaction", "batch"}
    observation_ = next(r for r in rest["resource"] if r["type"] == "Observation")
    assert [i["code"] for i in observation_["interaction"]] == ["create", "search-type"]
    assert observation_["conditionalCreate"] is True
    answer = await client.post("/fhir", headers={"Content-Type": FHIR_JSON}, content=b"{}")
    assert answer.status_code == 401  # the route exists: it asks who is calling
