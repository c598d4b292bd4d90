"""Report bundles: who may read one (staff of the patient's organization), the 409 naming
everything that keeps a report from CMS, the audit, `report_bundle` as the submission calls it,
and the same QuestionnaireResponses as /fhir serves."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from app.audit.models import AuditEvent
from app.auth.models import User
from app.fhir.report_bundle import NotSubmittable, report_bundle
from app.outcomes.models import Report
from tests.factories import OrgWorld, make_org, make_patient
from tests.fhir.helpers import fhir_get
from tests.fhir.report_bundle_world import (
    Made,
    cardiometabolic,
    make_report,
    report_id,
    set_identity,
    set_mbi,
)
from tests.outcomes.helpers import enrollment, on_day

READ = "report_bundle"


async def audited(app: FastAPI, made: Made, outcome: str = "success") -> int:
    async with app.state.sessionmaker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.patient_id == made.patient.id,
                AuditEvent.resource_type == READ,
                AuditEvent.outcome == outcome,
            )
        )
    return int(count or 0)


@pytest.fixture
async def org(app: FastAPI) -> OrgWorld:
    org = await make_org(app)
    await set_identity(app, org)
    return org


@pytest.fixture
async def made(app: FastAPI, client: httpx.AsyncClient, org: OrgWorld) -> Made:
    return await cardiometabolic(app, client, org, "eCKM")


async def test_staff_read_it_and_the_read_is_audited(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, made: Made
) -> None:
    for staff in (org.clinician, org.admin):
        response = await client.get(made.url, headers=staff.headers)
        assert response.status_code == 200, response.text
        assert response.json()["resourceType"] == "Bundle"
    assert await audited(app, made) == 2


async def test_anonymous_is_401(client: httpx.AsyncClient, made: Made) -> None:
    response = await client.get(made.url)
    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"


async def test_the_patient_and_their_device_are_403(
    app: FastAPI, client: httpx.AsyncClient, made: Made
) -> None:
    """The bundle is the CMS submission (with the MBI): staff only, even for the patient's own
    report (which `GET .../reports/{report_id}` shows them)."""
    for actor in (made.patient.user, made.patient.device):
        response = await client.get(made.url, headers=actor.headers)
        assert response.status_code == 403, response.text
    mine = f"/v1/patients/me/reports/{made.report['id']}"
    assert (await client.get(mine, headers=made.patient.user.headers)).status_code == 200
    assert await audited(app, made) == 0


async def test_out_of_reach_is_404(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, made: Made
) -> None:
    neighbour = await make_patient(app, org)
    elsewhere = await make_org(app, "Elsewhere")
    cases = {
        # Another patient's path with this report's id: no such report of theirs.
        "another patient's path": (
            f"/v1/patients/{neighbour.id}/reports/{made.report['id']}/bundle",
            org.clinician,
        ),
        "another organization's staff": (made.url, elsewhere.clinician),
        "another patient": (made.url, neighbour.user),
        "an unknown report": (
            f"/v1/patients/{made.patient.id}/reports/{uuid.uuid4()}/bundle",
            org.clinician,
        ),
        "staff saying me": (f"/v1/patients/me/reports/{made.report['id']}/bundle", org.admin),
    }
    for name, (url, actor) in cases.items():
        response = await client.get(url, headers=actor.headers)
        assert response.status_code == 404, (name, response.text)
        assert response.json()["error"] == "NotFound", name
    assert await audited(app, made) == 0


Breaker = Callable[[FastAPI, httpx.AsyncClient, OrgWorld, Made], Awaitable[None]]


async def _no_mbi(app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, made: Made) -> None:
    with on_day(3):
        await set_mbi(client, org, made.patient, None)


async def _no_participant_id(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, made: Made
) -> None:
    await set_identity(app, org, participant_id=None)


async def _no_npi(app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, made: Made) -> None:
    await set_identity(app, org, clinician_npi=None)


async def _no_name(app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, made: Made) -> None:
    await set_identity(app, org, clinician_name=None)


async def _nothing(app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, made: Made) -> None:
    await _no_mbi(app, client, org, made)
    await set_identity(app, org, participant_id=None, clinician_npi=None)


# (case, the report is complete, what breaks it, the paths the 409 names)
CASES: list[tuple[str, bool, Breaker | None, list[str]]] = [
    ("incomplete report", False, None, ["report.complete"]),
    ("no MBI", True, _no_mbi, ["patient.mbi"]),
    ("no participant id", True, _no_participant_id, ["organization.access_participant_id"]),
    ("no NPI", True, _no_npi, ["preparer.npi"]),
    ("no preparer name", True, _no_name, ["preparer.name"]),
    (
        "everything at once",
        False,
        _nothing,
        ["report.complete", "patient.mbi", "organization.access_participant_id", "preparer.npi"],
    ),
]


@pytest.mark.parametrize(("case", "complete", "breaker", "paths"), CASES, ids=[c[0] for c in CASES])
async def test_409_names_each_missing_thing(
    app: FastAPI,
    client: httpx.AsyncClient,
    org: OrgWorld,
    case: str,
    complete: bool,
    breaker: Breaker | None,
    paths: list[str],
) -> None:
    made = await cardiometabolic(app, client, org, "eCKM", complete=complete)
    if breaker is not None:
        await breaker(app, client, org, made)
    response = await client.get(made.url, headers=org.clinician.headers)
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["error"] == "NotSubmittable"
    assert [f["path"] for f in body["fields"]] == paths
    assert body["detail"].startswith("The report cannot be sent to CMS: ")
    for problem in body["fields"]:
        assert problem["message"] in body["detail"]
    if not complete:
        assert "hba1c, ldl" in body["detail"]  # the measures the report is missing
    assert await audited(app, made) == 0


async def test_report_bundle_as_the_submission_calls_it(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, made: Made
) -> None:
    """A submission names the bundle by its own identifier; the same report and identifier
    give the same bundle, the one the route serves (default: the report's id)."""
    served = (await client.get(made.url, headers=org.clinician.headers)).json()
    attempt = uuid.uuid4()
    async with app.state.sessionmaker() as session:
        report = await session.get(Report, report_id(made))
        assert report is not None
        assert await report_bundle(session, report=report) == served
        named = await report_bundle(session, report=report, identifier=str(attempt))
        again = await report_bundle(session, report=report, identifier=f"urn:uuid:{attempt}")
    assert named == again
    assert named["identifier"] == {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{attempt}"}
    assert {k: v for k, v in named.items() if k != "identifier"} == {
        k: v for k, v in served.items() if k != "identifier"
    }


async def test_report_bundle_raises_not_submittable(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, made: Made
) -> None:
    async with app.state.sessionmaker() as session:  # never committed
        await session.execute(update(User).where(User.id == org.clinician.id).values(npi=None))
        report = await session.get(Report, report_id(made))
        assert report is not None
        with pytest.raises(NotSubmittable) as raised:
            await report_bundle(session, report=report)
        await session.rollback()
    assert raised.value.status_code == 409
    assert [f.path for f in raised.value.fields or ()] == ["preparer.npi"]


async def test_a_report_prepared_by_an_admin_without_npi_is_409(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld
) -> None:
    with on_day(1):
        patient = await make_patient(app, org, enroll=enrollment("MSK", "chronic_msk_pain"))
    with on_day(2):
        await set_mbi(client, org, patient, "1EG4TE5MK73")
        listing = await client.get(
            f"/v1/patients/{patient.id}/enrollments", headers=org.admin.headers
        )
        eid = listing.json()["items"][0]["id"]
        made = await client.post(
            f"/v1/patients/{patient.id}/reports",
            json={"enrollment_id": eid, "type": "baseline"},
            headers=org.admin.headers,
        )
        assert made.status_code == 201, made.text
        url = f"/v1/patients/{patient.id}/reports/{made.json()['id']}/bundle"
        response = await client.get(url, headers=org.admin.headers)
    assert response.status_code == 409
    assert [f["path"] for f in response.json()["fields"]] == ["report.complete", "preparer.npi"]


def _as_bundle_refers(resource: dict[str, Any], patient_id: uuid.UUID) -> dict[str, Any]:
    refs = {"reference": f"urn:uuid:{patient_id}"}
    return {k: refs if k in ("subject", "source", "author") else v for k, v in resource.items()}


@pytest.mark.parametrize("track", ["MSK", "BH"])
async def test_the_same_responses_as_fhir_serves(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, track: str
) -> None:
    """A check-in is the same QuestionnaireResponse in the bundle as on /fhir, but for its
    references, which point at the bundle's Patient entry."""
    made = await make_report(app, client, org, track)
    bundle = (await client.get(made.url, headers=org.clinician.headers)).json()
    in_bundle = {
        e["resource"]["id"]: e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "QuestionnaireResponse"
    }
    search = await fhir_get(
        client, "/fhir/QuestionnaireResponse", org.clinician, {"patient": str(made.patient.id)}
    )
    served = {e["resource"]["id"]: e["resource"] for e in search.json()["entry"]}
    assert in_bundle.keys() <= served.keys()
    assert len(in_bundle) == 4
    for rid, resource in in_bundle.items():
        assert resource == _as_bundle_refers(served[rid], made.patient.id)
