"""A local stand-in of CMS's ACCESS Data Reporting API, for tests and for development.

Built from the implementation guide's API description (`$report-data`, `$submission-status`,
OAuth 2.0 client credentials, the asynchronous 202 pattern) so the service can be exercised end
to end without CMS: `python -m app cms-standin` serves it; tests mount `StandIn().app` on an
httpx transport and script what it answers.

What it does, as the guide describes CMS:
- `POST /token`: client credentials (HTTP Basic or form fields) -> a bearer token;
- `POST /Patient/$report-data?entityId=ACCES#####`: `Parameters` (participantID, payerID,
  track, reportType, dataBundle) -> 202 with `Content-Location` naming the submission's status;
  a body that is not such `Parameters` -> 400 OperationOutcome;
- `GET /Patient/$submission-status/{id}`: 202 (no body) while processing, then 200 with
  `Parameters` holding `result` (ACCESSReportDataResultCS) and, for a validation error,
  `issues` (an OperationOutcome).
Its checks: the participant id's pattern and that it matches `entityId`; a document Bundle with
a Composition first whose first section's code is the `track` parameter's; a Patient with an
MBI. Two assumptions where the guide is silent, documented in docs/api.md: a bundle sent again
with the same `Bundle.identifier` is the same submission (202, same status URL), and another
bundle for a (patient, track, report type, date) already accepted is a `duplicate`.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import JSONResponse, Response

from app.fhir.report_codes import RESULT_SYSTEM, RESULTS

MBI_SYSTEM = "http://terminology.hl7.org/NamingSystem/cmsMBI"
_PARTICIPANT = re.compile(r"^ACCES\d{5}$")
FHIR_JSON = "application/fhir+json"


@dataclass
class Submission:
    id: str
    bundle_identifier: str
    key: tuple[str, ...]
    result: str
    text: str
    issues: list[str]
    polls_left: int


@dataclass
class StandIn:
    """The stand-in's state; `app` serves it. Tests set `results` (codes to answer next, in
    order; default success), `failures` (HTTP statuses to answer the next requests with, e.g.
    503) and `polls_before_result` (202s before a result)."""

    clients: dict[str, str] = field(default_factory=dict)
    # The path the API is served under (a base URL's path, e.g. "/access").
    prefix: str = ""
    polls_before_result: int = 1
    results: deque[str] = field(default_factory=deque)
    failures: deque[int] = field(default_factory=deque)
    submissions: dict[str, Submission] = field(default_factory=dict)
    # Every $report-data body that reached it, repeats included (what CMS was sent).
    received: list[dict[str, Any]] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    _accepted: set[tuple[str, ...]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.app = self._build()

    def distinct_bundles(self) -> int:
        return len({s.bundle_identifier for s in self.submissions.values()})

    def _build(self) -> FastAPI:
        app = FastAPI(title="CMS ACCESS Data Reporting API (local stand-in)", docs_url=None)
        api = APIRouter(prefix=self.prefix)

        @app.middleware("http")
        async def scripted_failures(request: Request, call_next: Any) -> Response:
            if self.failures and not request.url.path.endswith("/token"):
                status = self.failures.popleft()
                return _outcome(status, "exception", f"stand-in: scripted failure {status}")
            response: Response = await call_next(request)
            return response

        @api.post("/token")
        async def token(request: Request) -> Response:
            form = await request.form()
            client_id, client_secret = _client(request, form)
            if form.get("grant_type") != "client_credentials":
                return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
            if client_id is None or self.clients.get(client_id) != client_secret:
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            issued = secrets.token_urlsafe(24)
            self.tokens.add(issued)
            body = {"access_token": issued, "token_type": "bearer", "expires_in": 300}
            return JSONResponse(body)

        @api.get("/metadata")
        async def metadata() -> Response:
            return JSONResponse(_capability(), media_type=FHIR_JSON)

        @api.post("/Patient/$report-data")
        async def report_data(request: Request) -> Response:
            if not self._authorized(request):
                return _outcome(401, "login", "a valid bearer token is required")
            try:
                body = await request.json()
            except ValueError:
                return _outcome(400, "structure", "the body is not JSON")
            if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
                return _outcome(400, "structure", "the body must be a Parameters resource")
            self.received.append(body)
            submission = self._accept(body, request.query_params.get("entityId"))
            base = str(request.base_url).rstrip("/") + self.prefix
            location = f"{base}/Patient/$submission-status/"
            return Response(status_code=202, headers={"Content-Location": location + submission.id})

        @api.get("/Patient/$submission-status/{submission_id}")
        async def submission_status(submission_id: str, request: Request) -> Response:
            if not self._authorized(request):
                return _outcome(401, "login", "a valid bearer token is required")
            submission = self.submissions.get(submission_id)
            if submission is None:
                return _outcome(404, "not-found", f"no submission {submission_id}")
            if submission.polls_left > 0:
                submission.polls_left -= 1
                return Response(status_code=202)
            return JSONResponse(_result(submission), media_type=FHIR_JSON)

        app.include_router(api)
        return app

    def _authorized(self, request: Request) -> bool:
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and credential in self.tokens

    def _accept(self, body: dict[str, Any], entity_id: str | None) -> Submission:
        bundle = _parameter(body, "dataBundle", "resource") or {}
        identifier = (bundle.get("identifier") or {}).get("value") or secrets.token_hex(8)
        for known in self.submissions.values():
            if known.bundle_identifier == identifier:
                return known  # the same bundle sent again: the same submission
        issues = _problems(body, bundle, entity_id)
        key = _key(body, bundle)
        if issues:
            result = "validation-error"
        elif key in self._accepted:
            result = "duplicate"
        else:
            result = self.results.popleft() if self.results else "success"
        if result == "success":
            self._accepted.add(key)
        submission = Submission(
            id="sub-" + secrets.token_hex(6),
            bundle_identifier=identifier,
            key=key,
            result=result,
            text=_text(result),
            issues=issues or (["stand-in: scripted " + result] if result != "success" else []),
            polls_left=self.polls_before_result,
        )
        self.submissions[submission.id] = submission
        return submission


def _client(request: Request, form: Any) -> tuple[str | None, str | None]:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None, None
        return user, password
    client_id, client_secret = form.get("client_id"), form.get("client_secret")
    return (str(client_id) if client_id else None), (str(client_secret) if client_secret else None)


def _parameter(body: dict[str, Any], name: str, kind: str) -> Any:
    for parameter in body.get("parameter") or []:
        if isinstance(parameter, dict) and parameter.get("name") == name:
            return parameter.get(kind)
    return None


def _code(concept: Any) -> str | None:
    if not isinstance(concept, dict):
        return None
    codings = concept.get("coding") or [{}]
    return codings[0].get("code") if isinstance(codings[0], dict) else None


def _resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    entries = bundle.get("entry") or []
    return [e.get("resource") or {} for e in entries if isinstance(e, dict)]


def _problems(body: dict[str, Any], bundle: dict[str, Any], entity_id: str | None) -> list[str]:
    problems = []
    participant = (_parameter(body, "participantID", "valueIdentifier") or {}).get("value")
    if not participant or not _PARTICIPANT.match(participant):
        problems.append("participantID must be ACCES followed by 5 digits")
    elif participant != entity_id:
        problems.append("participantID does not match the entityId of the request")
    for name, kind in (("payerID", "valueIdentifier"), ("reportType", "valueCodeableConcept")):
        if _parameter(body, name, kind) is None:
            problems.append(f"the {name} parameter is missing")
    track = _code(_parameter(body, "track", "valueCodeableConcept"))
    resources = _resources(bundle)
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "document":
        return [*problems, "dataBundle must be a document Bundle"]
    if not resources or resources[0].get("resourceType") != "Composition":
        return [*problems, "the first entry of dataBundle must be a Composition"]
    sections = resources[0].get("section") or [{}]
    if _code(sections[0].get("code")) != track:
        problems.append("the Composition's first section is not the track parameter's")
    if not _mbi(resources):
        problems.append("the Patient carries no MBI")
    return problems


def _mbi(resources: list[dict[str, Any]]) -> str | None:
    for resource in resources:
        if resource.get("resourceType") == "Patient":
            for identifier in resource.get("identifier") or []:
                if identifier.get("system") == MBI_SYSTEM:
                    return str(identifier.get("value"))
    return None


def _key(body: dict[str, Any], bundle: dict[str, Any]) -> tuple[str, ...]:
    resources = _resources(bundle)
    date = str(resources[0].get("date", ""))[:10] if resources else ""
    return (
        _mbi(resources) or "",
        _code(_parameter(body, "track", "valueCodeableConcept")) or "",
        _code(_parameter(body, "reportType", "valueCodeableConcept")) or "",
        date,
    )


def _text(result: str) -> str:
    return f"{RESULTS.get(result, result)} (local stand-in of the CMS API)"


def _result(submission: Submission) -> dict[str, Any]:
    coding = {
        "system": RESULT_SYSTEM,
        "code": submission.result,
        "display": RESULTS.get(submission.result, submission.result),
    }
    parameters: list[dict[str, Any]] = [
        {"name": "result", "valueCodeableConcept": {"coding": [coding], "text": submission.text}}
    ]
    if submission.issues:
        issues = [
            {"severity": "error", "code": "invalid", "diagnostics": text}
            for text in submission.issues
        ]
        parameters.append(
            {"name": "issues", "resource": {"resourceType": "OperationOutcome", "issue": issues}}
        )
    return {"resourceType": "Parameters", "parameter": parameters}


def _outcome(status: int, code: str, text: str) -> Response:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON)


def _capability() -> dict[str, Any]:
    operations = [
        {"name": name, "definition": f"urn:access-rpm:standin:{name}"}
        for name in ("report-data", "submission-status")
    ]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "kind": "instance",
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [{"mode": "server", "resource": [{"type": "Patient", "operation": operations}]}],
    }
