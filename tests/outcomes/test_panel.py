"""The clinician panel: GET /v1/patients ordered by need and filtered by outcome status."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import httpx
from fastapi import FastAPI

from app.patients.models import Patient
from tests.factories import Actor, OrgWorld, PatientWorld, make_org, make_patient

TODAY = datetime.now(UTC).date()
START = TODAY - timedelta(days=100)


def _at(day: date) -> str:
    return datetime.combine(day, time(12), tzinfo=UTC).isoformat()


async def _cuff(client: httpx.AsyncClient, device: Actor, readings: list[tuple[date, int]]) -> None:
    body = {
        "readings": [
            {"type": "blood_pressure", "systolic": s, "diastolic": 90, "effective_at": _at(d)}
            for d, s in readings
        ]
    }
    response = await client.post(
        "/v1/patients/me/readings/batch", json=body, headers=device.headers
    )
    assert response.status_code == 200, response.text


async def _ckm(app: FastAPI, org_world: OrgWorld, family: str) -> PatientWorld:
    patient = await make_patient(
        app,
        org_world,
        enroll={"track": "CKM", "conditions": ["ascvd"], "start_date": START.isoformat()},
    )
    async with app.state.sessionmaker() as session, session.begin():
        row = await session.get(Patient, patient.id)
        assert row is not None
        row.family_name = family
    return patient


async def test_panel_orders_by_need_and_filters(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    calm = await _ckm(app, org, "Adams")  # met: controlled
    urgent = await _ckm(app, org, "Young")  # an open urgent alert
    drifting = await _ckm(app, org, "Baker")  # off track
    quiet = await _ckm(app, org, "Clark")  # insufficient data
    baseline = [(START + timedelta(days=d), 150) for d in (1, 2, 3)]
    recent = [TODAY - timedelta(days=d) for d in (1, 4, 8, 12, 20, 25)]
    await _cuff(client, calm.device, baseline + [(d, 122) for d in recent])
    await _cuff(client, drifting.device, baseline + [(d, 149) for d in recent])
    await _cuff(client, quiet.device, baseline)
    await _cuff(client, urgent.device, baseline + [(d, 124) for d in recent[1:]])
    await _cuff(client, urgent.device, [(recent[0], 186)])  # >= 180: urgent alert
    for patient in (calm, urgent, drifting, quiet):  # LDL applies to every CKM patient
        lab = {
            "type": "ldl",
            "value": 62,
            "unit": "mg/dL",
            "effective_at": _at(START + timedelta(days=2)),
            "source": {"kind": "lab"},
        }
        stored = await client.post(
            f"/v1/patients/{patient.id}/readings", json=lab, headers=org.clinician.headers
        )
        assert stored.status_code == 201, stored.text

    panel = await client.get("/v1/patients", headers=org.clinician.headers)
    assert panel.status_code == 200, panel.text
    items = panel.json()["items"]
    assert [p["family_name"] for p in items] == ["Young", "Baker", "Clark", "Adams"]
    assert [p["open_urgent_alerts"] for p in items] == [1, 0, 0, 0]
    assert [p["outcome_status"] for p in items][1:] == ["off_track", "insufficient_data", "met"]

    off = await client.get(
        "/v1/patients", params={"status": "off_track"}, headers=org.admin.headers
    )
    # Young is off track too (the 186 keeps the mean up), and first by need.
    assert [p["family_name"] for p in off.json()["items"]] == ["Young", "Baker"]

    first = (
        await client.get("/v1/patients", params={"limit": 3}, headers=org.admin.headers)
    ).json()
    rest = (
        await client.get(
            "/v1/patients",
            params={"limit": 3, "cursor": first["next_cursor"]},
            headers=org.admin.headers,
        )
    ).json()
    assert [p["family_name"] for p in first["items"] + rest["items"]] == [
        "Young",
        "Baker",
        "Clark",
        "Adams",
    ]
    assert rest["next_cursor"] is None

    newest = await client.get("/v1/patients", params={"order": "newest"}, headers=org.admin.headers)
    assert [p["family_name"] for p in newest.json()["items"]] == [
        "Clark",
        "Baker",
        "Young",
        "Adams",
    ]
