"""The audit trail: written with the access it records, visible to the patient, append-only."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app.audit.models import AuditEvent
from app.clock import utc_today
from tests.dates import start_day
from tests.factories import make_org, make_patient


async def test_clinician_read_shows_in_access_log(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org)
    read = await client.get(
        f"/v1/patients/{patient.id}", headers={**org.clinician.headers, "X-Request-ID": "req-42"}
    )
    assert read.status_code == 200
    log = await client.get("/v1/patients/me/access-log", headers=patient.user.headers)
    assert log.status_code == 200
    events = log.json()["items"]
    reads = [e for e in events if e["action"] == "read" and e["resource_type"] == "patient"]
    assert len(reads) == 1
    assert reads[0]["actor_id"] == str(org.clinician.id)
    assert reads[0]["actor_role"] == "clinician"
    assert reads[0]["request_id"] == "req-42"
    assert reads[0]["outcome"] == "success"


async def test_failed_request_leaves_no_event(app: FastAPI, client: httpx.AsyncClient) -> None:
    """The event is in the request's transaction: a rolled-back write records nothing."""
    org = await make_org(app)
    patient = await make_patient(app, org)
    async with app.state.sessionmaker() as session:
        before = await session.scalar(select(func.count()).select_from(AuditEvent))
    body = {"track": "eCKM", "conditions": ["hypertension"], "start_date": start_day()}
    url = f"/v1/patients/{patient.id}/enrollments"
    assert (await client.post(url, json=body, headers=org.clinician.headers)).status_code == 201
    assert (await client.post(url, json=body, headers=org.clinician.headers)).status_code == 409
    async with app.state.sessionmaker() as session:
        after = await session.scalar(select(func.count()).select_from(AuditEvent))
    assert after == (before or 0) + 1


async def test_list_read_audits_each_patient(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    first = await make_patient(app, org)
    second = await make_patient(app, org)
    listed = await client.get("/v1/patients", headers=org.admin.headers)
    assert {p["id"] for p in listed.json()["items"]} == {str(first.id), str(second.id)}
    for patient in (first, second):
        log = await client.get(f"/v1/patients/{patient.id}/access-log", headers=org.admin.headers)
        actions = [(e["actor_role"], e["action"]) for e in log.json()["items"]]
        assert ("admin", "read") in actions


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"]
)
async def test_audit_events_are_append_only(
    app: FastAPI, client: httpx.AsyncClient, statement: str
) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org)
    await client.get(f"/v1/patients/{patient.id}", headers=org.clinician.headers)
    with pytest.raises(DBAPIError, match="append-only"):
        async with app.state.sessionmaker() as session, session.begin():
            await session.execute(text(statement))


async def test_access_log_paginates(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org)
    for _ in range(5):
        await client.get(f"/v1/patients/{patient.id}", headers=org.clinician.headers)
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (
            await client.get(
                f"/v1/patients/{patient.id}/access-log", params=params, headers=org.admin.headers
            )
        ).json()
        seen.extend(e["id"] for e in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert len(seen) >= 7  # patient and device creation, five reads


@pytest.mark.parametrize("as_of", [None, "today"])
async def test_attainment_audits_each_patient_counted(
    app: FastAPI, client: httpx.AsyncClient, as_of: str | None
) -> None:
    """Stored (no `as_of`: one INSERT ... SELECT) or afresh, every patient counted, control
    group included, has a read event; a patient of no period has none."""
    org = await make_org(app)
    eckm = {"track": "eCKM", "conditions": ["hypertension"], "start_date": start_day()}
    counted = await make_patient(app, org, enroll=eckm)
    control = await make_patient(app, org, enroll={**eckm, "control_group": True})
    outside = await make_patient(app, org)
    params = {"as_of": utc_today().isoformat()} if as_of else {}
    response = await client.get(
        "/v1/organization/attainment", params=params, headers=org.admin.headers
    )
    assert response.status_code == 200, response.text
    assert (response.json()["periods"], response.json()["control_group_periods"]) == (1, 1)
    async with app.state.sessionmaker() as session:
        rows = (
            await session.execute(
                select(AuditEvent.patient_id, AuditEvent.actor_id, AuditEvent.outcome).where(
                    AuditEvent.resource_type == "attainment"
                )
            )
        ).all()
    assert sorted(rows) == sorted(
        (p.id, org.admin.principal.id, "success") for p in (counted, control)
    )
    assert outside.id not in {r[0] for r in rows}
