"""JWTs: HS256 pinned, issuer and audience checked, one audience per purpose.

An access token is only accepted with the access audience, so a refresh token can never stand in
for one (and vice versa). Expiry, issue time and subject are required claims. A user's access
token also names the refresh family of its sign-in (`fam`), so signing out ends it at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from app.clock import utcnow

ALGORITHM = "HS256"
ACCESS_AUDIENCE = "access-rpm:access"
REFRESH_AUDIENCE = "access-rpm:refresh"


@dataclass(frozen=True)
class TokenKeys:
    secret: str
    issuer: str
    access_ttl: timedelta
    refresh_ttl: timedelta


class TokenError(Exception):
    """The token is not valid for this purpose."""


@dataclass(frozen=True)
class AccessClaims:
    subject: uuid.UUID
    role: str
    organization_id: uuid.UUID
    patient_id: uuid.UUID | None
    # The sign-in (refresh family) the token was issued for; devices have none.
    family_id: uuid.UUID | None = None


def encode_access(
    keys: TokenKeys,
    *,
    subject: uuid.UUID,
    role: str,
    organization_id: uuid.UUID,
    patient_id: uuid.UUID | None,
    family_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> str:
    issued = now or utcnow()
    claims: dict[str, object] = {
        "iss": keys.issuer,
        "aud": ACCESS_AUDIENCE,
        "sub": str(subject),
        "role": role,
        "org": str(organization_id),
        "iat": issued,
        "exp": issued + keys.access_ttl,
        "jti": uuid.uuid4().hex,
    }
    if patient_id is not None:
        claims["pid"] = str(patient_id)
    if family_id is not None:
        claims["fam"] = str(family_id)
    return jwt.encode(claims, keys.secret, algorithm=ALGORITHM)


def encode_refresh(
    keys: TokenKeys, *, token_id: uuid.UUID, user_id: uuid.UUID, expires_at: datetime
) -> str:
    claims = {
        "iss": keys.issuer,
        "aud": REFRESH_AUDIENCE,
        "sub": str(user_id),
        "jti": str(token_id),
        "iat": utcnow(),
        "exp": expires_at,
    }
    return jwt.encode(claims, keys.secret, algorithm=ALGORITHM)


def _decode(keys: TokenKeys, token: str, audience: str) -> dict[str, object]:
    try:
        claims: dict[str, object] = jwt.decode(
            token,
            keys.secret,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=keys.issuer,
            # Expiry is checked below against the service's clock (`app.clock`), the one
            # "now" of the whole service, rather than the library's own.
            options={
                "require": ["exp", "iat", "iss", "aud", "sub", "jti"],
                "verify_exp": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise TokenError(str(exc)) from exc
    expires = claims.get("exp")
    if not isinstance(expires, int | float) or expires <= utcnow().timestamp():
        raise TokenError("Signature has expired")
    return claims


def decode_access(keys: TokenKeys, *, token: str) -> AccessClaims:
    claims = _decode(keys, token, ACCESS_AUDIENCE)
    try:
        pid = claims.get("pid")
        fam = claims.get("fam")
        return AccessClaims(
            subject=uuid.UUID(str(claims["sub"])),
            role=str(claims["role"]),
            organization_id=uuid.UUID(str(claims["org"])),
            patient_id=uuid.UUID(str(pid)) if pid is not None else None,
            family_id=uuid.UUID(str(fam)) if fam is not None else None,
        )
    except (KeyError, ValueError) as exc:
        raise TokenError("malformed claims") from exc


def decode_refresh(keys: TokenKeys, *, token: str) -> tuple[uuid.UUID, uuid.UUID]:
    """The (token id, user id) of a valid refresh token."""
    claims = _decode(keys, token, REFRESH_AUDIENCE)
    try:
        return uuid.UUID(str(claims["jti"])), uuid.UUID(str(claims["sub"]))
    except ValueError as exc:
        raise TokenError("malformed claims") from exc
