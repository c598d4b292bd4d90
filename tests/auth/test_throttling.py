"""Sign-in throttling: an atomic count per (account, client address) and per client address.

Guesses are counted before the password is checked, so no amount of parallelism gets more than
`login_max_failures` of them to the check; an attacker at one address cannot lock the account's
owner out at another (OWASP Authentication Cheat Sheet, "Protect against automated attacks").
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from app import clock
from app.auth.passwords import Passwords
from app.config import Settings
from app.main import create_app
from app.organizations import service as organizations_service
from tests.conftest import make_settings

PASSWORD = "correct horse battery"
WRONG = "wrong horse battery"
T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
ATTACKER = "10.0.0.5"
OWNER = "10.0.0.6"


async def _accounts(app: FastAPI, *emails: str) -> None:
    passwords: Passwords = app.state.passwords
    async with app.state.sessionmaker() as session, session.begin():
        for email in emails:
            await organizations_service.create_organization_with_admin(
                session, passwords=passwords, name="Clinic", admin_email=email, password=PASSWORD
            )


@asynccontextmanager
async def _from(app: FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests come from the socket peer `address`."""
    transport = httpx.ASGITransport(app=app, client=(address, 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def _sign_in(
    client: httpx.AsyncClient, email: str, password: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    form = {"grant_type": "password", "username": email, "password": password}
    return await client.post("/v1/auth/token", data=form, headers=headers)


@pytest.fixture
def checks(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password that reached Argon2, in order."""
    passwords: Passwords = app.state.passwords
    real = passwords.verify
    seen: list[str] = []

    async def counting(password_hash: str | None, *, password: str) -> bool:
        seen.append(password)
        return await real(password_hash, password=password)

    monkeypatch.setattr(passwords, "verify", counting)
    return seen


def _statuses(responses: list[httpx.Response]) -> dict[int, int]:
    counted: dict[int, int] = {}
    for response in responses:
        counted[response.status_code] = counted.get(response.status_code, 0) + 1
    return counted


async def test_parallel_guesses_cannot_out_run_the_limit(
    app: FastAPI, settings: Settings, checks: list[str]
) -> None:
    await _accounts(app, "dr.lee@clinic.example")
    async with _from(app, ATTACKER) as attacker:
        responses = await asyncio.gather(
            *(_sign_in(attacker, "dr.lee@clinic.example", WRONG) for _ in range(150))
        )
    assert len(checks) == settings.login_max_failures == 5
    assert _statuses(responses) == {401: 5, 429: 145}
    assert all(int(r.headers["retry-after"]) > 0 for r in responses if r.status_code == 429)
    # The owner, elsewhere, is not locked out by the attacker's guesses.
    async with _from(app, OWNER) as owner:
        assert (await _sign_in(owner, "dr.lee@clinic.example", PASSWORD)).status_code == 200
    # The attacker's address still is, even with the right password.
    async with _from(app, ATTACKER) as attacker:
        assert (await _sign_in(attacker, "dr.lee@clinic.example", PASSWORD)).status_code == 429


async def test_spraying_many_accounts_from_one_address_is_slowed(
    app: FastAPI, settings: Settings, checks: list[str]
) -> None:
    emails = [f"c{n}@clinic.example" for n in range(30)]
    await _accounts(app, *emails)
    async with _from(app, ATTACKER) as attacker:
        responses = await asyncio.gather(
            *(_sign_in(attacker, email, WRONG) for email in emails for _ in range(4))
        )
    assert len(checks) == settings.login_client_max_failures == 20
    assert _statuses(responses) == {401: 20, 429: 100}
    # Another address is not slowed by it.
    async with _from(app, OWNER) as owner:
        assert (await _sign_in(owner, emails[0], PASSWORD)).status_code == 200


async def test_unknown_emails_count_for_the_address_like_known_ones(
    app: FastAPI, checks: list[str]
) -> None:
    async with _from(app, ATTACKER) as attacker:
        statuses = [
            (await _sign_in(attacker, f"nobody{n}@x.example", WRONG)).status_code for n in range(25)
        ]
    assert statuses == [401] * 20 + [429] * 5
    assert len(checks) == 20  # each of them ran Argon2, as a wrong password does


async def test_a_success_clears_the_account_count_and_is_not_a_failure(
    app: FastAPI, checks: list[str]
) -> None:
    await _accounts(app, "dr.lee@clinic.example")
    async with _from(app, OWNER) as owner:
        for _ in range(3):
            for _ in range(4):
                assert (await _sign_in(owner, "dr.lee@clinic.example", WRONG)).status_code == 401
            assert (await _sign_in(owner, "dr.lee@clinic.example", PASSWORD)).status_code == 200
        # 12 failures and 3 successes so far; successes never count toward the address limit.
        for _ in range(30):
            assert (await _sign_in(owner, "dr.lee@clinic.example", PASSWORD)).status_code == 200
        for _ in range(5):
            assert (await _sign_in(owner, "dr.lee@clinic.example", WRONG)).status_code == 401
        assert (await _sign_in(owner, "dr.lee@clinic.example", WRONG)).status_code == 429


async def test_the_window_ends_and_retry_after_says_when(app: FastAPI, settings: Settings) -> None:
    await _accounts(app, "dr.lee@clinic.example")
    window = timedelta(seconds=settings.login_window_seconds)
    async with _from(app, ATTACKER) as attacker:
        with clock.frozen_at(T0):
            for _ in range(5):
                assert (await _sign_in(attacker, "dr.lee@clinic.example", WRONG)).status_code == 401
        with clock.frozen_at(T0 + timedelta(minutes=10)):
            blocked = await _sign_in(attacker, "dr.lee@clinic.example", PASSWORD)
            assert blocked.status_code == 429
            assert blocked.json()["error"] == "TooManyRequests"
            assert int(blocked.headers["retry-after"]) == (window - timedelta(minutes=10)).seconds
        with clock.frozen_at(T0 + window):
            assert (await _sign_in(attacker, "dr.lee@clinic.example", PASSWORD)).status_code == 200


@pytest.mark.parametrize("peer", [ATTACKER, "127.0.0.1"])
async def test_forwarded_for_is_ignored_from_untrusted_peers(
    app: FastAPI, checks: list[str], peer: str
) -> None:
    """A client cannot pick a fresh address per guess by writing X-Forwarded-For itself, and
    loopback is no trusted proxy unless configured as one."""
    async with _from(app, peer) as attacker:
        statuses = [
            (
                await _sign_in(
                    attacker,
                    f"nobody{n}@x.example",
                    WRONG,
                    headers={"X-Forwarded-For": f"203.0.113.{n}"},
                )
            ).status_code
            for n in range(21)
        ]
    assert statuses == [401] * 20 + [429]
    assert len(checks) == 20


@pytest.fixture
async def behind_proxy(database_url: str) -> AsyncIterator[FastAPI]:
    settings = make_settings(database_url, trusted_proxies=["10.0.0.0/8"])
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_behind_a_trusted_proxy_the_forwarded_client_is_throttled(
    behind_proxy: FastAPI,
) -> None:
    app = behind_proxy
    await _accounts(app, "dr.lee@clinic.example")

    def via_proxy(client: str) -> dict[str, str]:
        # The client wrote a spoofed entry; the proxy appended the real peer on the right.
        return {"X-Forwarded-For": f"198.51.100.77, {client}"}

    async with _from(app, "10.1.2.3") as proxy:
        for _ in range(5):
            guess = await _sign_in(proxy, "dr.lee@clinic.example", WRONG, via_proxy("203.0.113.9"))
            assert guess.status_code == 401
        blocked = await _sign_in(proxy, "dr.lee@clinic.example", PASSWORD, via_proxy("203.0.113.9"))
        assert blocked.status_code == 429
        # The owner reaches the service through the same proxy from their own address.
        owner = await _sign_in(proxy, "dr.lee@clinic.example", PASSWORD, via_proxy("192.0.2.10"))
        assert owner.status_code == 200


def test_the_server_leaves_forwarded_headers_to_the_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """uvicorn's own rule (X-Forwarded-For trusted from 127.0.0.1) is off: the peer reaches the
    service unchanged and `trusted_proxies` alone decides."""
    import uvicorn

    import app.migrate
    from app import __main__ as cli

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *_args, **kwargs: seen.update(kwargs))
    monkeypatch.setattr(app.migrate, "upgrade_head", lambda _url: None)
    monkeypatch.setattr(cli, "get_settings", lambda: make_settings("sqlite+aiosqlite://"))
    assert cli._serve("127.0.0.1", 8000, 1) == 0
    assert seen["proxy_headers"] is False
