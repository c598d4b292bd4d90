"""The ACCESS reporting calendar over HTTP: outcomes judged at report dates as CMS judges them.

One scenario per point of the calendar (docs/api.md "Care periods and the ACCESS reporting
calendar"); the service's clock is moved to each day (`on_day`), never slept on.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.factories import OrgWorld, PatientWorld, make_org, make_patient
from tests.outcomes.helpers import (
    checkin,
    cuff,
    date_of,
    enrollment,
    enrollment_id,
    labs,
    manual_bp,
    measure,
    on_day,
    prepare,
    progress,
    reporting,
    statuses,
    worker_pass,
)


async def _eckm(app: FastAPI, org: OrgWorld, *conditions: str, **more: Any) -> PatientWorld:
    with on_day(1):
        return await make_patient(
            app, org, enroll=enrollment("eCKM", *(conditions or ("hypertension",)), **more)
        )


async def _eckm_labs(client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld) -> None:
    """The HbA1c and LDL baselines every eCKM patient needs, even with hypertension only."""
    await labs(client, org.clinician, patient.id, [("hba1c", 1, 5.6), ("ldl", 1, 110)])


async def test_attained_is_null_mid_period_and_true_only_from_a_complete_eop_report(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await _eckm(app, org)
    with on_day(3):
        await cuff(client, patient.device, [(1, 126), (2, 124), (3, 125)])
        await _eckm_labs(client, org, patient)
    with on_day(5):
        item = await progress(client, org.clinician, patient.id)
        # Below 130 on day 5 is not an outcome: nothing has been reported at the end.
        assert statuses(item)["blood_pressure"] == "met"
        assert item["attained"] is None
        assert item["projected"] is True
        assert item["status"] == "active"
        assert item["next_window"]["type"] == "baseline"
    with on_day(372):
        await cuff(client, patient.device, [(370, 122), (371, 121), (372, 120)])
        item = await progress(client, org.clinician, patient.id)
        assert item["status"] == "completed"
        assert item["attained"] is None  # the end-of-period window is open, no report yet
        enrollment_ = item["enrollment_id"]
        made = await prepare(client, org.clinician, patient.id, enrollment_, "end_of_period")
        assert made.status_code == 201, made.text
        report = made.json()
        assert report["complete"] is True
        assert report["attained"] is True
        (bp,) = report["measures"]
        assert bp["value"] == 121.0
        assert bp["status"] == "met"
        assert (await progress(client, org.clinician, patient.id))["attained"] is True


async def test_readings_on_days_58_65_70_make_no_baseline(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await _eckm(app, org)
    with on_day(70):
        await cuff(client, patient.device, [(58, 150), (65, 150), (70, 150)])
    with on_day(75):
        bp = measure(await progress(client, org.clinician, patient.id), "blood_pressure")
        assert bp["status"] == "no_baseline"
        assert bp["baseline"] is None
        # A baseline report dated day 70 is outside its window, which closed on day 60.
        late = await prepare(
            client, org.clinician, patient.id, await enrollment_id(client, org.admin, patient.id),
            "baseline", 70,
        )  # fmt: skip
        assert late.status_code == 422, late.text
        body = late.json()
        assert body["error"] == "WindowClosed"
        assert date_of(60).isoformat() in body["detail"]
        assert date_of(1).isoformat() in body["detail"]
        assert body["fields"][0]["path"] == "report_date"


async def test_a_baseline_from_the_window_counts_and_no_baseline_never_attains(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    with_baseline = await _eckm(app, org)
    without = await _eckm(app, org)
    with on_day(372):
        # Days 50, 55, 60: three readings in the 15 days ending on day 60 make a baseline.
        await cuff(client, with_baseline.device, [(50, 150), (55, 152), (60, 154)])
        for p in (with_baseline, without):
            await cuff(client, p.device, [(370, 128), (371, 127), (372, 126)])
            await _eckm_labs(client, org, p)
        results = {}
        for name, p in (("with", with_baseline), ("without", without)):
            eid = await enrollment_id(client, org.admin, p.id)
            made = await prepare(client, org.clinician, p.id, eid, "end_of_period")
            assert made.status_code == 201, made.text
            results[name] = made.json()
    # Days 370-372 count at the end of the period (the window runs to day 425).
    assert results["with"]["complete"] is True
    assert results["with"]["measures"][0]["value"] == 127.0
    assert results["with"]["attained"] is True
    # Below 130 without any baseline is not attainment: no baseline, no outcome.
    assert results["without"]["complete"] is True
    assert results["without"]["measures"][0]["status"] == "no_baseline"
    assert results["without"]["attained"] is False


async def test_eckm_baseline_report_needs_hba1c_and_ldl_even_for_hypertension_only(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await _eckm(app, org)
    eid = await enrollment_id(client, org.admin, patient.id)
    with on_day(5):
        await cuff(client, patient.device, [(2, 140), (3, 141), (4, 142)])
        first = await prepare(client, org.clinician, patient.id, eid, "baseline")
        assert first.status_code == 201, first.text
        assert first.json()["complete"] is False
        assert first.json()["missing"] == ["hba1c", "ldl"]
        windows = await reporting(client, org.clinician, patient.id)
        baseline = windows[0]
        assert baseline["type"] == "baseline"
        assert baseline["status"] == "open"
        assert baseline["report_id"] == first.json()["id"]
        assert baseline["needed"] == ["an HbA1c result", "an LDL result"]
        await labs(client, org.clinician, patient.id, [("hba1c", 5, 5.9), ("ldl", 5, 131)])
        # The same window and date again: the incomplete report is prepared again in place.
        again = await prepare(client, org.clinician, patient.id, eid, "baseline")
        assert again.status_code == 200, again.text
        assert again.json()["id"] == first.json()["id"]
        assert again.json()["complete"] is True
        assert [m["measure"] for m in again.json()["measures"]] == [
            "blood_pressure",
            "hba1c",
            "ldl",
        ]
        # A complete report is frozen: asking again answers it unchanged.
        third = await prepare(client, org.clinician, patient.id, eid, "baseline")
        assert third.status_code == 200
        assert third.json() == again.json()
        assert (await reporting(client, org.clinician, patient.id))[0]["status"] == "reported"


async def test_end_of_period_report_is_early_from_day_275_for_eckm(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await _eckm(app, org)
    eid = await enrollment_id(client, org.admin, patient.id)
    with on_day(301):
        await cuff(client, patient.device, [(1, 150), (2, 150), (3, 150)])
        await _eckm_labs(client, org, patient)
        await cuff(client, patient.device, [(298, 128), (299, 127), (301, 126)])
        refused = await prepare(client, org.clinician, patient.id, eid, "end_of_period", 200)
        assert refused.status_code == 422
        assert refused.json()["error"] == "WindowNotOpen"
        assert date_of(275).isoformat() in refused.json()["detail"]
        assert date_of(425).isoformat() in refused.json()["detail"]
        early = await prepare(client, org.clinician, patient.id, eid, "end_of_period", 301)
        assert early.status_code == 201, early.text
        assert early.json()["attained"] is True
        future = await prepare(client, org.clinician, patient.id, eid, "end_of_period", 302)
        assert future.status_code == 422
        assert future.json()["fields"][0]["path"] == "report_date"


async def test_manual_blood_pressure_never_completes_a_baseline(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await _eckm(app, org)
    eid = await enrollment_id(client, org.admin, patient.id)
    with on_day(5):
        await manual_bp(client, patient.user, [(1, 140), (2, 141), (3, 142), (4, 143)])
        await labs(client, org.clinician, patient.id, [("hba1c", 2, 5.8), ("ldl", 2, 120)])
        report = await prepare(client, org.clinician, patient.id, eid, "baseline")
        assert report.json()["missing"] == ["blood_pressure"]
        windows = await reporting(client, org.clinician, patient.id)
        assert windows[0]["needed"] == [f"3 more cuff readings before {_text(60)}"]
        bp = measure(await progress(client, org.clinician, patient.id), "blood_pressure")
        assert bp["status"] == "insufficient_data"
        assert bp["baseline"] is None


def _text(day: int) -> str:
    d = date_of(day)
    return f"{d.day} {d:%B %Y}"


async def test_a_report_is_unchanged_by_later_readings(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await _eckm(app, org)
    eid = await enrollment_id(client, org.admin, patient.id)
    with on_day(10):
        await cuff(client, patient.device, [(8, 150), (9, 152), (10, 154)])
        await labs(client, org.clinician, patient.id, [("hba1c", 9, 5.8), ("ldl", 9, 120)])
        made = await prepare(client, org.clinician, patient.id, eid, "baseline")
        assert made.status_code == 201
    with on_day(12):
        # Readings that lie in the report's 15 days, but arrive later.
        await cuff(client, patient.device, [(10, 110)])
        await labs(client, org.clinician, patient.id, [("ldl", 10, 90)])
        read = await client.get(
            f"/v1/patients/{patient.id}/reports/{made.json()['id']}", headers=patient.user.headers
        )
        assert read.status_code == 200
        assert read.json() == made.json()
        listed = await client.get(f"/v1/patients/{patient.id}/reports", headers=org.admin.headers)
        assert listed.json()["items"] == [made.json()]
        # The baseline keeps the report's value, not the data's.
        bp = measure(await progress(client, org.clinician, patient.id), "blood_pressure")
        assert bp["baseline"]["from_report"] is True
        assert bp["baseline"]["value"] == 152.0


async def test_quarterly_windows_follow_the_previous_report(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await _eckm(app, org)
    eid = await enrollment_id(client, org.admin, patient.id)
    with on_day(30):
        await cuff(client, patient.device, [(28, 150), (29, 150), (30, 150)])
        await labs(client, org.clinician, patient.id, [("hba1c", 29, 5.8), ("ldl", 29, 120)])
        assert (
            await prepare(client, org.clinician, patient.id, eid, "baseline")
        ).status_code == 201
        windows = await reporting(client, org.clinician, patient.id)
        quarterly = windows[1]
        # 70 to 110 days after the baseline report of day 30.
        assert (quarterly["type"], quarterly["status"]) == ("quarterly", "upcoming")
        assert quarterly["opens"] == date_of(100).isoformat()
        assert quarterly["closes"] == date_of(140).isoformat()
        assert quarterly["needed"][0].startswith("3 cuff readings in the 15 days before")
        too_early = await prepare(client, org.clinician, patient.id, eid, "quarterly")
        assert too_early.status_code == 422
        assert too_early.json()["error"] == "WindowNotOpen"
    with on_day(130):
        windows = await reporting(client, org.clinician, patient.id)
        assert windows[1]["status"] == "due_soon"  # closes on day 140, within 14 days
        await cuff(client, patient.device, [(126, 140), (128, 139), (130, 138)])
        assert (
            await prepare(client, org.clinician, patient.id, eid, "quarterly")
        ).status_code == 201
        windows = await reporting(client, org.clinician, patient.id)
        assert [w["status"] for w in windows] == ["reported", "reported", "upcoming", "upcoming"]
        assert windows[2]["opens"] == date_of(200).isoformat()
        assert windows[3]["type"] == "end_of_period"
    with on_day(245):
        windows = await reporting(client, org.clinician, patient.id)
        # The second quarterly window (days 200-240) closed without a report; the next one
        # counts from the day it closed.
        assert [(w["type"], w["status"]) for w in windows] == [
            ("baseline", "reported"),
            ("quarterly", "reported"),
            ("quarterly", "missed"),
            ("end_of_period", "upcoming"),  # early success from day 275
            ("quarterly", "upcoming"),
        ]
        assert windows[4]["opens"] == date_of(310).isoformat()


async def test_control_group_periods_change_neither_the_rate_nor_the_payment(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    counted = await _eckm(app, org)
    control = await _eckm(app, org, control_group=True)
    with on_day(372):
        for p in (counted, control):
            await cuff(client, p.device, [(1, 150), (2, 150), (3, 150)])
        # The control-group patient would attain; the counted one does not.
        await cuff(client, counted.device, [(370, 150), (371, 150), (372, 150)])
        await cuff(client, control.device, [(370, 120), (371, 120), (372, 120)])
        for p in (counted, control):
            eid = await enrollment_id(client, org.admin, p.id)
            assert (
                await prepare(client, org.clinician, p.id, eid, "end_of_period")
            ).status_code == 201
    with on_day(430):
        response = await client.get(
            "/v1/organization/attainment",
            params={"track": "eCKM", "as_of": date_of(430).isoformat()},
            headers=org.admin.headers,
        )
    body = response.json()
    assert response.status_code == 200, response.text
    assert (body["periods"], body["control_group_periods"]) == (1, 1)
    assert (body["reported"], body["closed"], body["attained"], body["rate"]) == (1, 1, 0, 0.0)
    assert body["payment"]["outcome_aligned_payment"] == 360.0  # one eCKM period, not two
    assert body["payment"]["projected"] == 180.0  # the withhold is not earned


async def test_worklist_lists_due_soon_and_missed_windows_by_closing_day(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    with on_day(1):
        late = await make_patient(app, org, enroll=enrollment("BH", "depression"))
    with on_day(20):
        soon = await make_patient(
            app, org, enroll=enrollment("BH", "depression", start=date_of(20))
        )
    with on_day(65):
        # `late`'s baseline window (days 1-60) closed without a report; `soon`'s (its own
        # days 1-60, our days 20-79) closes within 14 days.
        assert await worker_pass(app) == 2
        response = await client.get("/v1/organization/reporting", headers=org.clinician.headers)
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        assert [(i["patient_id"], i["type"], i["status"]) for i in items] == [
            (str(late.id), "baseline", "missed"),
            (str(soon.id), "baseline", "due_soon"),
        ]
        assert items[0]["patient_name"] == "Pat Tester"
        assert items[1]["closes"] == date_of(79).isoformat()
        assert items[1]["needed"] == [
            f"the Depression (PHQ-9) check-in by {_text(79)}",
            f"the Function (WHODAS 2.0, 12 items) check-in by {_text(79)}",
        ]
        missed = await client.get(
            "/v1/organization/reporting",
            params={"status": "missed", "limit": 1},
            headers=org.clinician.headers,
        )
        assert [i["patient_id"] for i in missed.json()["items"]] == [str(late.id)]
        assert missed.json()["next_cursor"] is None
        page = await client.get(
            "/v1/organization/reporting", params={"limit": 1}, headers=org.clinician.headers
        )
        follow = await client.get(
            "/v1/organization/reporting",
            params={"limit": 1, "cursor": page.json()["next_cursor"]},
            headers=org.clinician.headers,
        )
        assert [i["patient_id"] for i in follow.json()["items"]] == [str(soon.id)]
    with on_day(79):
        await checkin(client, soon.user, "phq9", 79, 12)
        await checkin(client, soon.user, "whodas12", 79, 30)
        eid = await enrollment_id(client, org.admin, soon.id)
        made = await prepare(client, org.clinician, soon.id, eid, "baseline")
        assert made.json()["complete"] is True
        response = await client.get("/v1/organization/reporting", headers=org.clinician.headers)
        assert [i["patient_id"] for i in response.json()["items"]] == [str(late.id)]
