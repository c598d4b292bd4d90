"""Care periods: status from dates, control group, referring clinician, follow-on periods."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app
from app.outcomes.rules import DEFAULT_RULESET
from tests.conftest import make_settings
from tests.factories import make_org, make_patient
from tests.outcomes.helpers import (
    cuff,
    date_of,
    enrollment,
    labs,
    measure,
    on_day,
    prepare,
    progress,
    reporting,
)

CLINICIAN = {
    "name": "Dr. Rivera",
    "npi": "1234567893",
    "organization": "Main Street Family Practice",
    "direct_address": "rivera@direct.mainstreet.example",
}


async def _enroll(
    client: httpx.AsyncClient, headers: dict[str, str], patient_id: Any, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(f"/v1/patients/{patient_id}/enrollments", json=body, headers=headers)


async def test_status_follows_the_dates_and_disenrollment(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    with on_day(1):
        patient = await make_patient(app, org)
        created = await _enroll(
            client,
            org.clinician.headers,
            patient.id,
            enrollment("eCKM", "hypertension", control_group=True, referring_clinician=CLINICIAN),
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert (body["status"], body["day"], body["control_group"]) == ("active", 1, True)
        assert body["referring_clinician"] == CLINICIAN
        assert body["end_date"] == date_of(365).isoformat()
        url = f"/v1/patients/{patient.id}/enrollments"
    with on_day(366):
        (item,) = (await client.get(url, headers=patient.user.headers)).json()["items"]
        assert (item["status"], item["day"]) == ("completed", 366)
        # A completed period cannot be disenrolled.
        left = await client.post(
            f"{url}/{item['id']}/disenroll",
            json={"reason": "relocated"},
            headers=org.clinician.headers,
        )
        assert left.status_code == 409
        assert "completed" in left.json()["detail"]
    with on_day(100):
        left = await client.post(
            f"{url}/{item['id']}/disenroll",
            json={"reason": "relocated"},
            headers=patient.user.headers,
        )
        assert left.status_code == 200, left.text
        assert left.json()["status"] == "disenrolled"
        assert (
            await client.get(f"/v1/patients/{patient.id}/reporting", headers=org.admin.headers)
        ).json()["items"] == []


async def test_staff_set_the_control_group_and_referring_clinician(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    other = await make_org(app, "Elsewhere")
    with on_day(1):
        patient = await make_patient(app, org, enroll=enrollment("BH", "anxiety"))
        (item,) = (
            await client.get(f"/v1/patients/{patient.id}/enrollments", headers=org.admin.headers)
        ).json()["items"]
        url = f"/v1/patients/{patient.id}/enrollments/{item['id']}"
        assert item["control_group"] is False
        assert item["referring_clinician"] is None
        changed = await client.patch(
            url,
            json={"control_group": True, "referring_clinician": {"name": "Dr. Ng"}},
            headers=org.clinician.headers,
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["control_group"] is True
        assert changed.json()["referring_clinician"] == {
            "name": "Dr. Ng",
            "npi": None,
            "organization": None,
            "direct_address": None,
        }
        cleared = await client.patch(
            url, json={"referring_clinician": None}, headers=org.admin.headers
        )
        assert cleared.json()["referring_clinician"] is None
        assert cleared.json()["control_group"] is True
        assert (
            await client.patch(url, json={"control_group": False}, headers=patient.user.headers)
        ).status_code == 403
        assert (
            await client.patch(url, json={"control_group": False}, headers=other.admin.headers)
        ).status_code == 404
        assert (await client.patch(url, json={"control_group": False})).status_code == 401
        bad_npi = await client.patch(
            url,
            json={"referring_clinician": {"name": "Dr. Ng", "npi": "1234567890"}},
            headers=org.admin.headers,
        )
        assert bad_npi.status_code == 422
        assert bad_npi.json()["fields"][0]["path"] == "referring_clinician.npi"
        assert "check digit" in bad_npi.json()["fields"][0]["message"]
        unknown = await client.patch(url, json={"track": "MSK"}, headers=org.admin.headers)
        assert unknown.status_code == 422


async def test_follow_on_rules(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    with on_day(1):
        patient = await make_patient(app, org, enroll=enrollment("eCKM", "hypertension"))
        lonely = await make_patient(app, org)
    staff = org.clinician
    with on_day(300):
        too_soon = await _enroll(
            client,
            staff.headers,
            patient.id,
            enrollment("eCKM", "hypertension", start=date_of(305), period="follow_on"),
        )
        assert too_soon.status_code == 422
        assert date_of(306).isoformat() in too_soon.json()["detail"]
        assert too_soon.json()["fields"][0]["path"] == "start_date"
        initial_again = await _enroll(
            client,
            staff.headers,
            patient.id,
            enrollment("eCKM", "hypertension", start=date_of(306)),
        )
        assert initial_again.status_code == 409
        nothing_before = await _enroll(
            client,
            staff.headers,
            lonely.id,
            enrollment("eCKM", "hypertension", start=date_of(306), period="follow_on"),
        )
        assert nothing_before.status_code == 422
        msk = await _enroll(
            client,
            staff.headers,
            patient.id,
            enrollment("MSK", "chronic_msk_pain", period="follow_on"),
        )
        assert msk.status_code == 422
    with on_day(306):
        # In the last 60 days of the initial period: accepted while it is still active.
        follow_on = await _enroll(
            client,
            staff.headers,
            patient.id,
            enrollment("eCKM", "hypertension", start=date_of(306), period="follow_on"),
        )
        assert follow_on.status_code == 201, follow_on.text
        listed = (
            await client.get(f"/v1/patients/{patient.id}/enrollments", headers=staff.headers)
        ).json()["items"]
        assert [(e["period"], e["status"]) for e in listed] == [
            ("follow_on", "active"),
            ("initial", "active"),
        ]
        assert follow_on.json()["previous_id"] == listed[1]["id"]


async def test_a_follow_on_takes_the_initial_end_of_period_report_as_baseline(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    with on_day(1):
        patient = await make_patient(app, org, enroll=enrollment("eCKM", "hypertension"))
    staff = org.clinician
    with on_day(372):
        await cuff(client, patient.device, [(1, 150), (2, 150), (3, 150)])
        await labs(client, staff, patient.id, [("hba1c", 1, 5.6), ("ldl", 1, 110)])
        await cuff(client, patient.device, [(370, 134), (371, 133), (372, 132)])
        initial_id = (await progress(client, staff, patient.id))["enrollment_id"]
        final = await prepare(client, staff, patient.id, initial_id, "end_of_period")
        assert final.status_code == 201, final.text
        assert final.json()["attained"] is True  # 150 -> 133: a 17 mmHg drop
        follow_on = await _enroll(
            client,
            staff.headers,
            patient.id,
            enrollment("eCKM", "hypertension", start=date_of(366), period="follow_on"),
        )
        assert follow_on.status_code == 201, follow_on.text
    with on_day(380):
        response = await client.get(f"/v1/patients/{patient.id}/progress", headers=staff.headers)
        items = {i["enrollment_id"]: i for i in response.json()["items"]}
        follow = items[follow_on.json()["id"]]
        bp = measure(follow, "blood_pressure")
        assert bp["baseline"]["from_report"] is True
        assert bp["baseline"]["value"] == 133.0
        assert bp["baseline"]["on"] == date_of(372).isoformat()
        assert items[initial_id]["attained"] is True
        windows = (
            await client.get(f"/v1/patients/{patient.id}/reporting", headers=staff.headers)
        ).json()["items"]
        follow_windows = next(w for w in windows if w["enrollment_id"] == follow_on.json()["id"])[
            "windows"
        ]
        assert follow_windows[0]["type"] == "baseline"
        assert follow_windows[0]["status"] == "reported"
        assert follow_windows[0]["report_id"] == final.json()["id"]


async def test_reports_are_staff_work_and_stay_in_reach(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    other = await make_org(app, "Elsewhere")
    with on_day(1):
        patient = await make_patient(app, org, enroll=enrollment("eCKM", "hypertension"))
        neighbour = await make_patient(app, org, enroll=enrollment("eCKM", "hypertension"))
    with on_day(5):
        await cuff(client, patient.device, [(2, 140), (3, 141), (4, 142)])
        await labs(client, org.clinician, patient.id, [("hba1c", 3, 5.8), ("ldl", 3, 120)])
        eid = (await progress(client, org.clinician, patient.id))["enrollment_id"]
        body = {"enrollment_id": eid, "type": "baseline"}
        url = f"/v1/patients/{patient.id}/reports"
        assert (await client.post(url, json=body, headers=patient.user.headers)).status_code == 403
        assert (
            await client.post(url, json=body, headers=patient.device.headers)
        ).status_code == 403
        assert (await client.post(url, json=body)).status_code == 401
        assert (await client.post(url, json=body, headers=other.admin.headers)).status_code == 404
        # Someone else's care period under this patient: not found.
        neighbour_eid = (await progress(client, org.clinician, neighbour.id))["enrollment_id"]
        wrong = await client.post(
            url, json={**body, "enrollment_id": neighbour_eid}, headers=org.admin.headers
        )
        assert wrong.status_code == 404
        made = await client.post(url, json=body, headers=org.admin.headers)
        assert made.status_code == 201, made.text
        report_url = f"{url}/{made.json()['id']}"
        assert (await client.get(report_url, headers=patient.user.headers)).status_code == 200
        assert (await client.get(report_url, headers=neighbour.user.headers)).status_code == 404
        assert (
            await client.get(
                f"/v1/patients/{neighbour.id}/reports/{made.json()['id']}",
                headers=org.admin.headers,
            )
        ).status_code == 404
        assert (await client.get(report_url, headers=other.admin.headers)).status_code == 404
        assert (await client.get(report_url)).status_code == 401
        assert (await client.get(report_url, headers=patient.device.headers)).status_code == 403
        windows = await reporting(client, patient.user, patient.id)
        assert windows[0]["status"] == "reported"
        assert (
            await client.get(f"/v1/patients/{patient.id}/reporting", headers=other.admin.headers)
        ).status_code == 404
        assert (
            await client.get("/v1/organization/reporting", headers=patient.user.headers)
        ).status_code == 403


@pytest.mark.parametrize(("from_day", "status"), [(306, 422), (300, 201)])
async def test_the_follow_on_day_is_a_ruleset_number(
    database_url: str, tmp_path: Path, from_day: int, status: int
) -> None:
    text = DEFAULT_RULESET.read_text()
    assert text.count("follow_on_from_day = 306") == 1
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text(
        text.replace("follow_on_from_day = 306", f"follow_on_from_day = {from_day}")
    )
    app = create_app(make_settings(database_url, ACCESS_RPM_RULES_FILE=str(rules_file)))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            org = await make_org(app)
            with on_day(300):
                patient = await make_patient(app, org, enroll=enrollment("BH", "anxiety"))
                body = enrollment("BH", "anxiety", start=date_of(300), period="follow_on")
                response = await _enroll(client, org.clinician.headers, patient.id, body)
    assert response.status_code == status, response.text
