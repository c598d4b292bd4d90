"""Device credentials: one live registration per physical device, secret rotation that stops
the old secret and its tokens at once, and HTTP Basic client authentication (RFC 6749 2.3.1)."""

from __future__ import annotations

import asyncio
import base64
from typing import Any
from urllib.parse import quote_plus

import httpx

from tests.factories import OrgWorld, PatientWorld, make_org, make_patient

CUFF = {"kind": "bp_cuff", "manufacturer": "Omron", "model": "BP7000", "serial": "SN-1"}
WEIGHT = {"type": "weight", "effective_at": "2026-01-05T08:00:00+00:00", "value": 80, "unit": "kg"}


def _devices(patient: PatientWorld) -> str:
    return f"/v1/patients/{patient.id}/devices"


async def _register(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(_devices(patient), json=body, headers=org.clinician.headers)


def _basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": f"Basic {base64.b64encode(raw).decode()}"}


async def _token(client: httpx.AsyncClient, client_id: str, secret: str) -> httpx.Response:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    return await client.post("/v1/auth/token", data=form)


async def _post_weight(client: httpx.AsyncClient, access: str, value: int) -> int:
    response = await client.post(
        "/v1/patients/me/readings",
        json={**WEIGHT, "value": value},
        headers={"Authorization": f"Bearer {access}"},
    )
    return response.status_code


async def test_registering_the_same_device_again_returns_it_without_a_secret(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    first = await _register(client, org, patient, CUFF)
    assert first.status_code == 201, first.text
    again = await client.post(_devices(patient), json=CUFF, headers=patient.user.headers)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert "client_secret" not in again.json()
    # The first secret still works: nothing was replaced.
    assert (
        await _token(client, first.json()["client_id"], first.json()["client_secret"])
    ).is_success
    other = await _register(client, org, patient, {**CUFF, "serial": "SN-2"})
    assert other.status_code == 201
    listed = await client.get(_devices(patient), headers=org.clinician.headers)
    serials = sorted(d["serial"] for d in listed.json()["items"] if d["serial"])
    assert serials == ["SN-1", "SN-2"]


async def test_the_same_serial_is_another_device_for_another_patient_and_after_revoking(
    app: Any, client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    first = (await _register(client, org, patient, CUFF)).json()
    neighbour = await make_patient(app, org)
    assert (await _register(client, org, neighbour, CUFF)).status_code == 201
    revoked = await client.delete(
        f"{_devices(patient)}/{first['id']}", headers=org.clinician.headers
    )
    assert revoked.status_code == 204
    renewed = await _register(client, org, patient, CUFF)
    assert renewed.status_code == 201
    assert renewed.json()["id"] != first["id"]


async def test_concurrent_registrations_make_one_device(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    responses = await asyncio.gather(*(_register(client, org, patient, CUFF) for _ in range(4)))
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 201]
    assert len({r.json()["id"] for r in responses}) == 1


async def test_rotating_the_secret_stops_the_old_one_and_its_tokens_at_once(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    device = (await _register(client, org, patient, CUFF)).json()
    old_access = (await _token(client, device["client_id"], device["client_secret"])).json()
    assert await _post_weight(client, old_access["access_token"], 80) == 201
    rotated = await client.post(
        f"{_devices(patient)}/{device['id']}/secret", headers=patient.user.headers
    )
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["client_secret"]
    assert new_secret != device["client_secret"]
    assert rotated.json()["client_id"] == device["client_id"]
    assert await _post_weight(client, old_access["access_token"], 81) == 401
    refused = await _token(client, device["client_id"], device["client_secret"])
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")
    fresh = await _token(client, device["client_id"], new_secret)
    assert fresh.status_code == 200
    assert await _post_weight(client, fresh.json()["access_token"], 82) == 201


async def test_a_revoked_device_cannot_be_rotated_and_others_cannot_reach_it(
    app: Any, client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    device = (await _register(client, org, patient, CUFF)).json()
    path = f"{_devices(patient)}/{device['id']}/secret"
    stranger = await make_org(app, "Elsewhere")
    assert (await client.post(path, headers=stranger.clinician.headers)).status_code == 404
    assert (await client.post(path)).status_code == 401
    assert (await client.post(path, headers=patient.device.headers)).status_code == 403
    await client.delete(f"{_devices(patient)}/{device['id']}", headers=org.clinician.headers)
    assert (await client.post(path, headers=org.clinician.headers)).status_code == 409


async def test_client_credentials_in_http_basic(
    client: httpx.AsyncClient, patient: PatientWorld
) -> None:
    form = {"grant_type": "client_credentials"}
    right = _basic(patient.device_client_id, patient.device_secret)
    granted = await client.post("/v1/auth/token", data=form, headers=right)
    assert granted.status_code == 200, granted.text
    assert await _post_weight(client, granted.json()["access_token"], 80) == 201

    wrong = _basic(patient.device_client_id, "not-the-secret")
    refused = await client.post("/v1/auth/token", data=form, headers=wrong)
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")
    assert refused.headers["WWW-Authenticate"].startswith("Basic")

    garbled = {"Authorization": "Basic %%%not-base64"}
    refused = await client.post("/v1/auth/token", data=form, headers=garbled)
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")

    both = {**form, "client_id": patient.device_client_id, "client_secret": patient.device_secret}
    twice = await client.post("/v1/auth/token", data=both, headers=right)
    assert (twice.status_code, twice.json()["error"]) == (400, "invalid_request")
