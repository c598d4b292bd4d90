"""Who reaches a care period's updates: the organization's staff. Another organization, or
another patient's path, is 404 (nothing says the update exists); a patient or a device 403;
no token 401. Every refusal to a signed-in caller leaves a `denied` audit event."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.audit.denials import NO_PATIENT
from app.audit.models import AuditEvent
from tests.care_updates.helpers import base, of_kind, referred_patient, updates, url
from tests.factories import Actor, OrgWorld, PatientWorld, make_org
from tests.outcomes.helpers import on_day

ROUTES = [("GET", None), ("GET", "document"), ("POST", "sent")]


def _path(patient_id: uuid.UUID | str, item: dict[str, Any], action: str | None) -> str:
    root = base(patient_id, item["enrollment_id"])
    return root if action is None else f"{root}/{item['id']}/{action}"


async def _call(
    client: httpx.AsyncClient, method: str, path: str, actor: Actor | None
) -> httpx.Response:
    return await client.request(method, path, headers=actor.headers if actor else {})


async def _world(
    app: FastAPI, client: httpx.AsyncClient
) -> tuple[OrgWorld, PatientWorld, PatientWorld, OrgWorld, dict[str, Any], dict[str, Any]]:
    org = await make_org(app)
    target = await referred_patient(app, org)
    neighbour = await referred_patient(app, org, "BH")
    elsewhere = await make_org(app, "Elsewhere")
    await referred_patient(app, elsewhere)
    with on_day(3):
        mine = of_kind(await updates(client, org.clinician, target), "initiation")
        theirs = of_kind(await updates(client, org.clinician, neighbour), "initiation")
    return org, target, neighbour, elsewhere, mine, theirs


@pytest.mark.parametrize(("method", "action"), ROUTES)
async def test_staff_of_the_organization_only(
    app: FastAPI, client: httpx.AsyncClient, method: str, action: str | None
) -> None:
    org, target, neighbour, elsewhere, mine, theirs = await _world(app, client)
    with on_day(3):
        path = _path(target.id, mine, action)
        assert (await _call(client, method, path, None)).status_code == 401
        for actor in (target.user, target.device):
            refused = await _call(client, method, path, actor)
            assert refused.status_code == 403, (actor.principal.role, refused.text)
            assert refused.json()["error"] == "Forbidden"
        for actor in (elsewhere.clinician, elsewhere.admin, neighbour.user, neighbour.device):
            hidden = await _call(client, method, path, actor)
            assert hidden.status_code == 404, (actor.principal.role, hidden.text)
            assert hidden.json()["error"] == "NotFound"
        # Another patient's path with this patient's period or update, and the reverse.
        for crossed in (_path(neighbour.id, mine, action), _path(target.id, theirs, action)):
            crossed_answer = await _call(client, method, crossed, org.clinician)
            assert crossed_answer.status_code == 404, crossed_answer.text
        for actor in (org.clinician, org.admin):
            allowed = await _call(client, method, path, actor)
            assert allowed.status_code == 200, allowed.text


async def test_an_update_of_another_care_period_of_the_same_patient_is_404(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await referred_patient(app, org)
    with on_day(3):
        eckm = of_kind(await updates(client, org.clinician, patient), "initiation")
        created = await client.post(
            f"/v1/patients/{patient.id}/enrollments",
            json={
                "track": "BH",
                "conditions": ["depression"],
                "start_date": "2026-07-07",
                "referring_clinician": {"name": "Dr. Ng"},
            },
            headers=org.clinician.headers,
        )
        assert created.status_code == 201, created.text
        wrong = {**eckm, "enrollment_id": created.json()["id"]}
        for action in ("document", "sent"):
            method = "GET" if action == "document" else "POST"
            response = await _call(client, method, url(patient, wrong, action), org.clinician)
            assert response.status_code == 404, response.text


async def test_refusals_are_audited(app: FastAPI, client: httpx.AsyncClient) -> None:
    org, target, _, elsewhere, mine, _ = await _world(app, client)
    with on_day(3):
        await _call(client, "POST", url(target, mine, "sent"), target.user)
        await _call(client, "GET", url(target, mine, "document"), elsewhere.clinician)
        unknown = {**mine, "id": str(uuid.uuid4())}
        await _call(client, "GET", url(target, unknown, "document"), org.clinician)
    async with app.state.sessionmaker() as session:
        denied = list(
            await session.scalars(
                select(AuditEvent).where(AuditEvent.outcome == "denied").order_by(AuditEvent.at)
            )
        )
    assert [(e.actor_id, e.patient_id, e.action, e.resource_type) for e in denied] == [
        (target.user.id, target.id, "create", "mark_care_update_sent"),
        (elsewhere.clinician.id, NO_PATIENT, "read", "patient"),
        (org.clinician.id, target.id, "read", "get_care_update_document"),
    ]
