from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.schemas import NO_CONTROL_PATTERN, Email, Password, StrictModel


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105  (the OAuth token type, not a secret)
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str | None = None


class ActivateRequest(StrictModel):
    code: str = Field(
        min_length=4,
        max_length=32,
        description="The one-time activation code, or an access code staff issued later.",
    )
    password: Password
    email: Email | None = Field(
        None,
        description="Optional: the patient then signs in with this email; without one, with the"
        " username in `login`.",
    )


class ActivateResponse(TokenResponse):
    login: str = Field(
        description="The name to sign in with from now on (the password grant's `username`):"
        " the email given, or a username the service generated (also in `/v1/me`)."
    )


class PasswordChange(StrictModel):
    current_password: str = Field(min_length=1, max_length=128)
    new_password: Password


class AccessCode(BaseModel):
    code: str = Field(description="One-time code; the patient enters it to set a new password.")
    expires_at: datetime


# The longest token and hint the revocation endpoint takes (RFC 7009), as JSON or as a form.
REVOKE_LIMITS = {"token": 4096, "token_type_hint": 64}


class RevokeRequest(StrictModel):
    token: str | None = Field(
        None,
        max_length=REVOKE_LIMITS["token"],
        pattern=NO_CONTROL_PATTERN,
        description="The refresh token to revoke.",
    )
    token_type_hint: str | None = Field(
        None,
        max_length=REVOKE_LIMITS["token_type_hint"],
        pattern=NO_CONTROL_PATTERN,
        description="RFC 7009's hint (`refresh_token`); accepted and ignored.",
    )


class RevokeResponse(BaseModel):
    revoked: bool = True


class MeRead(BaseModel):
    id: uuid.UUID
    role: Literal["admin", "clinician", "patient", "device"]
    organization_id: uuid.UUID
    patient_id: uuid.UUID | None = None
    email: str | None = None
    login: str | None = Field(
        None, description="The name a person signs in with (the email, or a generated username)."
    )
