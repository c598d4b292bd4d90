"""Pure ASGI middleware: request ids, no caching of API answers, the body-size limit, metrics,
last-resort 500s, and CORS for the configured browser origins.

Pure ASGI (not BaseHTTPMiddleware) so request bodies stream untouched and context variables set
here are visible to the route.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import error_response
from app.fhir.errors import is_fhir_path, outcome_response
from app.logs import describe

log = logging.getLogger("access_rpm")

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Every /v1 and /fhir answer (patient data, alerts, the worklist, attainment, tokens; errors
# too) is `Cache-Control: no-store`: no browser, app or proxy may keep a copy (docs/api.md
# "Conventions").
# One rule for the whole API rather than a list of patient routes that could miss a new one.
NO_STORE_PREFIXES = ("/v1/", "/fhir/", "/fhir")
_CACHE_CONTROL = b"cache-control"
_NO_STORE = (_CACHE_CONTROL, b"no-store")

REQUESTS = Counter("access_rpm_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "access_rpm_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


class RequestContextMiddleware:
    """Assigns X-Request-ID, marks API answers no-store, records metrics, and turns an unhandled
    exception into a clean 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = _header(scope, b"x-request-id")
        request_id = sent if sent and _SAFE_REQUEST_ID.match(sent) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False
        no_store = str(scope.get("path", "")).startswith(NO_STORE_PREFIXES)

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                if no_store:
                    headers = [h for h in headers if h[0].lower() != _CACHE_CONTROL]
                    headers.append(_NO_STORE)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # Types and frames only: a message may carry a patient's value (`app.logs`).
            log.error("unhandled error (request_id=%s): %s", request_id, describe(exc))
            if response_started:
                # Too late for a 500; re-raising would let the server log the message itself.
                return
            response = error_response(
                500, error="InternalError", detail="Something went wrong on our side."
            )
            await response(scope, receive, send_with_id)
        finally:
            # The route's name (its operation id): bounded label values, unlike raw paths.
            template = getattr(scope.get("route"), "name", "unmatched")
            elapsed = time.perf_counter() - started
            REQUESTS.labels(scope["method"], template, str(status)).inc()
            LATENCY.labels(scope["method"], template).observe(elapsed)
            request_id_var.reset(token)


class BodyLimitMiddleware:
    """Answers 413 for bodies over the limit before anything parses them."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._too_large(scope, receive, send)
            return
        # Read the (bounded) body up front so a chunked upload cannot exceed the limit either.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"The request body is larger than {self.max_bytes} bytes."
        # /fhir answers its errors as OperationOutcomes, this one too.
        if is_fhir_path(scope.get("path", "")):
            response = outcome_response(413, detail)
        else:
            response = error_response(413, error="PayloadTooLarge", detail=detail)
        await response(scope, receive, send)


# What a browser app may send and read across origins (docs/api.md "Operations"). Bearer tokens,
# never cookies: no credentials mode, so a page of another site can never ride on a session.
CORS_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CORS_REQUEST_HEADERS = ("Authorization", "Content-Type", "X-Request-ID")
CORS_EXPOSED_HEADERS = (
    "Location",
    "Content-Location",
    "Retry-After",
    "WWW-Authenticate",
    "X-Request-ID",
)
CORS_MAX_AGE_SECONDS = 600
_REFUSED = {
    "origin": "the origin",
    "method": "the method",
    "headers": "a request header",
    "private-network": "access to a private network",
}


class CorsMiddleware(CORSMiddleware):
    """Starlette's CORS for the configured origins, with the API's headers and methods; a
    preflight it refuses answers in the API's error shape rather than as plain text."""

    def __init__(self, app: ASGIApp, *, origins: Sequence[str]) -> None:
        super().__init__(
            app,
            allow_origins=origins,
            allow_methods=CORS_METHODS,
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_EXPOSED_HEADERS,
            allow_credentials=False,
            max_age=CORS_MAX_AGE_SECONDS,
        )

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers=request_headers)
        if response.status_code < 400:
            return response
        # Starlette names what it refused: "Disallowed CORS origin, headers".
        names = bytes(response.body).decode().removeprefix("Disallowed CORS ").split(", ")
        refused = " and ".join(_REFUSED.get(name, name) for name in names)
        verb = "are" if len(names) > 1 else "is"
        headers = {
            key: value
            for key, value in response.headers.items()
            if key not in ("content-length", "content-type")
        }
        return error_response(
            response.status_code,
            error="CorsRefused",
            detail=f"Cross-origin request refused: {refused} {verb} not allowed.",
            headers=headers,
        )


def _header(scope: Scope, name: bytes) -> str | None:
    headers: Any = scope.get("headers", [])
    for key, value in headers:
        if key == name:
            return str(value.decode("latin-1"))
    return None
