"""Organization staff: admins create and list clinicians of their own organization only."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.factories import make_org, make_patient

NEW = {"email": "Dr.Kim@Clinic.example", "name": "Dr. Kim", "password": "long-enough-1"}


async def test_admin_creates_a_clinician_who_can_sign_in(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    created = await client.post("/v1/clinicians", json=NEW, headers=org.admin.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["role"] == "clinician"
    assert body["email"] == "dr.kim@clinic.example"  # emails are login names: lower case
    assert body["organization_id"] == str(org.id)
    assert "password" not in created.text
    token = await client.post(
        "/v1/auth/token",
        data={
            "grant_type": "password",
            "username": "DR.KIM@clinic.example",
            "password": NEW["password"],
        },
    )
    assert token.status_code == 200, token.text


async def test_an_email_is_one_account(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    other = await make_org(app, "Elsewhere")
    first = await client.post("/v1/clinicians", json=NEW, headers=org.admin.headers)
    assert first.status_code == 201
    again = await client.post(
        "/v1/clinicians",
        json={**NEW, "email": "dr.kim@clinic.example"},
        headers=other.admin.headers,
    )
    assert again.status_code == 409
    assert again.json()["error"] == "Conflict"


async def test_list_shows_own_staff_newest_first_and_paginates(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    other = await make_org(app, "Elsewhere")
    for n in range(3):
        response = await client.post(
            "/v1/clinicians",
            json={**NEW, "email": f"c{n}@clinic.example", "name": f"C{n}"},
            headers=org.admin.headers,
        )
        assert response.status_code == 201
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await client.get("/v1/clinicians", params=params, headers=org.admin.headers)
        assert page.status_code == 200, page.text
        seen += [item["email"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    # The three new clinicians (newest first), then the fixture's admin and clinician.
    assert seen[:3] == ["c2@clinic.example", "c1@clinic.example", "c0@clinic.example"]
    assert len(seen) == 5
    assert org.clinician.principal.email in seen
    assert other.admin.principal.email not in seen


async def test_only_admins_manage_staff(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org)
    for headers in (org.clinician.headers, patient.user.headers, patient.device.headers):
        assert (await client.get("/v1/clinicians", headers=headers)).status_code == 403
        created = await client.post("/v1/clinicians", json=NEW, headers=headers)
        assert created.status_code == 403
    assert (await client.get("/v1/clinicians")).status_code == 401


async def test_weak_or_malformed_input_is_422_naming_the_field(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    for field, value in (("password", "short"), ("email", "not-an-email"), ("name", "")):
        response = await client.post(
            "/v1/clinicians", json={**NEW, field: value}, headers=org.admin.headers
        )
        assert response.status_code == 422, (field, response.text)
        assert [f["path"] for f in response.json()["fields"]] == [field]


async def test_a_taken_email_says_nothing_of_where_it_is_used(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """An admin learns that an email cannot be used, never that another organization has it."""
    org = await make_org(app)
    other = await make_org(app, "Elsewhere")
    elsewhere = await client.post(
        "/v1/clinicians",
        json={**NEW, "email": other.clinician.principal.email},
        headers=org.admin.headers,
    )
    here = await client.post(
        "/v1/clinicians",
        json={**NEW, "email": org.clinician.principal.email},
        headers=org.admin.headers,
    )
    assert elsewhere.status_code == here.status_code == 409
    assert elsewhere.json() == here.json()
    detail = elsewhere.json()["detail"].lower()
    assert "exist" not in detail
    assert "already" not in detail
