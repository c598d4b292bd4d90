"""Sign-in: password, refresh-token and client-credentials grants, activation, revocation.

Invariants: refresh tokens rotate on every use, and presenting a rotated (used) one revokes every
token of its family; a login for an unknown email costs the same as a wrong password; after
`login_max_failures` failures for one email within the window the answer is 429 until the oldest
of them ages out. Failures and family revocations are kept even though the request answers
with an error (`keep_changes`). Rows that no longer matter are deleted as new ones are written,
so neither table grows forever: failures older than the window (when a failure is recorded) and
refresh tokens past their expiry (when a token is issued).
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.auth import credentials
from app.auth.models import LoginFailure, RefreshToken, User
from app.auth.passwords import Passwords
from app.auth.principal import Principal
from app.auth.schemas import ActivateRequest, TokenResponse
from app.auth.tokens import TokenError, TokenKeys, decode_refresh, encode_access, encode_refresh
from app.clock import utcnow
from app.config import Settings
from app.db import flush_or_conflict
from app.devices.models import Device
from app.errors import Conflict, TooManyRequests, Unauthorized
from app.patients.models import Patient


def _invalid_grant(detail: str, *, keep_changes: bool = False) -> Unauthorized:
    return Unauthorized(detail, error="invalid_grant", keep_changes=keep_changes)


async def issue_for_user(
    session: AsyncSession, *, keys: TokenKeys, user: User, family_id: uuid.UUID | None = None
) -> TokenResponse:
    token_id = uuid.uuid4()
    now = utcnow()
    # An expired refresh token is refused before its row is read: the row is dead weight.
    await session.execute(delete(RefreshToken).where(RefreshToken.expires_at <= now))
    expires_at = now + keys.refresh_ttl
    session.add(
        RefreshToken(
            id=token_id,
            family_id=family_id or token_id,
            user_id=user.id,
            expires_at=expires_at,
        )
    )
    access = encode_access(
        keys,
        subject=user.id,
        role=user.role,
        organization_id=user.organization_id,
        patient_id=user.patient_id,
    )
    return TokenResponse(
        access_token=access,
        expires_in=int(keys.access_ttl.total_seconds()),
        refresh_token=encode_refresh(
            keys, token_id=token_id, user_id=user.id, expires_at=expires_at
        ),
    )


async def password_grant(
    session: AsyncSession,
    *,
    keys: TokenKeys,
    passwords: Passwords,
    settings: Settings,
    email: str,
    password: str,
) -> TokenResponse:
    email = email.strip().lower()
    now = utcnow()
    window_start = now - timedelta(seconds=settings.login_window_seconds)
    recent = list(
        await session.scalars(
            select(LoginFailure.at)
            .where(LoginFailure.email == email, LoginFailure.at > window_start)
            .order_by(LoginFailure.at.desc())
            .limit(settings.login_max_failures)
        )
    )
    if len(recent) >= settings.login_max_failures:
        unlock_at = recent[-1] + timedelta(seconds=settings.login_window_seconds)
        raise TooManyRequests(
            "Too many failed sign-ins for this account; try again later.",
            retry_after=math.ceil((unlock_at - now).total_seconds()),
        )
    user = await session.scalar(select(User).where(User.email == email))
    ok = await passwords.verify(user.password_hash if user else None, password=password)
    if user is None or not ok or user.disabled_at is not None:
        # Failures older than the window no longer count toward any account's limit.
        await session.execute(delete(LoginFailure).where(LoginFailure.at <= window_start))
        session.add(LoginFailure(email=email, at=now))
        raise _invalid_grant("The email or password is wrong.", keep_changes=True)
    return await issue_for_user(session, keys=keys, user=user)


async def refresh_grant(
    session: AsyncSession, *, keys: TokenKeys, refresh_token: str
) -> TokenResponse:
    try:
        token_id, user_id = decode_refresh(keys, token=refresh_token)
    except TokenError:
        raise _invalid_grant("The refresh token is invalid or expired.") from None
    now = utcnow()
    # Conditional update: of two requests racing with the same token, only one rotates it.
    rotated = await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.id == token_id,
            RefreshToken.user_id == user_id,
            RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None),
            RefreshToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(RefreshToken.family_id)
    )
    family_id = rotated.scalar_one_or_none()
    if family_id is None:
        row = await session.get(RefreshToken, token_id)
        if row is not None and row.used_at is not None:
            await revoke_family(session, family_id=row.family_id, at=now)
            raise _invalid_grant(
                "This refresh token was already used; the session is revoked. Sign in again.",
                keep_changes=True,
            )
        raise _invalid_grant("The refresh token is invalid, revoked or expired.")
    user = await session.get(User, user_id)
    if user is None or user.disabled_at is not None:
        raise _invalid_grant("The account is not active.")
    return await issue_for_user(session, keys=keys, user=user, family_id=family_id)


async def revoke_family(session: AsyncSession, *, family_id: uuid.UUID, at: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=at)
    )


async def revoke(session: AsyncSession, *, keys: TokenKeys, token: str) -> None:
    """Logout: revokes the token's family; unknown or invalid tokens are ignored (RFC 7009)."""
    try:
        token_id, _user_id = decode_refresh(keys, token=token)
    except TokenError:
        return
    row = await session.get(RefreshToken, token_id)
    if row is not None:
        await revoke_family(session, family_id=row.family_id, at=utcnow())


async def client_credentials_grant(
    session: AsyncSession, *, keys: TokenKeys, client_id: str, client_secret: str
) -> TokenResponse:
    device = await session.scalar(select(Device).where(Device.client_id == client_id))
    # Compare digests of equal length; the secret is random, so no timing oracle on a password.
    if (
        device is None
        or device.revoked_at is not None
        or device.secret_hash != credentials.digest(client_secret)
    ):
        raise Unauthorized("Unknown client or wrong secret.", error="invalid_client")
    organization_id = await session.scalar(
        select(Patient.organization_id).where(Patient.id == device.patient_id)
    )
    assert organization_id is not None
    access = encode_access(
        keys,
        subject=device.id,
        role="device",
        organization_id=organization_id,
        patient_id=device.patient_id,
    )
    return TokenResponse(access_token=access, expires_in=int(keys.access_ttl.total_seconds()))


async def activate(
    session: AsyncSession, *, keys: TokenKeys, passwords: Passwords, body: ActivateRequest
) -> TokenResponse:
    code_hash = credentials.digest(credentials.normalize_activation_code(body.code))
    now = utcnow()
    patient = await session.scalar(
        select(Patient).where(
            Patient.activation_code_hash == code_hash,
            Patient.activation_expires_at > now,
            Patient.activated_at.is_(None),
        )
    )
    if patient is None:
        raise _invalid_grant("The activation code is wrong, used or expired.")
    if body.email is not None:
        taken = await session.scalar(select(func.count()).where(User.email == body.email))
        if taken:
            raise Conflict("This email is already in use.")
    # Clearing the code in the same conditional update makes it one-time under concurrency.
    claimed = await session.execute(
        update(Patient)
        .where(Patient.id == patient.id, Patient.activated_at.is_(None))
        .values(activated_at=now, activation_code_hash=None, activation_expires_at=None)
        .returning(Patient.id)
    )
    if claimed.scalar_one_or_none() is None:
        raise _invalid_grant("The activation code is wrong, used or expired.")
    user = User(
        organization_id=patient.organization_id,
        role="patient",
        email=body.email,
        password_hash=await passwords.hash(body.password),
        patient_id=patient.id,
    )
    session.add(user)
    await flush_or_conflict(session, detail="This email is already in use.")
    audit_service.record(
        session,
        principal=Principal(
            id=user.id, role="patient", organization_id=user.organization_id, patient_id=patient.id
        ),
        organization_id=patient.organization_id,
        patient_id=patient.id,
        action="update",
        resource_type="account",
        resource_id=user.id,
    )
    return await issue_for_user(session, keys=keys, user=user)
