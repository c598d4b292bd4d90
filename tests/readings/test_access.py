"""Who may call each readings route: 401 without a token, 404 outside reach, 403 by role."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import Actor, OrgWorld, PatientWorld, make_org
from tests.readings.helpers import bp, count_rows, make_reading_patient, url

NO_ID = "00000000-0000-4000-8000-000000000000"
# (method, path suffix, json body, device may call it)
ROUTES: list[tuple[str, str, dict[str, Any] | None, bool]] = [
    ("POST", "", bp(), True),
    ("POST", "/batch", {"readings": [bp()]}, True),
    ("GET", "", None, False),
    ("GET", "/changes", None, False),
    ("GET", "/daily?type=glucose", None, False),
    ("GET", "/glucose-metrics", None, False),
    ("DELETE", f"/{NO_ID}", None, False),
]


@pytest.fixture
async def world(app: FastAPI) -> tuple[OrgWorld, PatientWorld, PatientWorld]:
    org = await make_org(app)
    return org, await make_reading_patient(app, org), await make_reading_patient(app, org)


async def _call(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    actor: Actor | None,
) -> httpx.Response:
    headers = actor.headers if actor else {}
    return await client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize(("method", "suffix", "body", "device_may"), ROUTES)
async def test_readings_route_policy(
    app: FastAPI,
    client: httpx.AsyncClient,
    world: tuple[OrgWorld, PatientWorld, PatientWorld],
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
    device_may: bool,
) -> None:
    org, patient, neighbour = world
    stranger = await make_org(app, "Elsewhere")
    path = url(patient.id, suffix)

    assert (await _call(client, method, path, body, None)).status_code == 401
    # Out of reach is 404 whatever the role: another org's staff, another patient, and the
    # device of another patient (it can never write for anyone but its own patient).
    for actor in (stranger.clinician, stranger.admin, neighbour.user, neighbour.device):
        response = await _call(client, method, path, body, actor)
        assert response.status_code == 404, (actor.principal.role, response.text)
        assert response.json()["error"] == "NotFound"
    own = await _call(client, method, path, body, patient.device)
    if device_may:
        assert own.status_code in (200, 201), own.text
    else:
        assert own.status_code == 403, own.text
    for actor in (patient.user, org.clinician, org.admin):
        response = await _call(client, method, path, body, actor)
        expected = {"DELETE": 404}.get(method)  # deleting a reading that does not exist
        assert response.status_code == expected or response.status_code in (200, 201), (
            actor.principal.role,
            response.text,
        )
    assert await count_rows(app, neighbour.id) == 0


async def test_device_cannot_write_for_another_patient(
    app: FastAPI, client: httpx.AsyncClient, world: tuple[OrgWorld, PatientWorld, PatientWorld]
) -> None:
    _org, patient, neighbour = world
    response = await client.post(url(neighbour.id), json=bp(), headers=patient.device.headers)
    assert response.status_code == 404
    batch = await client.post(
        url(neighbour.id, "/batch"), json={"readings": [bp()]}, headers=patient.device.headers
    )
    assert batch.status_code == 404
    assert await count_rows(app, neighbour.id) == 0
    assert await count_rows(app, patient.id) == 0
