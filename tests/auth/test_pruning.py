"""Sign-in rows that no longer matter are deleted as new ones are written (none grows forever)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from app import clock
from app.auth.models import LoginThrottle, RefreshToken
from app.auth.passwords import Passwords
from app.config import Settings
from app.organizations import service as organizations_service

PASSWORD = "correct horse battery"
T0 = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)


async def _account(app: FastAPI, email: str) -> None:
    passwords: Passwords = app.state.passwords
    async with app.state.sessionmaker() as session, session.begin():
        await organizations_service.create_organization_with_admin(
            session, passwords=passwords, name="Clinic", admin_email=email, password=PASSWORD
        )


async def _sign_in(client: httpx.AsyncClient, email: str, password: str) -> int:
    form = {"grant_type": "password", "username": email, "password": password}
    return (await client.post("/v1/auth/token", data=form)).status_code


async def _count(app: FastAPI, model: type[LoginThrottle] | type[RefreshToken]) -> int:
    async with app.state.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_throttle_windows_that_ended_are_deleted(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    await _account(app, "a@clinic.example")
    with clock.frozen_at(T0):
        assert await _sign_in(client, "a@clinic.example", "wrong-password") == 401
        assert await _sign_in(client, "b@clinic.example", "wrong-password") == 401
    # One window per account at this address, and one for the address.
    assert await _count(app, LoginThrottle) == 3
    window = timedelta(seconds=settings.login_window_seconds)
    with clock.frozen_at(T0 + window - timedelta(seconds=1)):
        assert await _sign_in(client, "a@clinic.example", "wrong-password") == 401
    assert await _count(app, LoginThrottle) == 3  # all three windows still open
    with clock.frozen_at(T0 + window + timedelta(seconds=1)):
        assert await _sign_in(client, "c@clinic.example", "wrong-password") == 401
    # a's and b's windows ended and were deleted; the address's window opened afresh, and c's.
    assert await _count(app, LoginThrottle) == 2


async def test_expired_refresh_tokens_are_deleted(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    await _account(app, "a@clinic.example")
    with clock.frozen_at(T0):
        assert await _sign_in(client, "a@clinic.example", PASSWORD) == 200
        assert await _sign_in(client, "a@clinic.example", PASSWORD) == 200
    assert await _count(app, RefreshToken) == 2
    ttl = timedelta(seconds=settings.refresh_token_ttl_seconds)
    with clock.frozen_at(T0 + ttl - timedelta(seconds=1)):
        assert await _sign_in(client, "a@clinic.example", PASSWORD) == 200
    assert await _count(app, RefreshToken) == 3
    with clock.frozen_at(T0 + ttl + timedelta(seconds=1)):
        assert await _sign_in(client, "a@clinic.example", PASSWORD) == 200
    assert await _count(app, RefreshToken) == 2  # the two issued at T0 expired
