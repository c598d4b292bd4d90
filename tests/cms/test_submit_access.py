"""Who may submit a report, and what stops one: said at once, all of it, as a 409."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.cms.models import ReportSubmission
from tests.cms.helpers import complete_baseline, set_up_reporting, submit, submit_url
from tests.factories import make_org, make_patient
from tests.outcomes.helpers import enrollment, enrollment_id, on_day, prepare


async def test_only_staff_of_the_patients_organization(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    other = await make_org(app)
    await set_up_reporting(client, org)
    patient, report = await complete_baseline(app, client, org)
    with on_day(1):
        neighbour = await make_patient(app, org, enroll=enrollment("eCKM", "hypertension"))
    url = submit_url(patient.id, report["id"])
    assert (await client.post(url)).status_code == 401
    assert (await client.post(url, headers=patient.user.headers)).status_code == 403
    assert (await client.post(url, headers=patient.device.headers)).status_code == 403
    assert (await client.post(url, headers=other.admin.headers)).status_code == 404
    # Another patient's path with this report: not found.
    crossed = submit_url(neighbour.id, report["id"])
    assert (await client.post(crossed, headers=org.clinician.headers)).status_code == 404
    async with app.state.sessionmaker() as session:
        assert list(await session.scalars(select(ReportSubmission))) == []
        denied = list(
            await session.scalars(
                select(AuditEvent.outcome).where(
                    AuditEvent.patient_id == patient.id, AuditEvent.outcome == "denied"
                )
            )
        )
    assert denied  # refused accesses to the patient are recorded


@pytest.mark.parametrize(
    ("gap", "words"),
    [
        ("mbi", "MBI"),
        ("participant", "participant"),
        ("npi", "NPI"),
        ("settings", "cms_reporting"),
    ],
)
async def test_409_names_what_is_missing(
    app: FastAPI, client: httpx.AsyncClient, gap: str, words: str
) -> None:
    org = await make_org(app)
    await set_up_reporting(client, org)
    patient, report = await complete_baseline(
        app, client, org, mbi=None if gap == "mbi" else "1EG4TE5MK73"
    )
    if gap == "participant":
        await client.patch(
            "/v1/organization", json={"access_participant_id": None}, headers=org.admin.headers
        )
    if gap == "settings":
        await client.patch(
            "/v1/organization", json={"cms_reporting": None}, headers=org.admin.headers
        )
    if gap == "npi":
        staff = await client.get("/v1/clinicians", headers=org.admin.headers)
        clinician = next(s for s in staff.json()["items"] if s["role"] == "clinician")
        await client.patch(
            f"/v1/clinicians/{clinician['id']}", json={"npi": None}, headers=org.admin.headers
        )
    refused = await submit(client, org, patient.id, report)
    assert refused.status_code == 409, refused.text
    assert words in refused.json()["detail"]
    async with app.state.sessionmaker() as session:
        assert list(await session.scalars(select(ReportSubmission))) == []


async def test_an_incomplete_report_is_409_with_everything_else_missing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    with on_day(1):
        patient = await make_patient(app, org, enroll=enrollment("eCKM", "hypertension"))
    eid = await enrollment_id(client, org.admin, patient.id)
    with on_day(5):
        made = await prepare(client, org.clinician, patient.id, eid, "baseline")
    assert made.json()["complete"] is False
    refused = await client.post(
        submit_url(patient.id, made.json()["id"]), headers=org.clinician.headers
    )
    assert refused.status_code == 409, refused.text
    detail = refused.json()["detail"]
    for words in ("incomplete", "cms_reporting", "MBI"):
        assert words in detail, detail
