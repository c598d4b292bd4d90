from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from pydantic import ValidationError

from app.auth import service as auth_service
from app.auth.dependencies import (
    ClientAddressDep,
    CurrentPrincipal,
    PasswordsDep,
    SettingsDep,
    TokenKeysDep,
)
from app.auth.schemas import (
    ActivateRequest,
    MeRead,
    RevokeRequest,
    RevokeResponse,
    TokenResponse,
)
from app.db import SessionDep
from app.errors import BadRequest, error_responses

router = APIRouter(prefix="/v1", tags=["auth"])

OptionalForm = Annotated[str | None, Form(max_length=4096)]


def _missing(*names: str) -> BadRequest:
    return BadRequest(f"This grant requires: {', '.join(names)}.", error="invalid_request")


@router.post("/auth/token", responses=error_responses(429))
async def issue_token(
    response: Response,
    session: SessionDep,
    keys: TokenKeysDep,
    passwords: PasswordsDep,
    settings: SettingsDep,
    client: ClientAddressDep,
    grant_type: OptionalForm = None,
    username: OptionalForm = None,
    password: OptionalForm = None,
    refresh_token: OptionalForm = None,
    client_id: OptionalForm = None,
    client_secret: OptionalForm = None,
) -> TokenResponse:
    """OAuth 2.0 token endpoint (form-encoded): password, refresh_token, client_credentials."""
    response.headers["Cache-Control"] = "no-store"
    if grant_type == "password":
        if not username or not password:
            raise _missing("username", "password")
        return await auth_service.password_grant(
            session,
            keys=keys,
            passwords=passwords,
            settings=settings,
            email=username,
            password=password,
            client=client,
        )
    if grant_type == "refresh_token":
        if not refresh_token:
            raise _missing("refresh_token")
        return await auth_service.refresh_grant(session, keys=keys, refresh_token=refresh_token)
    if grant_type == "client_credentials":
        if not client_id or not client_secret:
            raise _missing("client_id", "client_secret")
        return await auth_service.client_credentials_grant(
            session, keys=keys, client_id=client_id, client_secret=client_secret
        )
    raise BadRequest(
        "grant_type must be password, refresh_token or client_credentials.",
        error="unsupported_grant_type",
    )


@router.post(
    "/auth/revoke",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": RevokeRequest.model_json_schema()},
                "application/x-www-form-urlencoded": {"schema": RevokeRequest.model_json_schema()},
            }
        }
    },
)
async def revoke_token(request: Request, session: SessionDep, keys: TokenKeysDep) -> RevokeResponse:
    """Revoke a refresh token and its rotations (logout); unknown tokens are accepted too."""
    token = await _revoke_token_param(request)
    if token:
        await auth_service.revoke(session, keys=keys, token=token)
    return RevokeResponse()


async def _revoke_token_param(request: Request) -> str | None:
    """`token` from a JSON body (`{"token": ...}`) or, as RFC 7009 clients send it, a form."""
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        value = (await request.form()).get("token")
        return value if isinstance(value, str) else None
    try:
        body = RevokeRequest.model_validate_json(await request.body() or b"{}")
    except ValidationError:
        raise BadRequest('Send {"token": "<refresh token>"}.', error="invalid_request") from None
    return body.token


@router.post("/auth/activate", responses=error_responses(409, 429))
async def activate(
    body: ActivateRequest,
    response: Response,
    session: SessionDep,
    keys: TokenKeysDep,
    passwords: PasswordsDep,
    settings: SettingsDep,
) -> TokenResponse:
    """A new patient sets a password with their one-time code and is signed in."""
    response.headers["Cache-Control"] = "no-store"
    return await auth_service.activate(
        session, keys=keys, passwords=passwords, settings=settings, body=body
    )


@router.get("/me")
async def me(principal: CurrentPrincipal) -> MeRead:
    """Who the token belongs to."""
    return MeRead(
        id=principal.id,
        role=principal.role,
        organization_id=principal.organization_id,
        patient_id=principal.patient_id,
        email=principal.email,
    )
