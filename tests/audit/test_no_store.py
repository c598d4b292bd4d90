"""Every /v1 answer is `Cache-Control: no-store`: no copy of patient data in any cache.

docs/api.md "Conventions" (as built); app/middleware.py.
"""

from __future__ import annotations

import re
import uuid

import httpx
from fastapi import FastAPI

from tests.factories import OrgWorld, PatientWorld


def _no_store(response: httpx.Response) -> bool:
    return response.headers.get_list("cache-control") == ["no-store"]


async def test_patient_data_alerts_worklist_and_attainment_are_no_store(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    staff = org.clinician.headers
    for path in (
        f"/v1/patients/{patient.id}",
        f"/v1/patients/{patient.id}/readings",
        f"/v1/patients/{patient.id}/access-log",
        "/v1/patients",
        "/v1/alerts",
        "/v1/organization/reporting",
        "/v1/organization/attainment?track=eCKM",
    ):
        response = await client.get(path, headers=staff)
        assert response.status_code == 200, (path, response.text)
        assert _no_store(response), path
    mine = await client.get("/v1/patients/me", headers=patient.user.headers)
    assert mine.status_code == 200
    assert _no_store(mine)


async def test_every_v1_and_fhir_route_is_no_store_errors_included(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    checked = 0
    for path, operations in app.openapi()["paths"].items():
        if not path.startswith(("/v1/", "/fhir")):
            continue
        url = re.sub(
            r"\{[a-z_]+\}",
            lambda _: str(uuid.uuid4()),
            path.replace("{patient_id}", str(patient.id)),
        )
        for method in operations:
            for headers in ({}, org.clinician.headers):
                response = await client.request(method.upper(), url, headers=headers)
                assert _no_store(response), (method, path, response.status_code)
                checked += 1
    assert checked >= 60
    # The token endpoint set it already (RFC 6749 section 5.1): still once, not twice.
    token = await client.post("/v1/auth/token", data={"grant_type": "password"})
    assert _no_store(token)


async def test_operations_endpoints_are_not_marked(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert "cache-control" not in response.headers
