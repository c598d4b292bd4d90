"""Accounts (docs/api.md "Accounts"): every activated patient can sign in again, staff issue
access codes to patients who lost access, a person changes their password and their other
sign-ins end."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from app.auth.passwords import Passwords
from app.clock import utcnow
from app.organizations import service as organizations_service
from tests.auth.test_activation_probing import _new_patient
from tests.factories import OrgWorld, make_org, make_patient

PASSWORD = "correct horse battery"
NEW_PASSWORD = "staple gun lantern"
USERNAME = re.compile(r"pt-[2-9a-z]{4}-[2-9a-z]{4}")


async def _activate(
    client: httpx.AsyncClient, code: str, password: str = PASSWORD, **more: Any
) -> httpx.Response:
    return await client.post("/v1/auth/activate", json={"code": code, "password": password, **more})


async def _sign_in(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    form = {"grant_type": "password", "username": username, "password": password}
    return await client.post("/v1/auth/token", data=form)


async def _refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    form = {"grant_type": "refresh_token", "refresh_token": token}
    return await client.post("/v1/auth/token", data=form)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _me(client: httpx.AsyncClient, access: str) -> httpx.Response:
    return await client.get("/v1/me", headers=_bearer(access))


async def _activated(
    client: httpx.AsyncClient, org: OrgWorld, **more: Any
) -> tuple[str, dict[str, Any]]:
    """(patient id, activation response) of a new patient who activated."""
    patient_id, code = await _new_patient(client, org.clinician.headers)
    response = await _activate(client, code, **more)
    assert response.status_code == 200, response.text
    return patient_id, response.json()


async def test_a_patient_without_an_email_signs_in_again_with_the_generated_username(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    _, body = await _activated(client, org)
    login = body["login"]
    assert USERNAME.fullmatch(login)
    me = (await _me(client, body["access_token"])).json()
    assert (me["login"], me["email"]) == (login, None)
    # Logged out (or the app reinstalled): the password grant takes the username.
    revoked = await client.post("/v1/auth/revoke", json={"token": body["refresh_token"]})
    assert revoked.is_success
    assert (await _me(client, body["access_token"])).status_code == 401
    again = await _sign_in(client, login.upper())  # typed in any case
    assert again.status_code == 200, again.text
    assert (await _me(client, again.json()["access_token"])).json()["login"] == login


async def test_a_patient_with_an_email_signs_in_with_it(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    _, body = await _activated(client, org, email="Ana.Silva@Example.org")
    assert body["login"] == "ana.silva@example.org"
    assert (await _sign_in(client, "ana.silva@example.org")).status_code == 200


async def test_an_access_code_lets_a_patient_who_lost_access_set_a_new_password(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient_id, body = await _activated(client, org)
    login, old_access, old_refresh = body["login"], body["access_token"], body["refresh_token"]
    # The old activation code was used: staff could not help before (409 "already activated").
    issued = await client.post(
        f"/v1/patients/{patient_id}/access-code", headers=org.clinician.headers
    )
    assert issued.status_code == 201, issued.text
    code = issued.json()
    redeemed = await _activate(client, code["code"], NEW_PASSWORD)
    assert redeemed.status_code == 200, redeemed.text
    assert redeemed.json()["login"] == login  # the same account, not a new one
    # Every earlier sign-in ended; the old password no longer works, the new one does.
    assert (await _me(client, old_access)).status_code == 401
    assert (await _refresh(client, old_refresh)).status_code == 401
    assert (await _sign_in(client, login)).status_code == 401
    assert (await _sign_in(client, login, NEW_PASSWORD)).status_code == 200
    # One-time.
    assert (await _activate(client, code["code"], "another fine phrase")).status_code == 401


async def test_an_access_code_expires_in_seven_days_and_replaces_the_previous_one(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient_id, _ = await _activated(client, org)
    url = f"/v1/patients/{patient_id}/access-code"
    first = (await client.post(url, headers=org.clinician.headers)).json()
    second = (await client.post(url, headers=org.admin.headers)).json()
    left = datetime.fromisoformat(second["expires_at"]) - utcnow()
    assert timedelta(days=7) - timedelta(minutes=1) < left <= timedelta(days=7)
    refused = await _activate(client, first["code"], NEW_PASSWORD)
    assert (refused.status_code, refused.json()["error"]) == (401, "InvalidCode")
    assert (await _activate(client, second["code"], NEW_PASSWORD)).status_code == 200


async def test_an_access_code_can_be_activated_with_a_new_email(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient_id, body = await _activated(client, org)
    issued = await client.post(
        f"/v1/patients/{patient_id}/access-code", headers=org.clinician.headers
    )
    redeemed = await _activate(client, issued.json()["code"], NEW_PASSWORD, email="ana@example.org")
    assert redeemed.json()["login"] == "ana@example.org"
    assert (await _sign_in(client, "ana@example.org", NEW_PASSWORD)).status_code == 200
    assert (await _sign_in(client, body["login"], NEW_PASSWORD)).status_code == 401


async def test_a_password_containing_the_username_is_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient_id, body = await _activated(client, org)
    issued = await client.post(
        f"/v1/patients/{patient_id}/access-code", headers=org.clinician.headers
    )
    refused = await _activate(client, issued.json()["code"], f"my {body['login']} pass")
    assert refused.status_code == 422
    assert refused.json()["fields"][0]["path"] == "password"
    assert "username" in refused.json()["fields"][0]["message"]


# --- password change -------------------------------------------------------------------------

EMAIL = "dr.lee@clinic.example"


async def _staff_account(app: FastAPI) -> None:
    passwords: Passwords = app.state.passwords
    async with app.state.sessionmaker() as session, session.begin():
        await organizations_service.create_organization_with_admin(
            session, passwords=passwords, name="Clinic", admin_email=EMAIL, password=PASSWORD
        )


async def _change(client: httpx.AsyncClient, access: str, current: str, new: str) -> httpx.Response:
    return await client.post(
        "/v1/auth/password",
        json={"current_password": current, "new_password": new},
        headers=_bearer(access),
    )


async def test_changing_the_password_ends_the_other_sign_ins_only(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _staff_account(app)
    here = (await _sign_in(client, EMAIL)).json()
    elsewhere = (await _sign_in(client, EMAIL)).json()
    changed = await _change(client, here["access_token"], PASSWORD, NEW_PASSWORD)
    assert changed.status_code == 204, changed.text
    assert (await _me(client, here["access_token"])).status_code == 200
    assert (await _refresh(client, here["refresh_token"])).status_code == 200
    assert (await _me(client, elsewhere["access_token"])).status_code == 401
    assert (await _refresh(client, elsewhere["refresh_token"])).status_code == 401
    assert (await _sign_in(client, EMAIL)).status_code == 401
    assert (await _sign_in(client, EMAIL, NEW_PASSWORD)).status_code == 200


async def test_a_patient_changes_their_password(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    _, body = await _activated(client, org)
    changed = await _change(client, body["access_token"], PASSWORD, NEW_PASSWORD)
    assert changed.status_code == 204, changed.text
    assert (await _sign_in(client, body["login"], NEW_PASSWORD)).status_code == 200


async def test_a_wrong_current_password_is_403_and_counts_as_a_failed_sign_in(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _staff_account(app)
    access = (await _sign_in(client, EMAIL)).json()["access_token"]
    limit = app.state.settings.login_max_failures
    for _ in range(limit):
        wrong = await _change(client, access, "not my password", NEW_PASSWORD)
        assert (wrong.status_code, wrong.json()["error"]) == (403, "WrongPassword")
        assert wrong.json()["fields"][0]["path"] == "current_password"
    assert (await _change(client, access, "not my password", NEW_PASSWORD)).status_code == 429
    # The limit is the account's sign-in limit: the right password waits too.
    assert (await _sign_in(client, EMAIL)).status_code == 429


async def test_a_weak_new_password_is_422_naming_new_password(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _staff_account(app)
    access = (await _sign_in(client, EMAIL)).json()["access_token"]
    for weak in ("password", f"x{EMAIL}x"):
        refused = await _change(client, access, PASSWORD, weak)
        assert refused.status_code == 422, weak
        assert refused.json()["fields"][0]["path"] == "new_password"


async def test_devices_cannot_change_a_password(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org)
    refused = await client.post(
        "/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=patient.device.headers,
    )
    assert refused.status_code == 403
    anonymous = await client.post(
        "/v1/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert anonymous.status_code == 401
