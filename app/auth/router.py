from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response, status
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import ValidationError, WithJsonSchema
from starlette.requests import HTTPConnection

from app.auth import service as auth_service
from app.auth.dependencies import (
    ClientAddressDep,
    CurrentPrincipal,
    PasswordsDep,
    RequireRole,
    SettingsDep,
    TokenKeysDep,
)
from app.auth.principal import PEOPLE, Principal
from app.auth.schemas import (
    REVOKE_LIMITS,
    ActivateRequest,
    ActivateResponse,
    MeRead,
    PasswordChange,
    RevokeRequest,
    RevokeResponse,
    TokenResponse,
)
from app.db import SessionDep
from app.errors import BadRequest, FieldError, Unauthorized, error_responses
from app.schemas import CONTROL_CHAR, NO_CONTROL_PATTERN

router = APIRouter(prefix="/v1", tags=["auth"])

# The longest value of each token form field. A malformed field is a 400 `invalid_request`
# (RFC 6749 section 5.2), not FastAPI's 422: the limits are declared in the schema here and
# enforced by `_refuse_malformed`. `username` is an email (320) or a generated login; `client_id`
# is a device's (64, app/auth/credentials.py).
FORM_LIMITS = {
    "grant_type": 64,
    "username": 320,
    "password": 4096,
    "refresh_token": 4096,
    "client_id": 64,
    "client_secret": 256,
    **REVOKE_LIMITS,
}


def _declared(name: str) -> WithJsonSchema:
    schema: dict[str, Any] = {"type": "string", "maxLength": FORM_LIMITS[name]}
    if name != "password":
        schema["pattern"] = NO_CONTROL_PATTERN
    return WithJsonSchema(schema)


GrantTypeForm = Annotated[Annotated[str, _declared("grant_type")] | None, Form()]
UsernameForm = Annotated[Annotated[str, _declared("username")] | None, Form()]
PasswordForm = Annotated[Annotated[str, _declared("password")] | None, Form()]
RefreshTokenForm = Annotated[Annotated[str, _declared("refresh_token")] | None, Form()]
ClientIdForm = Annotated[Annotated[str, _declared("client_id")] | None, Form()]
ClientSecretForm = Annotated[Annotated[str, _declared("client_secret")] | None, Form()]


def _refuse_malformed(form: dict[str, str | None]) -> None:
    """400 `invalid_request` naming each field that is too long or holds a control character
    (NUL and the like: lookups would fail on PostgreSQL); a password may hold any character."""
    problems = []
    for name, value in form.items():
        if value is None:
            continue
        if len(value) > FORM_LIMITS[name]:
            problems.append(
                FieldError(path=name, message=f"must be at most {FORM_LIMITS[name]} characters")
            )
        elif name != "password" and CONTROL_CHAR.search(value):
            problems.append(FieldError(path=name, message="must not contain control characters"))
    if problems:
        summary = "; ".join(f"{p.path} {p.message}" for p in problems)
        raise BadRequest(f"Malformed request: {summary}.", error="invalid_request", fields=problems)


def _missing(*names: str) -> BadRequest:
    return BadRequest(f"This grant requires: {', '.join(names)}.", error="invalid_request")


# RFC 6749 2.3.1: a client may authenticate with HTTP Basic (its id and secret, each
# form-encoded) instead of form fields; both at once is refused.
class _ClientBasic(HTTPBasic):
    """HTTP Basic as the token endpoint reads it: a header that is not valid Basic is the
    client's failed authentication (`invalid_client`), not FastAPI's generic 401."""

    async def __call__(  # type: ignore[override]  # as HTTPBasic's own override
        self, request: HTTPConnection
    ) -> HTTPBasicCredentials | None:
        try:
            return await super().__call__(request)
        except HTTPException:
            raise Unauthorized(
                "The Authorization header is not valid HTTP Basic (client_id:client_secret).",
                error="invalid_client",
                headers={"WWW-Authenticate": 'Basic realm="access-rpm"'},
            ) from None


_basic = _ClientBasic(auto_error=False, description="Devices: client_id and client_secret.")


def _basic_client(credentials: HTTPBasicCredentials | None) -> tuple[str, str] | None:
    if credentials is None:
        return None
    return unquote_plus(credentials.username), unquote_plus(credentials.password)


@router.post("/auth/token", responses=error_responses(429))
async def issue_token(
    response: Response,
    session: SessionDep,
    keys: TokenKeysDep,
    passwords: PasswordsDep,
    settings: SettingsDep,
    client: ClientAddressDep,
    request: Request,
    grant_type: GrantTypeForm = None,
    username: UsernameForm = None,
    password: PasswordForm = None,
    refresh_token: RefreshTokenForm = None,
    client_id: ClientIdForm = None,
    client_secret: ClientSecretForm = None,
) -> TokenResponse:
    """OAuth 2.0 token endpoint (form-encoded): password, refresh_token, client_credentials.

    A client may send its `client_id` and `client_secret` in an HTTP Basic `Authorization`
    header instead of the form (RFC 6749 2.3.1)."""
    response.headers["Cache-Control"] = "no-store"
    # Read here rather than declared as the operation's security: the endpoint also serves
    # callers who send no Authorization header at all, which a declared scheme would deny.
    from_header = _basic_client(await _basic(request))
    if from_header is not None:
        if client_id is not None or client_secret is not None:
            raise BadRequest(
                "Send the client's credentials once: in the Authorization header or in the form.",
                error="invalid_request",
            )
        client_id, client_secret = from_header
    _refuse_malformed(
        {
            "grant_type": grant_type,
            "username": username,
            "password": password,
            "refresh_token": refresh_token,
            "client_id": client_id,
            "client_secret": client_secret,
        }
    )
    if grant_type == "password":
        if not username or not password:
            raise _missing("username", "password")
        return await auth_service.password_grant(
            session,
            keys=keys,
            passwords=passwords,
            settings=settings,
            login=username,
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
            session,
            keys=keys,
            client_id=client_id,
            client_secret=client_secret,
            basic=from_header is not None,
        )
    raise BadRequest(
        "grant_type must be password, refresh_token or client_credentials.",
        error="unsupported_grant_type",
    )


# As a form (RFC 7009), unknown parameters are ignored, as at the token endpoint (RFC 6749, 3.2:
# "MUST ignore unrecognized request parameters"); as JSON, like every JSON body, they are refused.
_REVOKE_JSON = RevokeRequest.model_json_schema()
_REVOKE_FORM = {key: value for key, value in _REVOKE_JSON.items() if key != "additionalProperties"}


@router.post(
    "/auth/revoke",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": _REVOKE_JSON},
                "application/x-www-form-urlencoded": {"schema": _REVOKE_FORM},
            }
        }
    },
    responses=error_responses(400),
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
        form = await request.form()
        values = {name: form.get(name) for name in REVOKE_LIMITS}
        fields = {name: value if isinstance(value, str) else None for name, value in values.items()}
        _refuse_malformed(fields)
        return fields["token"]
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
) -> ActivateResponse:
    """A patient sets a password with a one-time code (activation or access code) and is
    signed in."""
    response.headers["Cache-Control"] = "no-store"
    return await auth_service.activate(
        session, keys=keys, passwords=passwords, settings=settings, body=body
    )


@router.post(
    "/auth/password", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(403, 429)
)
async def change_password(
    body: PasswordChange,
    principal: Annotated[Principal, Depends(RequireRole(*PEOPLE))],
    session: SessionDep,
    passwords: PasswordsDep,
    settings: SettingsDep,
    client: ClientAddressDep,
) -> Response:
    """Change your password; your other sign-ins end (this one goes on)."""
    await auth_service.change_password(
        session,
        principal=principal,
        passwords=passwords,
        settings=settings,
        body=body,
        client=client,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me")
async def me(principal: CurrentPrincipal) -> MeRead:
    """Who the token belongs to."""
    return MeRead(
        id=principal.id,
        role=principal.role,
        organization_id=principal.organization_id,
        patient_id=principal.patient_id,
        email=principal.email,
        login=principal.login,
    )
