"""Denied requests on patient routes leave an audit event (outcome `denied`) that outlives them.

docs/api.md "Alerts and audit"; app/audit/denials.py.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.audit.denials import NO_PATIENT
from app.audit.models import AuditEvent
from app.auth.principal import Principal
from app.db import SessionDep, on_error
from app.errors import AppError, Conflict, NotFound
from tests.conftest import is_postgres
from tests.dates import start_day
from tests.factories import OrgWorld, PatientWorld, make_org, make_patient


async def _events(app: FastAPI, **where: Any) -> list[AuditEvent]:
    async with app.state.sessionmaker() as session:
        statement = select(AuditEvent).filter_by(**where).order_by(AuditEvent.at)
        return list(await session.scalars(statement))


async def _access_log(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/v1/patients/{patient.id}/access-log", params={"limit": 1000}, headers=org.admin.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_out_of_reach_is_recorded_for_the_caller_not_the_patient(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    elsewhere = await make_org(app, "Elsewhere")
    response = await client.get(
        f"/v1/patients/{patient.id}/readings",
        headers={**elsewhere.clinician.headers, "X-Request-ID": "probe-1"},
    )
    assert response.status_code == 404
    (event,) = await _events(app, actor_id=elsewhere.clinician.id)
    assert (event.outcome, event.action, event.actor_role, event.request_id) == (
        "denied",
        "read",
        "clinician",
        "probe-1",
    )
    # No patient to attach it to: the caller's organization, the id asked for.
    assert (event.organization_id, event.patient_id) == (elsewhere.id, NO_PATIENT)
    assert (event.resource_type, event.resource_id) == ("patient", patient.id)
    # The patient's access log does not show it (it would tell the other side nothing true).
    assert all(
        e["actor_id"] != str(elsewhere.clinician.id)
        for e in await _access_log(client, org, patient)
    )


@pytest.mark.parametrize(
    ("ref", "resource_id"),
    [
        ("0b7c8f3e-5a51-4c1e-9d2b-2f4f6b1a9c10", uuid.UUID("0b7c8f3e-5a51-4c1e-9d2b-2f4f6b1a9c10")),
        ("not-a-uuid", None),
        ("me", None),  # staff have no "me"
    ],
)
async def test_unknown_patient_records_what_it_can(
    app: FastAPI, client: httpx.AsyncClient, ref: str, resource_id: uuid.UUID | None
) -> None:
    org = await make_org(app)
    response = await client.delete(
        f"/v1/patients/{ref}/devices/{uuid.uuid4()}", headers=org.admin.headers
    )
    assert response.status_code == 404
    (event,) = await _events(app, actor_id=org.admin.id)
    assert (event.outcome, event.action, event.organization_id, event.patient_id) == (
        "denied",
        "delete",
        org.id,
        NO_PATIENT,
    )
    assert (event.resource_type, event.resource_id) == ("patient", resource_id)


async def test_a_refused_role_is_in_the_patients_access_log(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    # A device reaches its patient but may not read the device list.
    refused = await client.get(f"/v1/patients/{patient.id}/devices", headers=patient.device.headers)
    assert refused.status_code == 403
    # A patient may not validate their own cuff.
    path = f"/v1/patients/me/devices/{patient.device.id}"
    assert (
        await client.patch(path, json={"validated": True}, headers=patient.user.headers)
    ).status_code == 403
    denied = [e for e in await _access_log(client, org, patient) if e["outcome"] == "denied"]
    assert [
        (e["actor_role"], e["action"], e["resource_type"], e["resource_id"]) for e in denied
    ] == [
        ("patient", "update", "update_device", str(patient.device.id)),
        ("device", "read", "list_devices", None),
    ]


async def test_a_missing_record_under_a_reachable_patient_is_denied_and_rolled_back(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    neighbour = await make_patient(app, org)
    # Another patient's device named under this patient: 404, and it stays unrevoked.
    response = await client.delete(
        f"/v1/patients/{patient.id}/devices/{neighbour.device.id}", headers=org.clinician.headers
    )
    assert response.status_code == 404
    (event,) = await _events(app, actor_id=org.clinician.id, outcome="denied")
    assert (event.patient_id, event.action, event.resource_type, event.resource_id) == (
        patient.id,
        "delete",
        "revoke_device",
        neighbour.device.id,
    )
    listed = await client.get(f"/v1/patients/{neighbour.id}/devices", headers=org.clinician.headers)
    assert [d["revoked_at"] for d in listed.json()["items"]] == [None]


async def test_allowed_and_anonymous_requests_record_no_denial(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    assert (await client.get(f"/v1/patients/{patient.id}")).status_code == 401
    assert (
        await client.get(f"/v1/patients/{patient.id}", headers=org.clinician.headers)
    ).status_code == 200
    # A 409 is no denial: nothing of it is kept.
    body = {"track": "eCKM", "conditions": ["hypertension"], "start_date": start_day()}
    url = f"/v1/patients/{patient.id}/enrollments"
    assert (await client.post(url, json=body, headers=org.clinician.headers)).status_code == 201
    assert (await client.post(url, json=body, headers=org.clinician.headers)).status_code == 409
    assert await _events(app, outcome="denied") == []


async def test_every_patient_route_records_an_outsiders_404(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    elsewhere = await make_org(app, "Elsewhere")
    routes = [
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if "{patient_id}" in path
        for method in operations
    ]
    assert len(routes) >= 20
    for method, path in routes:
        url = re.sub(
            r"\{[a-z_]+\}",
            lambda _: str(uuid.uuid4()),
            path.replace("{patient_id}", str(patient.id)),
        )
        body: dict[str, object] | None = {} if method in ("POST", "PATCH", "PUT") else None
        response = await client.request(method, url, json=body, headers=elsewhere.clinician.headers)
        assert response.status_code == 404, (method, path)
    events = await _events(app, actor_id=elsewhere.clinician.id)
    assert len(events) == len(routes)
    assert {(e.outcome, e.patient_id, e.resource_id) for e in events} == {
        ("denied", NO_PATIENT, patient.id)
    }


# --- the transaction: the request's writes roll back, the denial is committed ---------------------


async def test_the_denial_outlives_the_requests_rolled_back_writes(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    """`get_session` rolls the request back, then commits what `on_error` records."""
    principal = org.clinician.principal

    def _write(session: AsyncSession, resource_type: str) -> None:
        audit_service.record(
            session,
            principal=principal,
            organization_id=org.id,
            patient_id=patient.id,
            action="update",
            resource_type=resource_type,
        )

    async def failing(session: SessionDep, status: int) -> None:
        on_error(session, lambda s, error: _write(s, f"kept_after_{error.status_code}"))
        _write(session, "rolled_back")
        await session.flush()
        raise (NotFound() if status == 404 else Conflict("No."))

    app.add_api_route("/test/failing/{status}", failing, methods=["POST"])
    for status in (404, 409):
        assert (await client.post(f"/test/failing/{status}")).status_code == status
    written = {"rolled_back", "kept_after_404", "kept_after_409"}
    kept = {e.resource_type for e in await _events(app, actor_id=principal.id)} & written
    assert kept == {"kept_after_404", "kept_after_409"}


def test_denial_ignores_other_errors() -> None:
    from app.audit.denials import Denial

    added: list[object] = []

    class FakeSession:
        def add_all(self, rows: Any) -> None:
            added.extend(rows)

    principal = Principal(id=uuid.uuid4(), role="patient", organization_id=uuid.uuid4())
    denial = Denial(principal=principal, method="GET", operation="get_patient", requested=None)
    for error in (Conflict("x"), AppError("x")):
        denial(FakeSession(), error)  # type: ignore[arg-type]
    assert added == []


# --- the trail cannot be emptied ------------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.parametrize("statement", ["TRUNCATE audit_events", "TRUNCATE audit_events CASCADE"])
async def test_truncate_is_refused_on_postgresql(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld, statement: str
) -> None:
    assert is_postgres()
    await client.get(f"/v1/patients/{patient.id}", headers=org.clinician.headers)
    with pytest.raises(DBAPIError, match="append-only"):
        async with app.state.sessionmaker() as session, session.begin():
            await session.execute(text(statement))
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(AuditEvent))
