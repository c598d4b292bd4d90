"""The clinician panel: GET /v1/patients ordered by need and filtered by outcome status.

Need (app/outcomes/panel.py): open urgent alerts first, then `no_baseline` or `off_track`, then
`insufficient_data`, then everyone else; by family name within a rank. The panel is read on
care-period day 100, after the baseline window (days 1-60) has closed; the service's clock is
moved with `on_day`, so the result does not depend on the day the test runs.
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from app.outcomes.touch import touch
from app.patients.models import Patient
from tests.factories import OrgWorld, PatientWorld, make_org, make_patient, writing
from tests.outcomes.helpers import cuff, enrollment, labs, on_day

TODAY = 100
BASELINE = [(2, 150), (3, 150), (4, 150)]  # three cuff readings: a baseline of 150 on day 4
RECENT = [99, 96, 92, 88, 80, 75]  # the last four lie in the 15 days up to day 100


async def _ckm(app: FastAPI, org: OrgWorld, family: str, created_on: int) -> PatientWorld:
    """A CKM (ASCVD) patient: blood pressure and LDL apply. Made on day `created_on`, so the
    `newest` order is well defined."""
    with on_day(created_on):
        patient = await make_patient(app, org, enroll=enrollment("CKM", "ascvd"))
        async with writing(app) as session:
            row = await session.get(Patient, patient.id)
            assert row is not None
            row.family_name = family
            touch(session, patient.id)
    return patient


async def test_panel_orders_by_need_and_filters(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    calm = await _ckm(app, org, "Adams", 1)  # met: controlled
    urgent = await _ckm(app, org, "Young", 2)  # an open urgent alert (and off track)
    drifting = await _ckm(app, org, "Baker", 3)  # off track
    quiet = await _ckm(app, org, "Clark", 4)  # insufficient data: nothing recent
    late = await _ckm(app, org, "Diaz", 5)  # no baseline: first readings after day 60
    with on_day(TODAY):
        await cuff(client, calm.device, BASELINE + [(d, 122) for d in RECENT])
        await cuff(client, drifting.device, BASELINE + [(d, 149) for d in RECENT])
        await cuff(client, quiet.device, BASELINE)
        await cuff(client, urgent.device, BASELINE + [(d, 124) for d in RECENT[1:]])
        await cuff(client, urgent.device, [(RECENT[0], 186)])  # >= 180: urgent alert
        await cuff(client, late.device, [(d, 122) for d in RECENT])
        for patient in (calm, urgent, drifting, quiet, late):  # LDL 62 < 70: met throughout
            await labs(client, org.clinician, patient.id, [("ldl", 3, 62)])

        panel = await client.get("/v1/patients", headers=org.clinician.headers)
        assert panel.status_code == 200, panel.text
        items = panel.json()["items"]
        # By the need score (docs/rules.md "Need score"); no report was prepared, so every
        # baseline report is missed (10 each).
        assert [(p["family_name"], p["need"]["score"]) for p in items] == [
            ("Young", 100 + 30 + 15 + 10),  # urgent alert, off track, projected short
            # 96 days without cuff readings (capped at 40), and so a `no_data` warning alert
            ("Clark", 20 + 40 + 15 + 10 + 10),
            ("Baker", 30 + 15 + 10),  # off track, projected short
            ("Diaz", 25 + 15 + 10),  # no baseline: it cannot attain
            ("Adams", 10),
        ]
        assert [r["code"] for r in items[0]["need"]["reasons"]] == [
            "urgent_alerts",
            "off_track",
            "projected_short",
            "report_missed",
        ]
        assert items[1]["need"]["reasons"][0] == {
            "code": "no_recent_data",
            "points": 40,
            "text": "No data the CKM track needs for 96 days",
            "track": "CKM",
        }
        assert [p["open_urgent_alerts"] for p in items] == [1, 0, 0, 0, 0]
        assert [p["outcome_status"] for p in items] == [
            "off_track",  # the 186 keeps the mean of the last 15 days up (139.5)
            "insufficient_data",
            "off_track",
            "no_baseline",
            "met",
        ]
        assert [(p["tracks"], [d["day"] for d in p["periods"]]) for p in items] == [
            (["CKM"], [TODAY])
        ] * 5

        off = await client.get(
            "/v1/patients", params={"status": "off_track"}, headers=org.admin.headers
        )
        # Young is off track too, and first by need.
        assert [p["family_name"] for p in off.json()["items"]] == ["Young", "Baker"]
        quiet_ones = await client.get(
            "/v1/patients", params={"need": "no_recent_data"}, headers=org.admin.headers
        )
        assert [p["family_name"] for p in quiet_ones.json()["items"]] == ["Clark"]
        missing = await client.get(
            "/v1/patients", params={"status": "no_baseline"}, headers=org.admin.headers
        )
        assert [p["family_name"] for p in missing.json()["items"]] == ["Diaz"]

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
            "Clark",
            "Baker",
            "Diaz",
            "Adams",
        ]
        assert rest["next_cursor"] is None

        newest = await client.get(
            "/v1/patients", params={"order": "newest"}, headers=org.admin.headers
        )
        assert [p["family_name"] for p in newest.json()["items"]] == [
            "Diaz",
            "Clark",
            "Baker",
            "Young",
            "Adams",
        ]
