"""Typed errors and the one place that renders every error as `{error, detail, fields?}`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.field_messages import declared_bounds, field_message


class FieldError(BaseModel):
    path: str
    message: str


class ErrorBody(BaseModel):
    error: str
    detail: str
    fields: list[FieldError] | None = None


class AppError(Exception):
    status_code = 500
    error = "InternalError"

    def __init__(
        self,
        detail: str,
        *,
        fields: Sequence[FieldError] | None = None,
        headers: Mapping[str, str] | None = None,
        error: str | None = None,
        keep_changes: bool = False,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        # True when what the request wrote must stay although it answers with this error
        # (a failed login is counted, a reused refresh token revokes its family).
        self.keep_changes = keep_changes
        self.fields = list(fields) if fields else None
        self.headers = dict(headers or {})
        if error is not None:
            self.error = error


class BadRequest(AppError):
    status_code = 400
    error = "BadRequest"


class Unauthorized(AppError):
    status_code = 401
    error = "Unauthorized"

    def __init__(self, detail: str = "A valid bearer token is required.", **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kw)


class Forbidden(AppError):
    status_code = 403
    error = "Forbidden"


class NotFound(AppError):
    status_code = 404
    error = "NotFound"

    def __init__(self, detail: str = "Not found.", **kw: Any) -> None:
        super().__init__(detail, **kw)


class Conflict(AppError):
    status_code = 409
    error = "Conflict"


class PayloadTooLarge(AppError):
    status_code = 413
    error = "PayloadTooLarge"


class Invalid(AppError):
    status_code = 422
    error = "ValidationError"


class TooManyRequests(AppError):
    status_code = 429
    error = "TooManyRequests"

    def __init__(self, detail: str, *, retry_after: int, **kw: Any) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))}, **kw)


class ServiceUnavailable(AppError):
    status_code = 503
    error = "ServiceUnavailable"


HTTP_ERROR_CODES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "ValidationError",
    429: "TooManyRequests",
    503: "ServiceUnavailable",
}

# Documented on every route so clients (and schemathesis) know the error shape.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": HTTP_ERROR_CODES[code]}
    for code in (400, 401, 403, 404, 413, 422)
}


def error_response(
    status_code: int,
    *,
    error: str,
    detail: str,
    fields: Sequence[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(error=error, detail=detail, fields=list(fields) if fields else None)
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status_code, headers=dict(headers or {})
    )


def field_path(loc: Sequence[int | str]) -> str:
    """`("body", "readings", 3, "systolic")` -> `readings.3.systolic` (query, path keep theirs)."""
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _app_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return error_response(
        exc.status_code, error=exc.error, detail=exc.detail, fields=exc.fields, headers=exc.headers
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(
            400, error="MalformedJSON", detail="The request body is not valid JSON."
        )
    route = request.scope.get("route")
    fields = [
        FieldError(
            path=field_path(e.get("loc", ())),
            message=field_message(e, declared=declared_bounds(route, e.get("loc", ()))),
        )
        for e in errors
    ]
    summary = "; ".join(f"{f.path}: {f.message}" for f in fields[:3])
    return error_response(
        422, error="ValidationError", detail=f"Invalid request: {summary}", fields=fields
    )


# The methods a route can have (RFC 9110 section 9, and PATCH of RFC 5789).
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")


def allowed_methods(request: Request) -> str:
    """The `Allow` of a 405: every method some route answers at the request's path.

    Starlette names only the first matching route's methods, but one path is often served by
    several routes (GET and POST `/v1/patients`), and RFC 9110 (15.5.6) asks for all of them.
    Each method is tried against the routes' own `matches`, so path convertors (`:uuid`) and
    included routers count exactly as they do when routing.
    """
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]
    return ", ".join(allowed)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_ERROR_CODES.get(exc.status_code, "Error")
    detail = exc.detail if isinstance(exc.detail, str) else code
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    return error_response(exc.status_code, error=code, detail=detail, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for route-specific error statuses."""
    return {code: {"model": ErrorBody, "description": HTTP_ERROR_CODES[code]} for code in codes}
