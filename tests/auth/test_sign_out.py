"""Signing out ends the session at once: access tokens of a revoked refresh family stop working
then, not when they expire (OWASP Session Management Cheat Sheet, "Session Expiration")."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from app.auth.passwords import Passwords
from app.organizations import service as organizations_service
from tests.factories import make_org, make_patient

PASSWORD = "correct horse battery"
EMAIL = "dr.lee@clinic.example"


async def _account(app: FastAPI) -> None:
    passwords: Passwords = app.state.passwords
    async with app.state.sessionmaker() as session, session.begin():
        await organizations_service.create_organization_with_admin(
            session, passwords=passwords, name="Clinic", admin_email=EMAIL, password=PASSWORD
        )


async def _sign_in(client: httpx.AsyncClient) -> tuple[str, str]:
    form = {"grant_type": "password", "username": EMAIL, "password": PASSWORD}
    body = (await client.post("/v1/auth/token", data=form)).json()
    return body["access_token"], body["refresh_token"]


async def _refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    form = {"grant_type": "refresh_token", "refresh_token": token}
    return await client.post("/v1/auth/token", data=form)


async def _me(client: httpx.AsyncClient, access: str) -> int:
    return (await client.get("/v1/me", headers={"Authorization": f"Bearer {access}"})).status_code


async def test_logout_ends_the_access_tokens_of_that_session_only(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _account(app)
    access, refresh = await _sign_in(client)
    other_access, _other_refresh = await _sign_in(client)  # another device of the same person
    assert await _me(client, access) == 200
    rotated = (await _refresh(client, refresh)).json()
    assert await _me(client, rotated["access_token"]) == 200

    assert (
        await client.post("/v1/auth/revoke", json={"token": rotated["refresh_token"]})
    ).is_success
    # Every access token of the family, from before and after the rotation, stops at once.
    assert await _me(client, access) == 401
    assert await _me(client, rotated["access_token"]) == 401
    response = await client.get("/v1/me", headers={"Authorization": f"Bearer {access}"})
    assert response.json()["error"] == "Unauthorized"
    # The other session is untouched.
    assert await _me(client, other_access) == 200


async def test_refresh_token_reuse_ends_the_access_tokens_too(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _account(app)
    _access, stolen = await _sign_in(client)
    # The thief rotates first; the owner's later use of the same token reveals the theft.
    thief = (await _refresh(client, stolen)).json()
    assert await _me(client, thief["access_token"]) == 200
    assert (await _refresh(client, stolen)).status_code == 401
    assert await _me(client, thief["access_token"]) == 401
    # Signing in again starts a new session that works.
    fresh, _ = await _sign_in(client)
    assert await _me(client, fresh) == 200


async def test_patient_tokens_end_with_their_session(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    device_holder = await make_patient(app, org)
    created = await client.post(
        "/v1/patients",
        json={
            "given_name": "Ana",
            "family_name": "Silva",
            "birth_date": "1957-04-02",
            "sex": "female",
            "timezone": "America/New_York",
        },
        headers=org.clinician.headers,
    )
    code = created.json()["activation_code"]
    activated = await client.post("/v1/auth/activate", json={"code": code, "password": PASSWORD})
    assert activated.status_code == 200, activated.text
    body = activated.json()
    assert await _me(client, body["access_token"]) == 200
    assert (await client.post("/v1/auth/revoke", json={"token": body["refresh_token"]})).is_success
    assert await _me(client, body["access_token"]) == 401
    # A device has no refresh family: its token is unaffected.
    assert await _me(client, device_holder.device.token) == 200
