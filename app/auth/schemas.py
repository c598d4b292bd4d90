from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

from app.schemas import NO_CONTROL_PATTERN, Email, Password, StrictModel


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105  (the OAuth token type, not a secret)
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str | None = None


class ActivateRequest(StrictModel):
    code: str = Field(min_length=4, max_length=32, description="The one-time activation code.")
    password: Password
    email: Email | None = Field(
        None, description="Optional: lets the patient sign in later with email and password."
    )


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
