"""Only staff validate a device; only a validated upper-arm cuff makes eligible blood pressure.

docs/rules.md "Data rules"; docs/api.md "Devices".
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import Actor, OrgWorld, PatientWorld, device_actor, make_org, make_patient
from tests.readings.helpers import bp, list_all, post_one

CUFF = {"kind": "bp_cuff", "manufacturer": "Omron", "model": "BP7000"}


def _devices(patient_id: uuid.UUID | str) -> str:
    return f"/v1/patients/{patient_id}/devices"


async def _register(
    client: httpx.AsyncClient, actor: Actor, patient: PatientWorld, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(_devices(patient.id), json=body, headers=actor.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _eligibility(client: httpx.AsyncClient, patient: PatientWorld) -> list[bool]:
    """Each stored BP reading's `eligible`, oldest first."""
    readings = await list_all(client, patient.user, "me")
    return [r["eligible"] for r in sorted(readings, key=lambda r: r["effective_at"])]


async def test_a_patients_cuff_counts_only_once_staff_validate_it(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld
) -> None:
    patient = await make_patient(app, org, height_cm=None)
    # The patient claims a validated cuff: the claim is ignored, not refused.
    device = await _register(client, patient.user, patient, {**CUFF, "validated": True})
    assert (device["validated"], device["validated_at"], device["validated_by"]) == (
        False,
        None,
        None,
    )
    assert device["placement"] == "upper_arm"
    cuff = await device_actor(app, device_id=device["id"])
    assert (await post_one(client, cuff, "me", bp(128, 82, minutes=0))).status_code == 201
    assert await _eligibility(client, patient) == [False]

    path = f"{_devices(patient.id)}/{device['id']}"
    verified = await client.patch(path, json={"validated": True}, headers=org.clinician.headers)
    assert verified.status_code == 200, verified.text
    body = verified.json()
    assert (body["validated"], body["validated_by"]) == (True, str(org.clinician.id))
    assert body["validated_at"] is not None
    listed = await client.get(_devices(patient.id), headers=patient.user.headers)
    (item,) = [d for d in listed.json()["items"] if d["id"] == device["id"]]
    assert (item["validated"], item["validated_by"]) == (True, str(org.clinician.id))

    # From now on it counts; what it sent before stays not eligible.
    assert (await post_one(client, cuff, "me", bp(126, 80, minutes=5))).status_code == 201
    assert await _eligibility(client, patient) == [False, True]

    # Withdrawn: no longer validated, and no longer who and when.
    withdrawn = await client.patch(path, json={"validated": False}, headers=org.admin.headers)
    assert withdrawn.status_code == 200, withdrawn.text
    assert (withdrawn.json()["validated"], withdrawn.json()["validated_at"]) == (False, None)
    assert (await post_one(client, cuff, "me", bp(124, 80, minutes=10))).status_code == 201
    assert await _eligibility(client, patient) == [False, True, False]


@pytest.mark.parametrize(
    ("registered_by", "body", "eligible"),
    [
        ("clinician", {**CUFF, "validated": True}, True),
        ("clinician", {**CUFF, "validated": True, "placement": "upper_arm"}, True),
        ("clinician", {**CUFF, "validated": True, "placement": "wrist"}, False),
        ("clinician", {**CUFF, "validated": False}, False),
        ("clinician", CUFF, False),
        ("patient", {**CUFF, "validated": True}, False),
        ("patient", {**CUFF, "validated": True, "placement": "upper_arm"}, False),
    ],
)
async def test_blood_pressure_eligibility_by_registration(
    app: FastAPI,
    client: httpx.AsyncClient,
    org: OrgWorld,
    registered_by: str,
    body: dict[str, Any],
    eligible: bool,
) -> None:
    patient = await make_patient(app, org, height_cm=None)
    actor = org.clinician if registered_by == "clinician" else patient.user
    device = await _register(client, actor, patient, body)
    cuff = await device_actor(app, device_id=device["id"])
    assert (await post_one(client, cuff, "me", bp(128, 82))).status_code == 201
    assert await _eligibility(client, patient) == [eligible]


async def test_a_wrist_cuff_never_makes_eligible_readings(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld
) -> None:
    patient = await make_patient(app, org, height_cm=None)
    device = await _register(client, patient.user, patient, {**CUFF, "placement": "wrist"})
    assert device["placement"] == "wrist"
    path = f"{_devices(patient.id)}/{device['id']}"
    verified = await client.patch(path, json={"validated": True}, headers=org.clinician.headers)
    assert verified.status_code == 200, verified.text
    assert (verified.json()["validated"], verified.json()["placement"]) == (True, "wrist")
    cuff = await device_actor(app, device_id=device["id"])
    assert (await post_one(client, cuff, "me", bp(128, 82, minutes=0))).status_code == 201
    assert await _eligibility(client, patient) == [False]
    # Staff find it is worn on the upper arm after all: its next readings count.
    moved = await client.patch(
        path, json={"validated": True, "placement": "upper_arm"}, headers=org.clinician.headers
    )
    assert moved.json()["placement"] == "upper_arm"
    assert (await post_one(client, cuff, "me", bp(126, 80, minutes=5))).status_code == 201
    assert await _eligibility(client, patient) == [False, True]


@pytest.mark.parametrize(
    ("kind", "placement"),
    [("bp_cuff", "upper_arm"), ("scale", None), ("cgm", None), ("wearable", None)],
)
async def test_placement_defaults(
    client: httpx.AsyncClient,
    org: OrgWorld,
    patient: PatientWorld,
    kind: str,
    placement: str | None,
) -> None:
    device = await _register(client, org.clinician, patient, {**CUFF, "kind": kind})
    assert device["placement"] == placement


async def test_placement_is_for_cuffs_only(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    refused = await client.post(
        _devices(patient.id),
        json={**CUFF, "kind": "scale", "placement": "wrist"},
        headers=org.clinician.headers,
    )
    assert refused.status_code == 422, refused.text
    assert [f["path"] for f in refused.json()["fields"]] == ["placement"]
    scale = await _register(client, org.clinician, patient, {**CUFF, "kind": "scale"})
    patched = await client.patch(
        f"{_devices(patient.id)}/{scale['id']}",
        json={"validated": True, "placement": "wrist"},
        headers=org.clinician.headers,
    )
    assert patched.status_code == 422, patched.text
    assert [f["path"] for f in patched.json()["fields"]] == ["placement"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"placement": "upper_arm"},
        {"validated": "true"},
        {"validated": 1},
        {"validated": True, "placement": "ankle"},
        {"validated": True, "validated_by": str(uuid.uuid4())},
    ],
)
async def test_bad_update_is_422(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld, body: dict[str, Any]
) -> None:
    device = await _register(client, org.clinician, patient, CUFF)
    response = await client.patch(
        f"{_devices(patient.id)}/{device['id']}", json=body, headers=org.clinician.headers
    )
    assert response.status_code == 422, response.text


async def test_update_reach_and_roles(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    device = await _register(client, patient.user, patient, CUFF)
    path = f"{_devices(patient.id)}/{device['id']}"
    body = {"validated": True}
    assert (await client.patch(path, json=body)).status_code == 401
    as_patient = await client.patch(path, json=body, headers=patient.user.headers)
    assert as_patient.status_code == 403, as_patient.text
    as_device = await client.patch(path, json=body, headers=patient.device.headers)
    assert as_device.status_code == 403, as_device.text
    elsewhere = await make_org(app, "Elsewhere")
    for staff in (elsewhere.clinician, elsewhere.admin):
        assert (await client.patch(path, json=body, headers=staff.headers)).status_code == 404
    # Another patient's device under this patient, and an unknown device: not found.
    neighbour = await make_patient(app, org)
    for device_id in (neighbour.device.id, uuid.uuid4()):
        other = f"{_devices(patient.id)}/{device_id}"
        assert (
            await client.patch(other, json=body, headers=org.clinician.headers)
        ).status_code == 404
    # Nothing of the refused calls stuck.
    listed = await client.get(_devices(patient.id), headers=org.clinician.headers)
    (item,) = [d for d in listed.json()["items"] if d["id"] == device["id"]]
    assert item["validated"] is False


async def test_a_revoked_device_cannot_be_validated(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    device = await _register(client, org.clinician, patient, CUFF)
    path = f"{_devices(patient.id)}/{device['id']}"
    assert (await client.delete(path, headers=org.clinician.headers)).status_code == 204
    response = await client.patch(path, json={"validated": True}, headers=org.clinician.headers)
    assert response.status_code == 409, response.text
    assert response.json()["error"] == "Conflict"


async def test_validation_is_audited(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    device = await _register(client, patient.user, patient, CUFF)
    path = f"{_devices(patient.id)}/{device['id']}"
    assert (
        await client.patch(path, json={"validated": True}, headers=org.clinician.headers)
    ).status_code == 200
    log = await client.get(f"/v1/patients/{patient.id}/access-log", headers=org.admin.headers)
    events = [
        (e["actor_id"], e["action"], e["resource_type"], e["resource_id"])
        for e in log.json()["items"]
    ]
    assert (str(org.clinician.id), "update", "device", device["id"]) in events
