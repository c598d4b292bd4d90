"""Who is calling: the bearer token resolved to a Principal, and role guards.

Guards are callable objects that keep their allowed roles in `.roles`, so the authorization
matrix test can read every route's policy from the app itself.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Uuid, bindparam, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.client_address import client_address, trusted_networks
from app.auth.models import RefreshToken, User
from app.auth.passwords import Passwords
from app.auth.principal import STAFF, Principal, Role
from app.auth.tokens import TokenError, TokenKeys, decode_access
from app.config import Settings
from app.db import SessionDep
from app.devices.models import Device
from app.errors import Forbidden, Unauthorized
from app.patients.models import Patient

bearer = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_token_keys(request: Request) -> TokenKeys:
    keys: TokenKeys = request.app.state.token_keys
    return keys


def get_passwords(request: Request) -> Passwords:
    passwords: Passwords = request.app.state.passwords
    return passwords


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
TokenKeysDep = Annotated[TokenKeys, Depends(get_token_keys)]
PasswordsDep = Annotated[Passwords, Depends(get_passwords)]


def get_client_address(request: Request, settings: SettingsDep) -> str:
    """Who is calling, as an address to throttle by (`auth/client_address.py`)."""
    return client_address(
        request.client.host if request.client else None,
        request.headers.getlist("x-forwarded-for"),
        trusted=trusted_networks(tuple(settings.trusted_proxies)),
    )


ClientAddressDep = Annotated[str, Depends(get_client_address)]


# A user's access token names its sign-in (`fam`, the refresh family). The sign-in lasts while
# a token of the family is unrevoked; logout and refresh-token reuse revoke them all, so the
# access tokens stop with them, not up to 15 minutes later (OWASP Session Management Cheat
# Sheet, "Session Expiration"). Asked in the query that loads the account: no extra round
# trip. Only a holder of the signing key can make a token without `fam` (the service's tools
# mint them); such a token is not tied to a sign-in and runs until it expires.
_FAMILY = bindparam("fam", type_=Uuid)
_SIGNED_IN = or_(
    _FAMILY.is_(None),
    exists().where(RefreshToken.family_id == _FAMILY, RefreshToken.revoked_at.is_(None)),
).label("signed_in")

# Built once: composing them on every request cost about as much as running them.
_DEVICE_AND_PATIENT = (
    select(Device, Patient)
    .join(Patient, Patient.id == Device.patient_id)
    .where(Device.id == bindparam("id"))
)
_USER_AND_PATIENT = (
    select(User, Patient, _SIGNED_IN)
    .join(Patient, Patient.id == User.patient_id)
    .where(User.id == bindparam("id"))
)
_USER = select(User, _SIGNED_IN).where(User.id == bindparam("id"))


async def get_principal(
    session: SessionDep, keys: TokenKeysDep, token: Annotated[str | None, Depends(bearer)]
) -> Principal:
    if not token:
        raise Unauthorized()
    try:
        claims = decode_access(keys, token=token)
    except TokenError:
        raise Unauthorized("The access token is invalid or expired.") from None
    # Checked against the database on every request so a revoked device or a disabled account
    # loses access at once, not when its token expires. A patient's or device's own patient
    # row is loaded in the same query (reach then finds it in the session, no second query).
    if claims.role == "device":
        found = (await session.execute(_DEVICE_AND_PATIENT, {"id": claims.subject})).first()
        device = found[0] if found else None
        _keep_in_session(session, found)
        if (
            device is None
            or device.revoked_at is not None
            or device.patient_id != claims.patient_id
        ):
            raise Unauthorized("The device's credentials were revoked.")
        if device.secret_id != claims.family_id:
            raise Unauthorized("The device's secret was replaced; get a token with the new one.")
        return Principal(
            id=device.id,
            role="device",
            organization_id=claims.organization_id,
            patient_id=device.patient_id,
        )
    statement = _USER_AND_PATIENT if claims.role == "patient" else _USER
    row = (
        await session.execute(statement, {"id": claims.subject, "fam": claims.family_id})
    ).first()
    _keep_in_session(session, row)
    user = row[0] if row else None
    if row is None or user is None or user.disabled_at is not None or user.role != claims.role:
        raise Unauthorized("The account is not active.")
    if not row.signed_in:
        raise Unauthorized("This session was signed out; sign in again.")
    return Principal(
        id=user.id,
        role=claims.role,  # type: ignore[arg-type]  # checked equal to user.role above
        organization_id=user.organization_id,
        patient_id=user.patient_id,
        email=user.email,
        login=user.login,
        session_id=claims.family_id,
    )


def _keep_in_session(session: AsyncSession, row: object) -> None:
    # The identity map holds objects weakly: without a reference they would be gone when this
    # function returns, and the route's `session.get` would query them again.
    if row is not None:
        session.info.setdefault("principal_rows", []).append(row)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


class RequireRole:
    """Lets the call through only for the given roles (403 otherwise)."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, principal: CurrentPrincipal) -> Principal:
        ensure_role(principal, roles=self.roles)
        return principal


def ensure_role(principal: Principal, *, roles: frozenset[str]) -> None:
    if principal.role not in roles:
        allowed = ", ".join(sorted(roles))
        raise Forbidden(f"This action is for the roles: {allowed}.")


CurrentStaff = Annotated[Principal, Depends(RequireRole(*STAFF))]
CurrentAdmin = Annotated[Principal, Depends(RequireRole("admin"))]
