"""Calls to CMS's ACCESS Data Reporting API: a token, `$report-data`, `$submission-status`.

Never raises for CMS's or the network's failures: each call answers what happened, and the
worker (`app/cms/sending.py`) decides what follows. Tokens (OAuth 2.0 client credentials, the
client authenticated with HTTP Basic, RFC 6749 4.4 and 2.3.1) are cached per client until a
little before they expire, as the guide asks, and dropped when CMS refuses one.

The token endpoint is `{base_url}/token` (the guide leaves it to its operations manual, which is
not public; docs/api.md says so).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import httpx

from app.fhir.report_codes import RESULTS

TIMEOUT_SECONDS = 30.0
_TOKEN_MARGIN_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Credentials:
    base_url: str
    client_id: str
    client_secret: str


@dataclass(frozen=True, slots=True)
class Accepted:
    """CMS took the submission (202); its status is at `status_url`."""

    status_url: str


@dataclass(frozen=True, slots=True)
class Pending:
    """CMS is still processing the submission (202)."""


@dataclass(frozen=True, slots=True)
class Result:
    """CMS's answer: a result code of the guide and its words (with the issues' details)."""

    code: str
    message: str | None


@dataclass(frozen=True, slots=True)
class Retry:
    """Nothing settled: the network, a timeout, a 5xx, refused credentials. Try again later."""

    error: str


SendAnswer = Accepted | Result | Retry
PollAnswer = Pending | Result | Retry


@dataclass
class CmsClient:
    http: httpx.AsyncClient
    timeout: float = TIMEOUT_SECONDS
    _tokens: dict[tuple[str, str], tuple[str, float]] = field(default_factory=dict)

    async def send(self, credentials: Credentials, *, entity_id: str, body: bytes) -> SendAnswer:
        """POST the `$report-data` Parameters."""
        url = f"{credentials.base_url}/Patient/$report-data"
        response = await self._call(
            credentials, "POST", url, params={"entityId": entity_id}, content=body
        )
        if isinstance(response, Retry):
            return response
        if response.status_code == 202:
            location = response.headers.get("content-location")
            if not location:
                return Retry("CMS answered 202 without a Content-Location")
            return Accepted(urljoin(credentials.base_url + "/", location))
        if response.status_code == 200:  # answered at once rather than later
            return _result(response)
        if response.status_code in (400, 422):
            return Result("validation-error", _issues_text(_json(response)))
        return Retry(_unexpected(response))

    async def poll(self, credentials: Credentials, *, status_url: str) -> PollAnswer:
        """GET the submission's status."""
        response = await self._call(credentials, "GET", status_url)
        if isinstance(response, Retry):
            return response
        if response.status_code == 202:
            return Pending()
        if response.status_code == 200:
            return _result(response)
        return Retry(_unexpected(response))

    async def _call(
        self, credentials: Credentials, method: str, url: str, **kwargs: Any
    ) -> httpx.Response | Retry:
        token = await self._token(credentials)
        if isinstance(token, Retry):
            return token
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/fhir+json",
            "Content-Type": "application/fhir+json",
        }
        try:
            response = await self.http.request(
                method, url, headers=headers, timeout=self.timeout, **kwargs
            )
        except httpx.TimeoutException:
            return Retry("CMS did not answer in time")
        except httpx.HTTPError as exc:
            return Retry(f"could not reach CMS ({type(exc).__name__})")
        if response.status_code in (401, 403):
            self._tokens.pop((credentials.base_url, credentials.client_id), None)
            return Retry(f"CMS refused the token ({response.status_code})")
        return response

    async def _token(self, credentials: Credentials) -> str | Retry:
        key = (credentials.base_url, credentials.client_id)
        cached = self._tokens.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        try:
            response = await self.http.post(
                f"{credentials.base_url}/token",
                data={"grant_type": "client_credentials"},
                auth=(credentials.client_id, credentials.client_secret),
                timeout=self.timeout,
            )
        except httpx.TimeoutException:
            return Retry("CMS's token endpoint did not answer in time")
        except httpx.HTTPError as exc:
            return Retry(f"could not reach CMS's token endpoint ({type(exc).__name__})")
        if response.status_code != 200:
            error = _json(response).get("error", "")
            return Retry(f"CMS refused the client credentials ({response.status_code} {error})")
        body = _json(response)
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            return Retry("CMS's token endpoint answered without an access token")
        lifetime = body.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, int | float) else 300.0
        self._tokens[key] = (token, time.monotonic() + max(seconds - _TOKEN_MARGIN_SECONDS, 1))
        return token


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _unexpected(response: httpx.Response) -> str:
    return f"CMS answered {response.status_code}: {_issues_text(_json(response)) or 'no detail'}"


def _issues_text(outcome: dict[str, Any]) -> str | None:
    """The words of an OperationOutcome's issues: details text or diagnostics, one per line."""
    words = []
    for issue in outcome.get("issue") or []:
        if not isinstance(issue, dict):
            continue
        text = (issue.get("details") or {}).get("text") or issue.get("diagnostics")
        if isinstance(text, str) and text:
            words.append(text)
    return "\n".join(words) or None


def _result(response: httpx.Response) -> Result | Retry:
    """The `result` (and `issues`) of a `Parameters` answer."""
    body = _json(response)
    result: dict[str, Any] = {}
    issues: dict[str, Any] = {}
    for parameter in body.get("parameter") or []:
        if not isinstance(parameter, dict):
            continue
        if parameter.get("name") == "result":
            result = parameter.get("valueCodeableConcept") or {}
        elif parameter.get("name") == "issues":
            issues = parameter.get("resource") or {}
    codings = result.get("coding") or []
    code = codings[0].get("code") if codings and isinstance(codings[0], dict) else None
    if code not in RESULTS:
        return Retry(f"CMS answered a result this service does not know: {code!r}")
    words = [w for w in (result.get("text"), _issues_text(issues)) if isinstance(w, str) and w]
    return Result(str(code), "\n".join(words) or None)
