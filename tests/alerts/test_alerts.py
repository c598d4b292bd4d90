"""Alerts opened on ingest, listed, read and worked by staff (episodes: test_episodes.py)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from app.alerts import service as alerts_service
from app.patients import reach
from tests.dates import start_day
from tests.factories import OrgWorld, PatientWorld, make_org, make_patient
from tests.readings.helpers import bp, glucose, post_batch, post_one, statuses


async def _alerts(client: httpx.AsyncClient, org: OrgWorld, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/v1/alerts", params=params, headers=org.clinician.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_crisis_blood_pressure_opens_one_urgent_alert(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    created = await post_one(client, patient.device, "me", bp(182, 95))
    assert created.status_code == 201
    (alert,) = await _alerts(client, org)
    assert alert["patient_id"] == str(patient.id)
    assert alert["kind"] == "blood_pressure_crisis"
    assert alert["severity"] == "urgent"
    assert alert["status"] == "open"
    assert alert["source_id"] == created.json()["id"]
    assert alert["created_at"]
    # The same reading sent again (single or in a batch) opens none.
    assert (await post_one(client, patient.device, "me", bp(182, 95))).status_code == 200
    assert statuses(await post_batch(client, patient.device, "me", [bp(182, 95)])) == {
        "duplicate": 1
    }
    assert len(await _alerts(client, org)) == 1


@pytest.mark.parametrize(
    ("reading", "expected"),
    [
        (bp(179, 119), None),
        (bp(180, 90), ("blood_pressure_crisis", "urgent")),
        (bp(150, 120), ("blood_pressure_crisis", "urgent")),
        (glucose(53.9), ("hypoglycemia_level_2", "urgent")),
        (glucose(54), ("hypoglycemia_level_1", "warning")),
        (glucose(69.9), ("hypoglycemia_level_1", "warning")),
        # 3.0 mmol/L x 18.016 = 54.048 -> 54.0 mg/dL: level 1; 2.9 mmol/L -> 52.2: level 2.
        (glucose(3.0, unit="mmol/L"), ("hypoglycemia_level_1", "warning")),
        (glucose(2.9, unit="mmol/L"), ("hypoglycemia_level_2", "urgent")),
        (glucose(70), None),
        (glucose(400), None),
    ],
)
async def test_alert_thresholds(
    client: httpx.AsyncClient,
    org: OrgWorld,
    patient: PatientWorld,
    reading: dict[str, Any],
    expected: tuple[str, str] | None,
) -> None:
    assert (await post_one(client, patient.user, "me", reading)).status_code == 201
    alerts = await _alerts(client, org)
    assert [(a["kind"], a["severity"]) for a in alerts] == ([expected] if expected else [])


async def test_a_batch_opens_an_episode_per_condition(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    # Meter glucose (blood) and a crisis: each low reading stands for 15 minutes, so the lows
    # make one hypoglycaemia episode (urgent: 15 minutes below 54), the crisis its own.
    batch = [glucose(50, minutes=0), glucose(60, minutes=5), glucose(90, minutes=10), bp(185, 100)]
    assert statuses(await post_batch(client, patient.device, "me", batch)) == {"created": 4}
    alerts = await _alerts(client, org)
    assert sorted((a["kind"], a["count"]) for a in alerts) == [
        ("blood_pressure_crisis", 1),
        ("hypoglycemia_level_2", 2),
    ]
    assert len(await _alerts(client, org, severity="urgent")) == 2
    assert await _alerts(client, org, severity="warning", patient_id=str(patient.id)) == []


async def test_acknowledge_then_resolve(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    await post_one(client, patient.device, "me", bp(190, 125))
    (alert,) = await _alerts(client, org, status="open")
    path = f"/v1/alerts/{alert['id']}"
    acknowledged = await client.post(f"{path}/acknowledge", headers=org.clinician.headers)
    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["status"] == "acknowledged"
    assert acknowledged.json()["acknowledged_by"] == str(org.clinician.id)
    # Retrying the same step is harmless.
    again = await client.post(f"{path}/acknowledge", headers=org.admin.headers)
    assert again.status_code == 200
    assert again.json()["acknowledged_by"] == str(org.clinician.id)
    assert await _alerts(client, org, status="open") == []
    resolved = await client.post(f"{path}/resolve", headers=org.admin.headers)
    assert resolved.status_code == 200
    assert resolved.json()["status"] == "resolved"
    assert resolved.json()["resolved_by"] == str(org.admin.id)
    assert (await client.post(f"{path}/resolve", headers=org.admin.headers)).status_code == 200
    backwards = await client.post(f"{path}/acknowledge", headers=org.clinician.headers)
    assert backwards.status_code == 409
    assert backwards.json()["error"] == "Conflict"
    assert [a["id"] for a in await _alerts(client, org, status="resolved")] == [alert["id"]]


async def test_alerts_stay_inside_the_organization(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    await post_one(client, patient.device, "me", bp(190, 100))
    (alert,) = await _alerts(client, org)
    other = await make_org(app, "Elsewhere")
    assert await _alerts(client, other) == []
    assert await _alerts(client, other, patient_id=str(patient.id)) == []
    for action in ("acknowledge", "resolve"):
        response = await client.post(
            f"/v1/alerts/{alert['id']}/{action}", headers=other.clinician.headers
        )
        assert response.status_code == 404
    unknown = await client.post(
        "/v1/alerts/00000000-0000-4000-8000-000000000000/resolve", headers=org.clinician.headers
    )
    assert unknown.status_code == 404


async def test_alerts_are_for_staff(client: httpx.AsyncClient, patient: PatientWorld) -> None:
    assert (await client.get("/v1/alerts")).status_code == 401
    assert (await client.get("/v1/alerts", headers=patient.user.headers)).status_code == 403
    assert (await client.get("/v1/alerts", headers=patient.device.headers)).status_code == 403
    fake = "/v1/alerts/00000000-0000-4000-8000-000000000000"
    assert (await client.post(f"{fake}/acknowledge")).status_code == 401
    response = await client.post(f"{fake}/resolve", headers=patient.user.headers)
    assert response.status_code == 403


async def test_alert_list_paginates_and_filters_validate(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    # Five crisis episodes, each ended by the normal reading after it.
    batch = [bp(190 if i % 2 == 0 else 120, 90, minutes=i) for i in range(10)]
    assert statuses(await post_batch(client, patient.device, "me", batch)) == {"created": 10}
    first = await client.get("/v1/alerts", params={"limit": 2}, headers=org.clinician.headers)
    seen = [a["id"] for a in first.json()["items"]]
    starts = [a["first_at"] for a in first.json()["items"]]
    cursor = first.json()["next_cursor"]
    while cursor:
        page = await client.get(
            "/v1/alerts", params={"limit": 2, "cursor": cursor}, headers=org.clinician.headers
        )
        seen += [a["id"] for a in page.json()["items"]]
        starts += [a["first_at"] for a in page.json()["items"]]
        cursor = page.json()["next_cursor"]
    assert len(seen) == len(set(seen)) == 5
    assert starts == sorted(starts, reverse=True)  # the latest episode start first
    for params in ({"status": "closed"}, {"severity": "high"}, {"patient_id": "nobody"}):
        response = await client.get("/v1/alerts", params=params, headers=org.clinician.headers)
        assert response.status_code == 422, params


async def test_alerts_are_audited(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    await post_one(client, patient.device, "me", bp(200, 110))
    (alert,) = await _alerts(client, org)
    await client.post(f"/v1/alerts/{alert['id']}/acknowledge", headers=org.clinician.headers)
    log = await client.get(f"/v1/patients/{patient.id}/access-log", headers=patient.user.headers)
    events = {(e["action"], e["resource_type"], e["actor_role"]) for e in log.json()["items"]}
    assert ("create", "alert", "device") in events
    assert ("read", "alert", "clinician") in events
    assert ("update", "alert", "clinician") in events


async def test_open_alert_is_reusable_and_once_per_source(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    """What check-ins will do for PHQ-9 item 9: open an alert for their own source."""
    source = uuid4()
    spec = alerts_service.AlertSpec(
        kind="self_harm_risk", severity="urgent", source_type="checkin", source_id=source
    )
    opened: list[object] = []
    for _ in range(2):
        async with app.state.sessionmaker() as session, session.begin():
            loaded = await reach.get_reachable(session, principal=patient.user.principal, ref="me")
            opened.append(
                await alerts_service.open_alert(
                    session, principal=patient.user.principal, patient=loaded, spec=spec
                )
            )
    assert opened[0] is not None
    assert opened[1] is None
    (alert,) = await _alerts(client, org)
    assert alert["kind"] == "self_harm_risk"
    assert alert["source_id"] == str(source)


async def test_an_alert_by_id_with_its_patient_and_tracks(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld
) -> None:
    enrolled = await make_patient(
        app, org, enroll={"track": "CKM", "conditions": ["diabetes"], "start_date": start_day()}
    )
    await post_one(client, enrolled.device, "me", bp(195, 100))
    (listed,) = [a for a in await _alerts(client, org) if a["kind"] == "blood_pressure_crisis"]
    response = await client.get(f"/v1/alerts/{listed['id']}", headers=org.admin.headers)
    assert response.status_code == 200, response.text
    alert = response.json()
    assert alert == listed
    assert (alert["patient_name"], alert["tracks"]) == ("Pat Tester", ["CKM"])
    assert (alert["count"], alert["worst"]) == (1, {"systolic": 195, "diastolic": 100})
    assert alert["first_at"] == alert["last_at"]
    assert alert["ended_at"] is None


async def test_an_alert_by_id_is_for_its_organizations_staff(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    await post_one(client, patient.device, "me", bp(195, 100))
    (alert,) = await _alerts(client, org)
    url = f"/v1/alerts/{alert['id']}"
    other = await make_org(app, "Elsewhere")
    assert (await client.get(url, headers=other.clinician.headers)).status_code == 404
    assert (await client.get(url, headers=other.admin.headers)).status_code == 404
    unknown = "/v1/alerts/00000000-0000-4000-8000-000000000000"
    assert (await client.get(unknown, headers=org.clinician.headers)).status_code == 404
    assert (await client.get(url)).status_code == 401
    assert (await client.get(url, headers=patient.user.headers)).status_code == 403
    assert (await client.get(url, headers=patient.device.headers)).status_code == 403
    response = await client.post(
        f"{url}/acknowledge", json={"note": "called"}, headers=other.clinician.headers
    )
    assert response.status_code == 404


async def test_notes_are_kept_with_who_and_when(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    await post_one(client, patient.device, "me", bp(200, 110))
    (alert,) = await _alerts(client, org)
    path = f"/v1/alerts/{alert['id']}"
    note = "Called the patient: repeat reading 150/90, no symptoms."
    acknowledged = await client.post(
        f"{path}/acknowledge", json={"note": f"  {note} "}, headers=org.clinician.headers
    )
    assert acknowledged.status_code == 200, acknowledged.text
    body = acknowledged.json()
    assert (body["acknowledged_note"], body["acknowledged_by"]) == (note, str(org.clinician.id))
    assert body["acknowledged_at"]
    # A retry with another note changes nothing.
    again = await client.post(
        f"{path}/acknowledge", json={"note": "another"}, headers=org.admin.headers
    )
    assert again.json()["acknowledged_note"] == note
    # No body, an empty object, or a null note: no note.
    resolved = await client.post(f"{path}/resolve", headers=org.admin.headers)
    assert (resolved.json()["resolved_note"], resolved.json()["resolved_by"]) == (
        None,
        str(org.admin.id),
    )
    fetched = await client.get(path, headers=org.clinician.headers)
    assert fetched.json()["acknowledged_note"] == note
    await post_one(client, patient.device, "me", bp(120, 80, minutes=5))
    await post_one(client, patient.device, "me", bp(205, 100, minutes=10))
    second = next(a for a in await _alerts(client, org) if a["id"] != alert["id"])
    response = await client.post(
        f"/v1/alerts/{second['id']}/resolve", json={"note": None}, headers=org.admin.headers
    )
    assert response.status_code == 200
    assert response.json()["resolved_note"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"note": "x" * 1001},
        {"note": "two\nlines"},
        {"note": "bell \x07"},
        {"note": "   "},
        {"note": 5},
        {"note": "ok", "extra": 1},
    ],
)
async def test_bad_notes_are_refused(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld, body: dict[str, Any]
) -> None:
    await post_one(client, patient.device, "me", bp(200, 110))
    (alert,) = await _alerts(client, org)
    response = await client.post(
        f"/v1/alerts/{alert['id']}/acknowledge", json=body, headers=org.clinician.headers
    )
    assert response.status_code == 422, response.text
    (unchanged,) = await _alerts(client, org)
    assert unchanged["status"] == "open"
    longest = await client.post(
        f"/v1/alerts/{alert['id']}/acknowledge",
        json={"note": "y" * 1000},
        headers=org.clinician.headers,
    )
    assert longest.status_code == 200


async def test_reading_an_alert_by_id_is_audited(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    await post_one(client, patient.device, "me", bp(200, 110))
    (alert,) = await _alerts(client, org)
    await client.get(f"/v1/alerts/{alert['id']}", headers=org.admin.headers)
    log = await client.get(f"/v1/patients/{patient.id}/access-log", headers=patient.user.headers)
    events = {
        (e["action"], e["resource_type"], e["actor_role"], e["resource_id"])
        for e in log.json()["items"]
    }
    assert ("read", "alert", "admin", alert["id"]) in events
