"""Patients, activation, enrollments and devices over HTTP."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from app.clock import utcnow
from app.patients.models import Patient
from tests.dates import start_day
from tests.factories import make_org, make_patient

NEW_PATIENT = {
    "given_name": "Ana",
    "family_name": "Silva",
    "birth_date": "1957-04-02",
    "sex": "female",
    "timezone": "America/New_York",
}


async def _create(client: httpx.AsyncClient, headers: dict[str, str], **extra: object) -> dict:  # type: ignore[type-arg]
    response = await client.post("/v1/patients", json={**NEW_PATIENT, **extra}, headers=headers)
    assert response.status_code == 201, response.text
    body: dict = response.json()  # type: ignore[type-arg]
    return body


async def test_activation_code_expires_after_7_days(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    created = await _create(client, org.clinician.headers)
    expires = created["activation_expires_at"]
    assert expires.startswith((utcnow() + timedelta(days=7)).date().isoformat())
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(Patient)
            .where(Patient.id == uuid.UUID(created["id"]))
            .values(activation_expires_at=utcnow() - timedelta(seconds=1))
        )
    response = await client.post(
        "/v1/auth/activate", json={"code": created["activation_code"], "password": "long-enough"}
    )
    assert response.status_code == 401


async def test_reissued_code_replaces_the_old_one(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    created = await _create(client, org.clinician.headers)
    url = f"/v1/patients/{created['id']}/activation-code"
    fresh = (await client.post(url, headers=org.clinician.headers)).json()["activation_code"]
    old = await client.post(
        "/v1/auth/activate", json={"code": created["activation_code"], "password": "long-enough"}
    )
    assert old.status_code == 401
    new = await client.post("/v1/auth/activate", json={"code": fresh, "password": "long-enough"})
    assert new.status_code == 200
    assert (await client.post(url, headers=org.clinician.headers)).status_code == 409


async def test_activation_password_and_email_rules(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    created = await _create(client, org.clinician.headers)
    short = await client.post(
        "/v1/auth/activate", json={"code": created["activation_code"], "password": "short"}
    )
    assert short.status_code == 422
    taken = await client.post(
        "/v1/auth/activate",
        json={
            "code": created["activation_code"],
            "password": "long-enough",
            "email": org.admin.principal.email,
        },
    )
    assert taken.status_code == 409


async def test_patient_signs_in_with_email_after_activation(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    created = await _create(client, org.clinician.headers)
    await client.post(
        "/v1/auth/activate",
        json={
            "code": created["activation_code"],
            "password": "long-enough",
            "email": "a@b.example",
        },
    )
    login = await client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": "A@B.example", "password": "long-enough"},
    )
    assert login.status_code == 200
    me = await client.get(
        "/v1/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
    )
    assert me.json()["patient_id"] == created["id"]


async def test_duplicate_mbi_in_one_organization_is_409(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    other = await make_org(app)
    await _create(client, org.clinician.headers, mbi="1EG4TE5MK73")
    again = await client.post(
        "/v1/patients", json={**NEW_PATIENT, "mbi": "1EG4TE5MK73"}, headers=org.clinician.headers
    )
    assert again.status_code == 409
    await _create(client, other.clinician.headers, mbi="1EG4TE5MK73")


async def test_patch_changes_only_sent_fields(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org)
    own = await client.patch(
        "/v1/patients/me", json={"timezone": "Europe/Lisbon"}, headers=patient.user.headers
    )
    assert own.status_code == 200
    assert own.json()["timezone"] == "Europe/Lisbon"
    locked = await client.patch(
        "/v1/patients/me", json={"social_risk": {"rural": True}}, headers=patient.user.headers
    )
    assert locked.status_code == 403
    assert "social_risk" in locked.json()["detail"]
    response = await client.patch(
        f"/v1/patients/{patient.id}",
        json={"social_risk": {"rural": True}},
        headers=org.clinician.headers,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["timezone"] == "Europe/Lisbon"
    assert body["social_risk"] == {
        "dual_eligible": False,
        "rural": True,
        "limited_digital_access": False,
    }
    assert body["given_name"] == "Pat"
    cleared = await client.patch(
        f"/v1/patients/{patient.id}", json={"height_cm": None}, headers=org.clinician.headers
    )
    assert cleared.json()["height_cm"] is None
    refused = await client.patch(
        f"/v1/patients/{patient.id}", json={"timezone": None}, headers=org.clinician.headers
    )
    assert refused.status_code == 422


async def test_list_filters_by_track_and_paginates(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    bh = {"track": "BH", "conditions": ["depression"], "start_date": start_day()}
    msk = {"track": "MSK", "conditions": ["chronic_msk_pain"], "start_date": start_day()}
    in_bh = [await make_patient(app, org, enroll=bh) for _ in range(3)]
    await make_patient(app, org, enroll=msk)
    page = (
        await client.get(
            "/v1/patients", params={"track": "BH", "limit": 2}, headers=org.clinician.headers
        )
    ).json()
    assert len(page["items"]) == 2
    rest = (
        await client.get(
            "/v1/patients",
            params={"track": "BH", "limit": 2, "cursor": page["next_cursor"]},
            headers=org.clinician.headers,
        )
    ).json()
    assert rest["next_cursor"] is None
    ids = {p["id"] for p in page["items"] + rest["items"]}
    assert ids == {str(p.id) for p in in_bh}


async def test_enrollment_lifecycle(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org)
    url = f"/v1/patients/{patient.id}/enrollments"
    eckm = await client.post(
        url,
        json={"track": "eCKM", "conditions": ["hypertension"], "start_date": start_day()},
        headers=org.clinician.headers,
    )
    msk = await client.post(
        url,
        json={
            "track": "MSK",
            "conditions": ["chronic_msk_pain"],
            "region": "knee",
            "start_date": start_day(27),
        },
        headers=org.clinician.headers,
    )
    assert msk.status_code == 201
    assert msk.json()["region"] == "knee"
    # A CKM condition appears: the eCKM enrollment is switched to CKM.
    ckm = await client.post(
        url,
        json={
            "track": "CKM",
            "conditions": ["diabetes", "hypertension"],
            "start_date": start_day(58),
        },
        headers=org.clinician.headers,
    )
    assert ckm.status_code == 201
    listed = {
        e["id"]: e for e in (await client.get(url, headers=patient.user.headers)).json()["items"]
    }
    assert listed[eckm.json()["id"]]["status"] == "disenrolled"
    assert listed[eckm.json()["id"]]["end_reason"] == "switched_to_ckm"
    assert listed[ckm.json()["id"]]["status"] == "active"

    leave = f"{url}/{msk.json()['id']}/disenroll"
    left = await client.post(
        leave, json={"reason": "patient_initiated"}, headers=patient.user.headers
    )
    assert left.status_code == 200
    assert left.json()["status"] == "disenrolled"
    assert left.json()["end_reason"] == "patient_initiated"
    again = await client.post(leave, json={"reason": "relocated"}, headers=org.clinician.headers)
    assert again.status_code == 409
    bad_reason = await client.post(
        f"{url}/{ckm.json()['id']}/disenroll",
        json={"reason": "bored"},
        headers=org.clinician.headers,
    )
    assert bad_reason.status_code == 422
    # After disenrolling, a new MSK enrollment may start.
    renewed = await client.post(
        url,
        json={"track": "MSK", "conditions": ["chronic_msk_pain"], "start_date": start_day(180)},
        headers=org.clinician.headers,
    )
    assert renewed.status_code == 201


async def test_devices_register_list_revoke(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org)
    url = f"/v1/patients/{patient.id}/devices"
    created = await client.post(
        url,
        json={"kind": "scale", "manufacturer": "Withings", "model": "Body", "validated": False},
        headers=org.clinician.headers,
    )
    assert created.status_code == 201
    device = created.json()
    token = await client.post(
        "/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": device["client_id"],
            "client_secret": device["client_secret"],
        },
    )
    device_headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert (await client.get("/v1/me", headers=device_headers)).status_code == 200

    revoked = await client.delete(f"{url}/{device['id']}", headers=patient.user.headers)
    assert revoked.status_code == 204
    # The token it already holds stops working at once, and it cannot get a new one.
    assert (await client.get("/v1/me", headers=device_headers)).status_code == 401
    again = await client.post(
        "/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": device["client_id"],
            "client_secret": device["client_secret"],
        },
    )
    assert again.status_code == 401
    listed = (await client.get(url, headers=org.clinician.headers)).json()["items"]
    by_id = {d["id"]: d for d in listed}
    assert by_id[device["id"]]["revoked_at"] is not None
    missing = await client.delete(f"{url}/{patient.id}", headers=org.clinician.headers)
    assert missing.status_code == 404


async def test_clinicians_admin_only(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    body = {"email": "new@clinic.example", "name": "Dr. New", "password": "long-enough"}
    assert (
        await client.post("/v1/clinicians", json=body, headers=org.admin.headers)
    ).status_code == 201
    dup = await client.post("/v1/clinicians", json=body, headers=org.admin.headers)
    assert dup.status_code == 409
    listed = (await client.get("/v1/clinicians", headers=org.admin.headers)).json()["items"]
    assert {s["role"] for s in listed} == {"admin", "clinician"}
    other = await make_org(app)
    others = (await client.get("/v1/clinicians", headers=other.admin.headers)).json()["items"]
    assert "new@clinic.example" not in {s["email"] for s in others}
