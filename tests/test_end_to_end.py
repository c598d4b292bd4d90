"""The foundation's story over HTTP: bootstrap, staff, a patient, enrollments, a device."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from app.auth.passwords import Passwords
from app.organizations import service as organizations_service
from tests.dates import start_day


async def _token(client: httpx.AsyncClient, **form: str) -> dict[str, str]:
    response = await client.post("/v1/auth/token", data=form)
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    assert body["token_type"] == "bearer"
    assert response.headers["cache-control"] == "no-store"
    return body


def _bearer(token: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token['access_token']}"}


async def test_bootstrap_to_device(app: FastAPI, client: httpx.AsyncClient) -> None:
    passwords: Passwords = app.state.passwords
    async with app.state.sessionmaker() as session, session.begin():
        await organizations_service.create_organization_with_admin(
            session,
            passwords=passwords,
            name="Riverside Care",
            admin_email="Admin@Riverside.example",
            password="admin-password-1",
        )

    admin = _bearer(
        await _token(
            client,
            grant_type="password",
            username="admin@riverside.example",
            password="admin-password-1",
        )
    )
    created = await client.post(
        "/v1/clinicians",
        json={"email": "dr.lee@riverside.example", "name": "Dr. Lee", "password": "clinic-pass-1"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "clinician"
    assert "password" not in created.text

    clinician = _bearer(
        await _token(
            client,
            grant_type="password",
            username="dr.lee@riverside.example",
            password="clinic-pass-1",
        )
    )
    patient_response = await client.post(
        "/v1/patients",
        json={
            "given_name": "Ana",
            "family_name": "Silva",
            "birth_date": "1957-04-02",
            "sex": "female",
            "timezone": "America/New_York",
            "mbi": "1EG4-TE5-MK73",
            "height_cm": 160,
            "social_risk": {"dual_eligible": True, "rural": False, "limited_digital_access": True},
        },
        headers=clinician,
    )
    assert patient_response.status_code == 201, patient_response.text
    new_patient = patient_response.json()
    patient_id = new_patient["id"]
    assert new_patient["mbi"] == "1EG4TE5MK73"
    assert new_patient["activated"] is False
    assert new_patient["activation_code"]
    assert new_patient["activation_expires_at"]

    activated = await client.post(
        "/v1/auth/activate",
        json={
            "code": new_patient["activation_code"].lower(),
            "password": "patient-pass-1",
            "email": "ana@example.org",
        },
    )
    assert activated.status_code == 200, activated.text
    patient = _bearer(activated.json())
    assert activated.json()["refresh_token"]

    again = await client.post(
        "/v1/auth/activate",
        json={"code": new_patient["activation_code"], "password": "patient-pass-2"},
    )
    assert again.status_code == 401  # one-time

    me = (await client.get("/v1/me", headers=patient)).json()
    assert me["role"] == "patient"
    assert me["patient_id"] == patient_id
    assert me["email"] == "ana@example.org"
    own = await client.get("/v1/patients/me", headers=patient)
    assert own.status_code == 200
    assert own.json()["id"] == patient_id
    assert own.json()["activated"] is True

    enroll_url = f"/v1/patients/{patient_id}/enrollments"
    body = {"track": "eCKM", "conditions": ["hypertension"], "start_date": start_day()}
    first = await client.post(enroll_url, json=body, headers=clinician)
    assert first.status_code == 201, first.text
    # Day 365 is the care period's last day.
    assert first.json()["end_date"] == start_day(364)
    assert first.json()["status"] == "active"
    assert (await client.post(enroll_url, json=body, headers=clinician)).status_code == 409
    lipids_only = {"track": "eCKM", "conditions": ["dyslipidemia"], "start_date": start_day()}
    rejected = await client.post(enroll_url, json=lipids_only, headers=clinician)
    assert rejected.status_code == 422
    assert "eCKM requires hypertension" in rejected.json()["detail"]
    follow_on = {
        "track": "MSK",
        "conditions": ["chronic_msk_pain"],
        "start_date": start_day(),
        "period": "follow_on",
    }
    msk = await client.post(enroll_url, json=follow_on, headers=clinician)
    assert msk.status_code == 422
    assert "follow-on" in msk.json()["detail"]

    device_response = await client.post(
        f"/v1/patients/{patient_id}/devices",
        json={"kind": "bp_cuff", "manufacturer": "Omron", "model": "BP7250", "validated": True},
        headers=patient,
    )
    assert device_response.status_code == 201, device_response.text
    device_credentials = device_response.json()
    device = _bearer(
        await _token(
            client,
            grant_type="client_credentials",
            client_id=device_credentials["client_id"],
            client_secret=device_credentials["client_secret"],
        )
    )
    device_me = (await client.get("/v1/me", headers=device)).json()
    assert device_me["role"] == "device"
    assert device_me["patient_id"] == patient_id
    for path in ("", "/enrollments", "/devices", "/access-log"):
        denied = await client.get(f"/v1/patients/{patient_id}{path}", headers=device)
        assert denied.status_code == 403, path
    assert (await client.get("/v1/patients", headers=device)).status_code == 403

    listed = (await client.get(f"/v1/patients/{patient_id}/devices", headers=clinician)).json()
    assert "client_secret" not in listed["items"][0]
