"""Devices: registration shows the secret once, credentials work until revoked, reach applies."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import OrgWorld, PatientWorld, make_org, make_patient

CUFF = {"kind": "bp_cuff", "manufacturer": "Omron", "model": "BP7000", "serial": "SN-1"}


async def _device_token(client: httpx.AsyncClient, client_id: str, secret: str) -> httpx.Response:
    return await client.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )


async def test_register_shows_the_secret_once(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    created = await client.post(
        f"/v1/patients/{patient.id}/devices", json=CUFF, headers=org.clinician.headers
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["client_secret"]
    assert body["client_id"]
    assert body["validated"] is False  # not claimed, not validated
    listed = await client.get(f"/v1/patients/{patient.id}/devices", headers=org.clinician.headers)
    assert listed.status_code == 200
    assert body["id"] in [d["id"] for d in listed.json()["items"]]
    assert body["client_secret"] not in listed.text
    token = await _device_token(client, body["client_id"], body["client_secret"])
    assert token.status_code == 200, token.text
    assert token.json().get("refresh_token") is None  # devices get short-lived tokens only


async def test_a_patient_registers_their_own_device(
    client: httpx.AsyncClient, patient: PatientWorld
) -> None:
    created = await client.post("/v1/patients/me/devices", json=CUFF, headers=patient.user.headers)
    assert created.status_code == 201, created.text
    assert created.json()["patient_id"] == str(patient.id)


async def test_device_secret_must_match(client: httpx.AsyncClient, patient: PatientWorld) -> None:
    wrong = await _device_token(client, patient.device_client_id, "not-the-secret")
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    right = await _device_token(client, patient.device_client_id, patient.device_secret)
    assert right.status_code == 200


async def test_revoking_stops_tokens_at_once(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    token = await _device_token(client, patient.device_client_id, patient.device_secret)
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    reading = {
        "type": "weight",
        "effective_at": "2026-01-05T08:00:00+00:00",
        "value": 80,
        "unit": "kg",
    }
    before = await client.post(f"/v1/patients/{patient.id}/readings", json=reading, headers=bearer)
    assert before.status_code == 201, before.text
    revoked = await client.delete(
        f"/v1/patients/{patient.id}/devices/{patient.device.id}", headers=org.clinician.headers
    )
    assert revoked.status_code == 204
    after = await client.post(
        f"/v1/patients/{patient.id}/readings",
        json={**reading, "value": 81},
        headers=bearer,
    )
    assert after.status_code == 401
    again = await _device_token(client, patient.device_client_id, patient.device_secret)
    assert again.status_code == 401
    listed = await client.get(f"/v1/patients/{patient.id}/devices", headers=org.clinician.headers)
    (item,) = [d for d in listed.json()["items"] if d["id"] == str(patient.device.id)]
    assert item["revoked_at"] is not None
    # Revoking again is harmless.
    repeat = await client.delete(
        f"/v1/patients/{patient.id}/devices/{patient.device.id}", headers=org.clinician.headers
    )
    assert repeat.status_code == 204


async def test_out_of_reach_is_404(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    other_org = await make_org(app, "Elsewhere")
    stranger = await make_patient(app, other_org)
    neighbour = await make_patient(app, org)
    paths = [
        ("post", f"/v1/patients/{stranger.id}/devices", org.clinician.headers),
        ("get", f"/v1/patients/{stranger.id}/devices", org.clinician.headers),
        ("delete", f"/v1/patients/{stranger.id}/devices/{stranger.device.id}", org.admin.headers),
        ("get", f"/v1/patients/{neighbour.id}/devices", patient.user.headers),
        # Another patient's device id under one's own patient: not found either.
        ("delete", f"/v1/patients/{patient.id}/devices/{neighbour.device.id}", org.admin.headers),
    ]
    for method, path, headers in paths:
        body = CUFF if method == "post" else None
        response = await client.request(method.upper(), path, headers=headers, json=body)
        assert response.status_code == 404, (method, path, response.text)


async def test_anonymous_is_401_and_a_device_cannot_manage_devices(
    client: httpx.AsyncClient, patient: PatientWorld
) -> None:
    anonymous = await client.get(f"/v1/patients/{patient.id}/devices")
    assert anonymous.status_code == 401
    as_device = await client.post(
        f"/v1/patients/{patient.id}/devices", json=CUFF, headers=patient.device.headers
    )
    assert as_device.status_code == 403


async def test_bad_registration_is_422_naming_the_field(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    response = await client.post(
        f"/v1/patients/{patient.id}/devices",
        json={**CUFF, "kind": "toaster"},
        headers=org.clinician.headers,
    )
    assert response.status_code == 422
    assert [f["path"] for f in response.json()["fields"]] == ["kind"]


# --- a CGM's sampling interval -----------------------------------------------------------------

CGM = {"kind": "cgm", "manufacturer": "Abbott", "model": "Libre 2"}


@pytest.mark.parametrize(
    ("body", "sampling_minutes"),
    [
        ({**CGM, "sampling_minutes": 15}, 15),
        ({**CGM, "sampling_minutes": 1}, 1),  # the edges of 1-60 (docs/rules.md "CGM")
        ({**CGM, "sampling_minutes": 60}, 60),
        (CGM, 5),  # not declared: the default
        ({**CGM, "sampling_minutes": None}, 5),
        (CUFF, None),  # not a CGM: no interval
        ({**CUFF, "kind": "glucometer", "sampling_minutes": None}, None),
    ],
)
async def test_cgm_declares_its_sampling_interval(
    client: httpx.AsyncClient,
    org: OrgWorld,
    patient: PatientWorld,
    body: dict[str, object],
    sampling_minutes: int | None,
) -> None:
    path = f"/v1/patients/{patient.id}/devices"
    created = await client.post(path, json=body, headers=org.clinician.headers)
    assert created.status_code == 201, created.text
    assert created.json()["sampling_minutes"] == sampling_minutes
    listed = await client.get(path, headers=org.clinician.headers)
    (item,) = [d for d in listed.json()["items"] if d["id"] == created.json()["id"]]
    assert item["sampling_minutes"] == sampling_minutes


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({**CUFF, "sampling_minutes": 5}, "only for cgm"),
        ({**CUFF, "kind": "scale", "sampling_minutes": 15}, "only for cgm"),
        ({**CGM, "sampling_minutes": 0}, "must be from 1 to 60 (got 0)"),
        ({**CGM, "sampling_minutes": 61}, "must be from 1 to 60 (got 61)"),
        ({**CGM, "sampling_minutes": 7.5}, "whole number"),
        ({**CGM, "sampling_minutes": "15"}, "whole number"),
    ],
)
async def test_bad_sampling_interval_is_422_naming_the_field(
    client: httpx.AsyncClient,
    org: OrgWorld,
    patient: PatientWorld,
    body: dict[str, object],
    words: str,
) -> None:
    response = await client.post(
        f"/v1/patients/{patient.id}/devices", json=body, headers=org.clinician.headers
    )
    assert response.status_code == 422, response.text
    (field,) = response.json()["fields"]
    assert field["path"] == "sampling_minutes"
    assert words in field["message"]
