"""GET /fhir/Patient/{id}: a US Core Patient, with the MBI when the patient has one."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fhir.resources.R4B.patient import Patient

from app.fhir.patients import MBI_SYSTEM, PROFILE
from tests.factories import OrgWorld, PatientWorld
from tests.fhir.helpers import FHIR_JSON, audit_events, fhir_get, names, outcome_of
from tests.world import org, patient

__all__ = ["org", "patient"]


async def _read(client: httpx.AsyncClient, world: PatientWorld, org: OrgWorld) -> dict[str, Any]:
    response = await fhir_get(client, f"/fhir/Patient/{world.id}", org.clinician)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == FHIR_JSON
    assert response.headers["cache-control"] == "no-store"
    Patient.model_validate(response.json())  # a valid FHIR R4 Patient
    body: dict[str, Any] = response.json()
    return body


async def test_patient_with_mbi(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    changed = await client.patch(
        f"/v1/patients/{patient.id}", json={"mbi": "1EG4-TE5-MK73"}, headers=org.clinician.headers
    )
    assert changed.status_code == 200, changed.text
    resource = await _read(client, patient, org)
    assert resource["id"] == str(patient.id)
    assert resource["meta"]["profile"] == [PROFILE]
    (mbi,) = [i for i in resource["identifier"] if i["system"] == MBI_SYSTEM]
    assert mbi["value"] == "1EG4TE5MK73"
    assert mbi["type"]["coding"][0]["code"] == "MC"
    assert resource["name"] == [{"family": "Tester", "given": ["Pat"]}]
    assert resource["gender"] == "female"
    assert resource["birthDate"] == "1955-05-17"
    assert await audit_events(app, patient_id=patient.id, resource_type="fhir_patient") == 1


async def test_patient_without_mbi_has_its_own_identifier(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    resource = await _read(client, patient, org)
    # US Core asks for one identifier at least.
    assert resource["identifier"] == [
        {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{patient.id}"}
    ]


async def test_a_patient_reads_themself(client: httpx.AsyncClient, patient: PatientWorld) -> None:
    response = await fhir_get(client, f"/fhir/Patient/{patient.id}", patient.user)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == str(patient.id)


@pytest.mark.parametrize(
    ("suffix", "named"),
    [("?_count=5", "_count"), ("?name=Tester", "name"), ("?_format=json&_format=json", "_format")],
)
async def test_read_takes_no_search_parameters(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld, suffix: str, named: str
) -> None:
    response = await fhir_get(client, f"/fhir/Patient/{patient.id}{suffix}", org.clinician)
    assert names(outcome_of(response, 400)) == [named]
