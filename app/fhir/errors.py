"""Errors under /fhir answer as FHIR OperationOutcomes, with the status the error carries.

Invariants:
- every error on a /fhir path (an `AppError` of a service or guard, a search parameter FastAPI
  refused, an unknown path or method) is an OperationOutcome in `application/fhir+json`; the
  rest of the API keeps its `{error, detail, fields?}` (`app/errors.py`), whose handlers these
  wrap and call for every other path;
- a refused search parameter is named in the issue's `diagnostics` and in its `expression`
  (the parameter's name), so a client can tell which one to fix;
- the headers the error carries (`WWW-Authenticate`, `Retry-After`, a 405's `Allow`) are kept,
  and every answer is `Cache-Control: no-store`, as patient data must be.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.resource import Resource
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.errors import AppError, BadRequest, FieldError, allowed_methods
from app.field_messages import declared_bounds, field_message

FHIR_JSON = "application/fhir+json"
PREFIX = "/fhir"
NO_STORE = {"Cache-Control": "no-store"}

# The OperationOutcome issue type (http://hl7.org/fhir/issue-type) of each status.
ISSUE_TYPES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    413: "too-long",
    422: "processing",
    429: "throttled",
    503: "transient",
}
# A search parameter whose value names a format the server does not produce.
FORMAT_PARAMETER = "_format"


class NotAcceptable(AppError):
    status_code = 406
    error = "NotAcceptable"


def bad_parameter(name: str, message: str) -> AppError:
    """A 400 naming the search parameter `name`."""
    return BadRequest(
        f"Search parameter {name}: {message}.", fields=[FieldError(path=name, message=message)]
    )


def fhir_response(
    resource: Resource, *, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A resource serialized by its model (the library's JSON), as `application/fhir+json`."""
    return Response(
        resource.model_dump_json().encode(),
        status_code=status_code,
        media_type=FHIR_JSON,
        headers={**NO_STORE, **(headers or {})},
    )


def bundle_response(bundle: Mapping[str, Any]) -> Response:
    """A Bundle the models validated (`bundles.searchset`), written as it validated."""
    return Response(orjson.dumps(bundle), media_type=FHIR_JSON, headers=NO_STORE)


def printable(text: str, *, limit: int = 1000) -> str:
    """`text` as a FHIR string may hold it: a character that is not printable (a control
    character, a line separator, a space other than ' ', which a client may have sent in a
    parameter's name) is shown as '?'."""
    return "".join(c if c.isprintable() else "?" for c in text[:limit])


def operation_outcome(
    status_code: int, diagnostics: str, *, parameters: Sequence[str] = ()
) -> OperationOutcome:
    issue: dict[str, Any] = {
        "severity": "error",
        "code": ISSUE_TYPES.get(status_code, "exception"),
        "diagnostics": printable(diagnostics) or "Refused.",
    }
    named = [printable(name, limit=100) for name in parameters if name.strip()]
    if named:
        issue["expression"] = named
    return OperationOutcome.model_validate({"resourceType": "OperationOutcome", "issue": [issue]})


def outcome_response(
    status_code: int,
    diagnostics: str,
    *,
    parameters: Sequence[str] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    return fhir_response(
        operation_outcome(status_code, diagnostics, parameters=parameters),
        status_code=status_code,
        headers=headers,
    )


def is_fhir(request: Request) -> bool:
    return is_fhir_path(request.url.path)


def is_fhir_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def _parameter(path: str) -> str:
    """`query._count` -> `_count`: the name a client sent."""
    for location in ("query.", "path.", "header."):
        if path.startswith(location):
            return path[len(location) :]
    return path


def _app_error(exc: AppError) -> Response:
    fields: Sequence[FieldError] = exc.fields or ()
    return outcome_response(
        exc.status_code,
        exc.detail,
        parameters=[_parameter(f.path) for f in fields],
        headers=exc.headers,
    )


def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    """A search parameter FastAPI refused: 400 naming it (406 for a `_format` not served)."""
    route = request.scope.get("route")
    names: list[str] = []
    messages: list[str] = []
    for error in exc.errors():
        loc = tuple(error.get("loc", ()))
        name = str(loc[1]) if len(loc) > 1 else ".".join(str(part) for part in loc)
        names.append(name)
        messages.append(f"{name} {field_message(error, declared=declared_bounds(route, loc))}")
    if FORMAT_PARAMETER in names:
        return outcome_response(
            406, "This server answers in JSON only (_format json).", parameters=[FORMAT_PARAMETER]
        )
    return outcome_response(400, f"Invalid search: {'; '.join(messages)}.", parameters=names)


def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    detail = exc.detail if isinstance(exc.detail, str) else "Error."
    if exc.status_code == 404:
        detail = "This server has no such resource or interaction under /fhir."
    return outcome_response(exc.status_code, detail, headers=headers)


Handler = Callable[[Request, Exception], Awaitable[Response] | Response]


def _scoped(fallback: Handler) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, exc: Exception) -> Response:
        if is_fhir(request):
            if isinstance(exc, AppError):
                return _app_error(exc)
            if isinstance(exc, RequestValidationError):
                return _validation_error(request, exc)
            if isinstance(exc, StarletteHTTPException):
                return _http_error(request, exc)
        answer = fallback(request, exc)
        return await answer if isinstance(answer, Awaitable) else answer

    return handle


def install_error_handlers(app: FastAPI) -> None:
    """Answer errors under /fhir as OperationOutcomes; call after `app.errors`' handlers are
    installed, which these wrap (every other path is answered by them, unchanged)."""
    for kind in (AppError, RequestValidationError, StarletteHTTPException):
        fallback: Handler = app.exception_handlers[kind]
        app.add_exception_handler(kind, _scoped(fallback))
