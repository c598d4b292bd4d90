"""Observations, Bundles and answers for the POST /fhir tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from fhir.resources.R4B.bundle import Bundle

from tests.factories import Actor, OrgWorld, PatientWorld, make_org
from tests.fhir.helpers import FHIR_JSON
from tests.readings.helpers import BASE_TIME, make_reading_patient

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
EHR = "http://ehr.example.org/observations"


def quantity(value: Any, unit: str | None) -> dict[str, Any]:
    if unit is None:
        return {"value": value}
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def observation(
    patient: uuid.UUID | str,
    *,
    code: str = "29463-7",
    value: Any = 70,
    unit: str | None = "kg",
    identifier: str | None = None,
    minutes: int = 0,
    **extra: Any,
) -> dict[str, Any]:
    """A final Observation of `patient` with a valueQuantity, measured `minutes` after BASE_TIME."""
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "identifier": [{"system": EHR, "value": identifier or uuid.uuid4().hex}],
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": (BASE_TIME + timedelta(minutes=minutes)).isoformat(),
        "valueQuantity": quantity(value, unit),
    }
    resource.update(extra)
    return resource


def component(code: str, value: Any, unit: str | None = "mm[Hg]") -> dict[str, Any]:
    return {
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "valueQuantity": quantity(value, unit),
    }


def blood_pressure(
    patient: uuid.UUID | str,
    systolic: Any = 120,
    diastolic: Any = 80,
    pulse: Any = None,
    **extra: Any,
) -> dict[str, Any]:
    """A US Core blood pressure panel: 85354-9 with systolic and diastolic components."""
    resource = observation(patient, code="85354-9", **extra)
    del resource["valueQuantity"]
    parts = [component("8480-6", systolic), component("8462-4", diastolic)]
    if pulse is not None:
        parts.append(component("8867-4", pulse, "/min"))
    resource.setdefault("component", parts)
    return resource


def steps(patient: uuid.UUID | str, count: int, start: datetime, end: datetime) -> dict[str, Any]:
    resource = observation(patient, code="41950-7", value=count, unit="{steps}")
    del resource["effectiveDateTime"]
    resource["effectivePeriod"] = {"start": start.isoformat(), "end": end.isoformat()}
    return resource


def entry(resource: Any, method: str = "POST", url: str = "Observation") -> dict[str, Any]:
    return {"request": {"method": method, "url": url}, "resource": resource}


def bundle(kind: str, resources: list[Any]) -> dict[str, Any]:
    """A Bundle of `kind` creating each resource (an entry dict is taken as it is)."""
    entries = [entry(r) if isinstance(r, dict) and "resourceType" in r else r for r in resources]
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


async def post_fhir(
    client: httpx.AsyncClient,
    actor: Actor | None,
    body: Any,
    *,
    content_type: str = FHIR_JSON,
    **params: str,
) -> httpx.Response:
    headers = {**(actor.headers if actor else {}), "Content-Type": content_type}
    content = body if isinstance(body, bytes) else httpx.Request("POST", "/", json=body).content
    return await client.post("/fhir", content=content, headers=headers, params=params)


def answered(response: httpx.Response, kind: str) -> list[dict[str, Any]]:
    """The entries' `response` of a 200 batch-response or transaction-response, once it
    validates with the FHIR models."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == FHIR_JSON
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    Bundle.model_validate(body)
    assert body["type"] == f"{kind}-response"
    return [e["response"] for e in body.get("entry", [])]


def status_codes(responses: list[dict[str, Any]]) -> list[int]:
    return [int(r["status"].split()[0]) for r in responses]


def reading_id(response: dict[str, Any]) -> str:
    location: str = response["location"]
    assert location.startswith("Observation/")
    return location.removeprefix("Observation/")


@dataclass
class World:
    home: OrgWorld
    patient: PatientWorld
    neighbour: PatientWorld  # another patient of the same organization
    elsewhere: OrgWorld
    stranger: PatientWorld  # a patient of the other organization


async def make_world(app: FastAPI) -> World:
    """Two organizations, two patients in one and one in the other, with no readings yet."""
    home = await make_org(app, "Home")
    patient = await make_reading_patient(app, home)
    neighbour = await make_reading_patient(app, home)
    elsewhere = await make_org(app, "Elsewhere")
    stranger = await make_reading_patient(app, elsewhere)
    return World(home, patient, neighbour, elsewhere, stranger)


def weights(patient: uuid.UUID, count: int, prefix: str = "w") -> list[dict[str, Any]]:
    """`count` weights of `patient`, a minute apart, identified `<prefix>-<i>`."""
    return [
        observation(patient, value=60 + i / 10, identifier=f"{prefix}-{i}", minutes=i)
        for i in range(count)
    ]
