"""Shortcuts for the /fhir tests: reads, validation through the FHIR models, audit counts."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from tests.factories import Actor

FHIR_JSON = "application/fhir+json"


async def fhir_get(
    client: httpx.AsyncClient,
    path: str,
    actor: Actor | None = None,
    params: Any = None,
    **headers: str,
) -> httpx.Response:
    sent = {**(actor.headers if actor else {}), **headers}
    return await client.get(path, params=params, headers=sent)


def bundle_of(response: httpx.Response) -> dict[str, Any]:
    """A 200 searchset as sent, once it validates with the library's R4 models (R4B package),
    its entries as the resources they name."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == FHIR_JSON
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    bundle = Bundle.model_validate(body)
    assert bundle.type == "searchset"
    # Written from the dict that validated, it is the JSON the models themselves write.
    assert json.loads(bundle.model_dump_json()) == body
    for entry in bundle.entry or []:
        assert entry.resource is not None
        assert entry.resource.get_resource_type() in ("Observation", "QuestionnaireResponse")
    return body


def resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry["resource"] for entry in bundle.get("entry", [])]


def next_link(bundle: dict[str, Any]) -> str | None:
    return next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)


def outcome_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """An error answered as an OperationOutcome with `status`, validated by the library."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == FHIR_JSON
    outcome = OperationOutcome.model_validate(response.json())
    assert outcome.issue
    body: dict[str, Any] = response.json()
    assert body["issue"][0]["severity"] == "error"
    return body


def names(outcome: dict[str, Any]) -> list[str]:
    """The parameters an OperationOutcome names (`expression`)."""
    return [str(e) for issue in outcome["issue"] for e in issue.get("expression", [])]


async def audit_events(
    app: FastAPI, *, patient_id: uuid.UUID, resource_type: str, outcome: str = "success"
) -> int:
    async with app.state.sessionmaker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.patient_id == patient_id,
                AuditEvent.resource_type == resource_type,
                AuditEvent.outcome == outcome,
            )
        )
    return int(count or 0)
