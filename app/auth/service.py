"""Sign-in: password, refresh-token and client-credentials grants, activation, revocation.

Invariants: refresh tokens rotate on every use, and presenting a rotated (used) one revokes every
token of its family; a user's access token names its family (`fam`) and dies with it. A login
for an unknown email costs and counts the same as a wrong password. Password guesses are
reserved before the password is checked (`throttle.py`), at most `login_max_failures` per
window for an account from one client address and `login_client_max_failures` from one address
for any accounts; past either the answer is 429 with `Retry-After`, the right password included.
The owner at another address is not locked out by an attacker's guesses (OWASP Authentication
Cheat Sheet, "Account lockout"). Failures and family revocations are kept even though the
request answers with an error (`keep_changes`). Rows that no longer matter are deleted as new
ones are written, so no table grows forever: throttle windows that have ended (when an attempt
is counted) and refresh tokens past their expiry (when a token is issued).

No answer tells whether an email has an account outside the caller's organization: activation
refuses a taken email in words that say nothing of whose it is, and counts each refusal against
the code (docs/api.md, "Auth").
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.auth import credentials, password_policy, throttle
from app.auth.models import RefreshToken, User
from app.auth.passwords import Passwords
from app.auth.principal import Principal
from app.auth.schemas import ActivateRequest, ActivateResponse, PasswordChange, TokenResponse
from app.auth.tokens import TokenError, TokenKeys, decode_refresh, encode_access, encode_refresh
from app.clock import utcnow
from app.config import Settings
from app.db import flush_or_conflict
from app.devices.models import Device
from app.errors import Conflict, FieldError, Forbidden, TooManyRequests, Unauthorized
from app.patients.models import Patient

# Says nothing of whose the email is, or where: the same words for any taken email.
EMAIL_UNAVAILABLE = "This email cannot be used to sign in; choose another, or activate without one."


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
    family_id = family_id or token_id
    session.add(
        RefreshToken(
            id=token_id,
            family_id=family_id,
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
        family_id=family_id,
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
    login: str,
    password: str,
    client: str,
) -> TokenResponse:
    """Sign in with a login (an email, or a generated username) and password."""
    login = login.strip().lower()
    account_key = throttle.account_at_client(login, client)
    client_key = throttle.client(client)
    retry_after = await throttle.reserve(
        session,
        limits=[
            throttle.Limit(account_key, settings.login_max_failures),
            throttle.Limit(client_key, settings.login_client_max_failures),
        ],
        window=timedelta(seconds=settings.login_window_seconds),
    )
    if retry_after is not None:
        raise TooManyRequests("Too many failed sign-ins; try again later.", retry_after=retry_after)
    user = await session.scalar(select(User).where(User.login == login))
    ok = await passwords.verify(user.password_hash if user else None, password=password)
    if user is None or not ok or user.disabled_at is not None:
        raise _invalid_grant("The username or password is wrong.", keep_changes=True)
    # The owner proved who they are: their earlier slips are forgotten, and a success is no
    # failure of the address (a clinic behind one address signs in all day).
    await throttle.clear(session, key=account_key)
    await throttle.give_back(session, key=client_key)
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
    session: AsyncSession,
    *,
    keys: TokenKeys,
    client_id: str,
    client_secret: str,
    basic: bool = False,
) -> TokenResponse:
    """A device's token; `basic`: its credentials came in HTTP Basic (a refusal then asks for
    them again there, RFC 6749 5.2)."""
    device = await session.scalar(select(Device).where(Device.client_id == client_id))
    # Compare digests of equal length; the secret is random, so no timing oracle on a password.
    if (
        device is None
        or device.revoked_at is not None
        or device.secret_hash != credentials.digest(client_secret)
    ):
        asked = {"headers": {"WWW-Authenticate": 'Basic realm="access-rpm"'}} if basic else {}
        raise Unauthorized("Unknown client or wrong secret.", error="invalid_client", **asked)
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
        family_id=device.secret_id,  # a rotated secret's tokens stop with it
    )
    return TokenResponse(access_token=access, expires_in=int(keys.access_ttl.total_seconds()))


async def activate(
    session: AsyncSession,
    *,
    keys: TokenKeys,
    passwords: Passwords,
    settings: Settings,
    body: ActivateRequest,
) -> ActivateResponse:
    """Redeem a one-time code: a new patient's activation, or an access code staff issued to a
    patient who lost access (a new password; every earlier sign-in of theirs ends)."""
    code_hash = credentials.digest(credentials.normalize_activation_code(body.code))
    now = utcnow()
    patient = await session.scalar(
        select(Patient).where(
            Patient.activation_code_hash == code_hash, Patient.activation_expires_at > now
        )
    )
    if patient is None:
        raise _invalid_code()
    user = await session.scalar(select(User).where(User.patient_id == patient.id))
    login = body.email or (user.login if user is not None else None)
    password_policy.ensure_fits_login(body.password, email=login, activation_code=body.code)
    code_key = throttle.activation_code(code_hash)
    if body.email is not None and (user is None or body.email != user.email):
        await _ensure_email_free(session, settings=settings, email=body.email, code_key=code_key)
    # Clearing the code in the same conditional update makes it one-time under concurrency.
    claimed = await session.execute(
        update(Patient)
        .where(Patient.id == patient.id, Patient.activation_code_hash == code_hash)
        .values(
            activated_at=func.coalesce(Patient.activated_at, now),
            activation_code_hash=None,
            activation_expires_at=None,
        )
        .returning(Patient.id)
    )
    if claimed.scalar_one_or_none() is None:
        raise _invalid_code()
    await throttle.clear(session, key=code_key)
    password_hash = await passwords.hash(body.password)
    if user is None:
        user = User(
            organization_id=patient.organization_id,
            role="patient",
            email=body.email,
            password_hash=password_hash,
            patient_id=patient.id,
        )
        session.add(user)
    else:
        user.password_hash = password_hash
        if body.email is not None:
            user.email = user.login = body.email
        await end_sessions(session, user_id=user.id, at=now)
    await flush_or_conflict(session, detail=EMAIL_UNAVAILABLE)
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
    tokens = await issue_for_user(session, keys=keys, user=user)
    return ActivateResponse(**tokens.model_dump(), login=user.login)


def _invalid_code() -> Unauthorized:
    return Unauthorized(
        "The code is wrong, used or expired; ask your care team for a new one.",
        error="InvalidCode",
    )


async def _ensure_email_free(
    session: AsyncSession, *, settings: Settings, email: str, code_key: str
) -> None:
    """409 when the email is taken. Each email tried with a code is counted before it is
    looked up, so one code answers "cannot be used" a handful of times, not for a whole list
    of emails."""
    retry_after = await throttle.reserve(
        session,
        limits=[throttle.Limit(code_key, settings.login_max_failures)],
        window=timedelta(days=settings.activation_ttl_days),
    )
    if retry_after is not None:
        raise TooManyRequests(
            "Too many emails were refused with this code; ask your care team for a new one.",
            retry_after=retry_after,
        )
    taken = await session.scalar(select(func.count()).where(User.login == email))
    if taken:
        raise Conflict(EMAIL_UNAVAILABLE, keep_changes=True)


async def end_sessions(
    session: AsyncSession, *, user_id: uuid.UUID, at: datetime, keep: uuid.UUID | None = None
) -> None:
    """Revoke every sign-in of the user but `keep`: their access tokens stop at once."""
    statement = update(RefreshToken).where(
        RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None)
    )
    if keep is not None:
        statement = statement.where(RefreshToken.family_id != keep)
    await session.execute(statement.values(revoked_at=at))


async def change_password(
    session: AsyncSession,
    *,
    principal: Principal,
    passwords: Passwords,
    settings: Settings,
    body: PasswordChange,
    client: str,
) -> None:
    """A person sets a new password with their current one; their other sign-ins end. A wrong
    current password is 403 `WrongPassword` and counts as a failed sign-in of the account (a
    stolen access token cannot guess it faster than a sign-in could)."""
    user = await session.get(User, principal.id)
    assert user is not None  # the principal was loaded from it
    account_key = throttle.account_at_client(user.login, client)
    retry_after = await throttle.reserve(
        session,
        limits=[throttle.Limit(account_key, settings.login_max_failures)],
        window=timedelta(seconds=settings.login_window_seconds),
    )
    if retry_after is not None:
        raise TooManyRequests("Too many wrong passwords; try again later.", retry_after=retry_after)
    if not await passwords.verify(user.password_hash, password=body.current_password):
        # 403, not 422: the request is well formed; the caller failed to prove who they are.
        message = "is not your current password"
        raise Forbidden(
            f"The current_password {message}.",
            error="WrongPassword",
            fields=[FieldError(path="current_password", message=message)],
            keep_changes=True,
        )
    password_policy.ensure_fits_login(body.new_password, email=user.login, field="new_password")
    await throttle.clear(session, key=account_key)
    user.password_hash = await passwords.hash(body.new_password)
    await end_sessions(session, user_id=user.id, at=utcnow(), keep=principal.session_id)
    if user.patient_id is not None:  # the trail is of patients' data and accounts
        audit_service.record(
            session,
            principal=principal,
            organization_id=user.organization_id,
            patient_id=user.patient_id,
            action="update",
            resource_type="account",
            resource_id=user.id,
        )
