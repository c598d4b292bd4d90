"""A patient with a complete eCKM baseline report, an organization set up to report to CMS,
and the worker's sender wired to the local stand-in of CMS's API (through an httpx transport,
so nothing listens on a port); the clock is moved, never slept through."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from app.cms.client import CmsClient
from app.cms.sending import Sender, send_due
from app.cms.standin import StandIn
from tests.factories import OrgWorld, PatientWorld, make_org, make_patient
from tests.outcomes.helpers import cuff, enrollment, enrollment_id, labs, on_day, prepare

CMS_BASE = "http://cms.test/access"
CLIENT_ID = "riverside-clinic"
CLIENT_SECRET = "stand-in-client-secret-" + "q" * 16
PARTICIPANT_ID = "ACCES12345"
NPI = "1234567893"  # CMS's example NPI, check digit right
MBI = "1EG4TE5MK73"  # the guide's example MBI


class LosingTransport(httpx.AsyncBaseTransport):
    """Forwards to the stand-in, then loses the answer to the first `lose` $report-data calls:
    CMS got the bundle, the service never heard (the worst kind of timeout)."""

    def __init__(self, app: Any, *, lose: int = 0) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.lose = lose
        self.calls: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(f"{request.method} {request.url.path}")
        response = await self.inner.handle_async_request(request)
        if self.lose and request.url.path.endswith("$report-data"):
            self.lose -= 1
            await response.aread()
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response


@dataclass
class Cms:
    standin: StandIn
    transport: LosingTransport
    sender: Sender

    async def work(self) -> int:
        """One worker pass of submissions (sends and polls due now)."""
        return await send_due(self.sender)


@asynccontextmanager
async def cms_for(app: FastAPI, **standin: Any) -> AsyncIterator[Cms]:
    fake = StandIn(clients={CLIENT_ID: CLIENT_SECRET}, prefix="/access", **standin)
    transport = LosingTransport(fake.app)
    async with httpx.AsyncClient(transport=transport) as http:
        sender = Sender(app.state.sessionmaker, CmsClient(http), app.state.secret_box, "CMS", False)
        yield Cms(fake, transport, sender)


async def set_up_reporting(
    client: httpx.AsyncClient, org: OrgWorld, *, secret: str = CLIENT_SECRET
) -> None:
    settings = {
        "access_participant_id": PARTICIPANT_ID,
        "cms_reporting": {"base_url": CMS_BASE, "client_id": CLIENT_ID, "client_secret": secret},
    }
    changed = await client.patch("/v1/organization", json=settings, headers=org.admin.headers)
    assert changed.status_code == 200, changed.text
    staff = await client.get("/v1/clinicians", headers=org.admin.headers)
    clinician = next(s for s in staff.json()["items"] if s["role"] == "clinician")
    named = await client.patch(
        f"/v1/clinicians/{clinician['id']}", json={"npi": NPI}, headers=org.admin.headers
    )
    assert named.status_code == 200, named.text


async def complete_baseline(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, *, mbi: str | None = MBI
) -> tuple[PatientWorld, dict[str, Any]]:
    """An eCKM patient (with an MBI) and their complete baseline report, prepared on day 5 by
    the organization's clinician."""
    with on_day(1):
        patient = await make_patient(app, org, enroll=enrollment("eCKM", "hypertension"))
    if mbi is not None:
        given = await client.patch(
            f"/v1/patients/{patient.id}", json={"mbi": mbi}, headers=org.admin.headers
        )
        assert given.status_code == 200, given.text
    eid = await enrollment_id(client, org.admin, patient.id)
    with on_day(5):
        await cuff(client, patient.device, [(2, 140), (3, 141), (4, 142)])
        await labs(client, org.clinician, patient.id, [("hba1c", 4, 5.9), ("ldl", 4, 131)])
        made = await prepare(client, org.clinician, patient.id, eid, "baseline")
    assert made.status_code == 201, made.text
    report: dict[str, Any] = made.json()
    assert report["complete"] is True, report
    return patient, report


def submit_url(patient_id: uuid.UUID, report_id: str) -> str:
    return f"/v1/patients/{patient_id}/reports/{report_id}/submit"


async def read_report(
    client: httpx.AsyncClient, org: OrgWorld, patient_id: uuid.UUID, report_id: str
) -> dict[str, Any]:
    response = await client.get(
        f"/v1/patients/{patient_id}/reports/{report_id}", headers=org.clinician.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def reporting_patient(
    app: FastAPI, client: httpx.AsyncClient
) -> tuple[OrgWorld, PatientWorld, dict[str, Any]]:
    """An organization set up to report to CMS, and a patient's complete baseline report."""
    org = await make_org(app)
    await set_up_reporting(client, org)
    patient, report = await complete_baseline(app, client, org)
    return org, patient, report


async def submit(
    client: httpx.AsyncClient, org: OrgWorld, patient_id: uuid.UUID, report: dict[str, Any]
) -> httpx.Response:
    """The organization's clinician submits the report."""
    return await client.post(submit_url(patient_id, report["id"]), headers=org.clinician.headers)
