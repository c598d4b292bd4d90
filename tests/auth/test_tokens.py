"""Tokens: pinned algorithm, verified issuer/audience/expiry, rotation, reuse, throttling."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta

import httpx
import jwt
import pytest
from fastapi import FastAPI

from app.auth.passwords import Passwords
from app.auth.tokens import ACCESS_AUDIENCE, TokenKeys, encode_access
from app.clock import utcnow
from app.organizations import service as organizations_service
from tests.conftest import TEST_SECRET
from tests.factories import make_org

PASSWORD = "correct horse battery"


async def _admin(app: FastAPI, email: str = "admin@clinic.example") -> None:
    passwords: Passwords = app.state.passwords
    async with app.state.sessionmaker() as session, session.begin():
        await organizations_service.create_organization_with_admin(
            session, passwords=passwords, name="Clinic", admin_email=email, password=PASSWORD
        )


async def _login(client: httpx.AsyncClient, password: str = PASSWORD) -> httpx.Response:
    return await client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": "admin@clinic.example", "password": password},
    )


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _claims(app: FastAPI, principal_id: uuid.UUID, org_id: uuid.UUID) -> dict[str, object]:
    keys: TokenKeys = app.state.token_keys
    now = utcnow()
    return {
        "iss": keys.issuer,
        "aud": ACCESS_AUDIENCE,
        "sub": str(principal_id),
        "role": "clinician",
        "org": str(org_id),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "jti": "x",
    }


async def test_valid_token_is_accepted(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    token = jwt.encode(_claims(app, org.clinician.id, org.id), TEST_SECRET, algorithm="HS256")
    response = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "forge",
    [
        "alg_none",
        "tampered_signature",
        "expired",
        "no_exp",
        "wrong_secret",
        "wrong_audience",
        "wrong_issuer",
        "hs384",
        "garbage",
    ],
)
async def test_bad_tokens_are_401(app: FastAPI, client: httpx.AsyncClient, forge: str) -> None:
    org = await make_org(app)
    claims = _claims(app, org.clinician.id, org.id)
    token: str
    if forge == "alg_none":
        token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    elif forge == "tampered_signature":
        good = jwt.encode(claims, TEST_SECRET, algorithm="HS256")
        head, _body, signature = good.split(".")
        token = f"{head}.{_b64({**claims, 'role': 'admin'})}.{signature}"
    elif forge == "expired":
        claims["exp"] = int((utcnow() - timedelta(seconds=5)).timestamp())
        token = jwt.encode(claims, TEST_SECRET, algorithm="HS256")
    elif forge == "no_exp":
        del claims["exp"]
        token = jwt.encode(claims, TEST_SECRET, algorithm="HS256")
    elif forge == "wrong_secret":
        token = jwt.encode(claims, "another-secret-" + "z" * 40, algorithm="HS256")
    elif forge == "wrong_audience":
        token = jwt.encode({**claims, "aud": "access-rpm:refresh"}, TEST_SECRET, algorithm="HS256")
    elif forge == "wrong_issuer":
        token = jwt.encode({**claims, "iss": "someone-else"}, TEST_SECRET, algorithm="HS256")
    elif forge == "hs384":
        token = jwt.encode(claims, TEST_SECRET, algorithm="HS384")
    else:
        token = "not.a.jwt"
    response = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_access_token_lifetime_is_at_most_15_minutes(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _admin(app)
    body = (await _login(client)).json()
    assert body["expires_in"] <= 900
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] <= 900


async def test_refresh_token_is_not_an_access_token(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _admin(app)
    refresh = (await _login(client)).json()["refresh_token"]
    response = await client.get("/v1/me", headers={"Authorization": f"Bearer {refresh}"})
    assert response.status_code == 401


async def test_access_token_is_not_a_refresh_token(app: FastAPI, client: httpx.AsyncClient) -> None:
    await _admin(app)
    access = (await _login(client)).json()["access_token"]
    response = await client.post(
        "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": access}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_grant"


async def test_refresh_rotates_and_reuse_revokes_the_family(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _admin(app)
    first = (await _login(client)).json()["refresh_token"]

    async def refresh(token: str) -> httpx.Response:
        return await client.post(
            "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": token}
        )

    second_response = await refresh(first)
    assert second_response.status_code == 200
    second = second_response.json()["refresh_token"]
    assert second != first
    third = (await refresh(second)).json()["refresh_token"]

    reused = await refresh(first)
    assert reused.status_code == 401
    assert "already used" in reused.json()["detail"]
    # The reuse revoked every token of the family, including the newest one.
    assert (await refresh(third)).status_code == 401
    # A fresh login starts a new family and works.
    assert (await _login(client)).status_code == 200


async def test_revoke_logs_out(app: FastAPI, client: httpx.AsyncClient) -> None:
    await _admin(app)
    token = (await _login(client)).json()["refresh_token"]
    assert (await client.post("/v1/auth/revoke", json={"token": token})).status_code == 200
    again = await client.post(
        "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": token}
    )
    assert again.status_code == 401
    form = await client.post("/v1/auth/revoke", data={"token": "unknown"})
    assert form.status_code == 200


async def test_revoke_form_ignores_unknown_parameters_json_refuses_them(
    client: httpx.AsyncClient,
) -> None:
    """RFC 7009 forms follow RFC 6749 (3.2): unrecognized parameters are ignored; a JSON body,
    like every JSON body here, names only its fields. The schema says both."""
    hinted = {"token": "unknown", "token_type_hint": "refresh_token"}
    assert (await client.post("/v1/auth/revoke", data={**hinted, "x": "1"})).status_code == 200
    assert (await client.post("/v1/auth/revoke", json=hinted)).status_code == 200
    unknown = await client.post("/v1/auth/revoke", json={"token": "unknown", "x": 1})
    assert (unknown.status_code, unknown.json()["error"]) == (400, "invalid_request")


@pytest.mark.parametrize("token", ["t" * 4097, "bad\x00token"])
async def test_revoke_refuses_a_token_it_could_not_have_issued(
    client: httpx.AsyncClient, token: str
) -> None:
    for sent in ({"data": {"token": token}}, {"json": {"token": token}}):
        response = await client.post("/v1/auth/revoke", **sent)  # type: ignore[arg-type]
        assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


async def test_five_failures_then_429(app: FastAPI, client: httpx.AsyncClient) -> None:
    await _admin(app)
    for _ in range(5):
        response = await _login(client, password="wrong password")
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_grant"
    blocked = await _login(client)  # even the right password waits
    assert blocked.status_code == 429
    retry_after = int(blocked.headers["retry-after"])
    assert 0 < retry_after <= 15 * 60


async def test_unknown_email_is_throttled_like_a_known_one(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    form = {"grant_type": "password", "username": "nobody@x.example", "password": "whatever1"}
    for _ in range(5):
        response = await client.post("/v1/auth/token", data=form)
        assert response.status_code == 401
        assert response.json()["detail"] == "The username or password is wrong."
    assert (await client.post("/v1/auth/token", data=form)).status_code == 429


async def test_unknown_email_verifies_a_hash(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    """Login for a missing account still runs Argon2 (same cost as a wrong password)."""
    passwords: Passwords = app.state.passwords
    hasher = passwords._hasher
    calls: list[str] = []

    class Spy:
        def verify(self, stored: str, password: str) -> bool:
            calls.append(stored)
            return hasher.verify(stored, password=password)

    monkeypatch.setattr(passwords, "_hasher", Spy())
    assert await passwords.verify(None, password="anything") is False
    assert len(calls) == 1
    assert calls[0].startswith("$argon2id$")


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "magic"}, "unsupported_grant_type"),
        ({}, "unsupported_grant_type"),
        ({"grant_type": "password", "username": "a@b.example"}, "invalid_request"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"grant_type": "client_credentials", "client_id": "x"}, "invalid_request"),
    ],
)
async def test_malformed_grants_are_400(
    client: httpx.AsyncClient, form: dict[str, str], error: str
) -> None:
    response = await client.post("/v1/auth/token", data=form)
    assert response.status_code == 400
    assert response.json()["error"] == error


def test_encode_access_round_trip(app: FastAPI) -> None:
    keys: TokenKeys = app.state.token_keys
    subject, org = uuid.uuid4(), uuid.uuid4()
    token = encode_access(keys, subject=subject, role="admin", organization_id=org, patient_id=None)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256"
