"""Care-coordination updates in the organization's reporting worklist, merged with the reporting
windows in one order and one keyset paging (docs/api.md "Care-coordination updates").

Patient A: eCKM from day 1 (2026-07-05), two crisis episodes on day 50 (escalations due day 60,
the day A's baseline window closes). Patient B: BH from day 20. Day 52 is 2026-08-25.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from app.pagination import encode_cursor
from tests.care_updates.helpers import crisis, referred_patient, updates, url
from tests.factories import OrgWorld, PatientWorld, make_org, make_patient
from tests.outcomes.helpers import date_of, enrollment, on_day, post_readings, when, worker_pass

WORKLIST = "/v1/organization/reporting"


async def _world(
    app: FastAPI, client: httpx.AsyncClient
) -> tuple[OrgWorld, PatientWorld, PatientWorld]:
    org = await make_org(app)
    a = await referred_patient(app, org, "eCKM")
    b = await referred_patient(app, org, "BH", day=20, start=date_of(20))
    with on_day(1):  # a period without a referring clinician needs no update
        await make_patient(app, org, enroll=enrollment("MSK", "chronic_msk_pain"))
    with on_day(50):
        await crisis(client, a, 50, hour=8)
        normal = {"type": "blood_pressure", "systolic": 126, "diastolic": 80}
        await post_readings(client, a.device, "me", [{**normal, "effective_at": when(50, 9)}])
        await crisis(client, a, 50, hour=10)
    return org, a, b


async def _items(
    client: httpx.AsyncClient, org: OrgWorld, **params: Any
) -> tuple[list[dict[str, Any]], str | None]:
    response = await client.get(WORKLIST, params=params, headers=org.clinician.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    return body["items"], body["next_cursor"]


def _rows(items: list[dict[str, Any]], who: dict[str, str]) -> list[tuple[str, str, str, str]]:
    return [
        (
            who.get(i["patient_id"], "?"),
            i["type"] if i["care_update"] is None else i["care_update"]["kind"],
            i["closes"],
            i["status"],
        )
        for i in items
        if i["type"] != "baseline" or who.get(i["patient_id"]) in ("A", "B")
    ]


async def test_due_updates_are_listed_with_the_windows_by_closing_day(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org, a, b = await _world(app, client)
    who = {str(a.id): "A", str(b.id): "B"}
    with on_day(52):
        await worker_pass(app)
        items, next_cursor = await _items(client, org)
        assert next_cursor is None
        expected = [
            ("A", "initiation", "2026-07-15", "missed"),
            ("B", "initiation", "2026-08-03", "missed"),
            ("A", "baseline", "2026-09-02", "due_soon"),
            ("A", "escalation", "2026-09-02", "due_soon"),
            ("A", "escalation", "2026-09-02", "due_soon"),
            ("B", "baseline", "2026-09-21", "open"),
        ]
        assert [r for r in _rows(items, who) if r[0] in ("A", "B")] == expected
        update = next(i for i in items if i["care_update"] is not None)
        assert update["type"] == "care_update"
        assert (update["opens"], update["report_id"]) == ("2026-07-05", None)
        assert update["needed"] == ["send the initiation update to the referring clinician"]
        assert update["patient_name"] == "Pat Tester"
        assert update["track"] == "eCKM"
        listed = await updates(client, org.clinician, a)
        assert update["care_update"]["id"] == listed[0]["id"]
        # Two updates closing the same day for the same period: by id.
        escalations = [i["care_update"]["id"] for i in items if i["type"] == "care_update"][2:]
        assert escalations == sorted(escalations)


async def test_pages_of_any_size_walk_the_same_list_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org, _, _ = await _world(app, client)
    with on_day(52):
        await worker_pass(app)
        everything, _ = await _items(client, org)
        assert len(everything) >= 7  # the MSK patient's baseline window too
        for size in (1, 2, 4):
            walked: list[dict[str, Any]] = []
            cursor: str | None = None
            while True:
                params: dict[str, Any] = {"limit": size}
                if cursor is not None:
                    params["cursor"] = cursor
                page, cursor = await _items(client, org, **params)
                walked.extend(page)
                if cursor is None:
                    break
            assert walked == everything, size


async def test_track_and_status_filters_pick_updates_too(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org, a, b = await _world(app, client)
    who = {str(a.id): "A", str(b.id): "B"}
    with on_day(52):
        await worker_pass(app)
        missed, _ = await _items(client, org, status="missed")
        assert _rows(missed, who) == [
            ("A", "initiation", "2026-07-15", "missed"),
            ("B", "initiation", "2026-08-03", "missed"),
        ]
        soon, _ = await _items(client, org, status="due_soon", track="eCKM")
        assert [r[1] for r in _rows(soon, who)] == ["baseline", "escalation", "escalation"]
        bh, _ = await _items(client, org, track="BH")
        assert _rows(bh, who) == [
            ("B", "initiation", "2026-08-03", "missed"),
            ("B", "baseline", "2026-09-21", "open"),
        ]
        upcoming, _ = await _items(client, org, status="upcoming", track="BH")
        kinds = [i["care_update"]["kind"] for i in upcoming if i["care_update"] is not None]
        assert kinds == ["completion"]
        reported, _ = await _items(client, org, status="reported")
        assert [i for i in reported if i["type"] == "care_update"] == []


async def test_a_sent_update_leaves_the_worklist_and_the_rest_turn_missed_with_the_clock(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org, a, _ = await _world(app, client)
    with on_day(52):
        escalation = next(
            i for i in await updates(client, org.clinician, a) if i["kind"] == ("escalation")
        )
        sent = await client.post(url(a, escalation, "sent"), headers=org.clinician.headers)
        assert sent.status_code == 200, sent.text
        items, _ = await _items(client, org, track="eCKM")
        ids = [i["care_update"]["id"] for i in items if i["care_update"] is not None]
        assert escalation["id"] not in ids
        assert len(ids) == 2
    with on_day(61):  # 2026-09-03: the other escalation was due yesterday; no worker pass
        items, _ = await _items(client, org, track="eCKM", status="missed")
        kinds = [i["care_update"]["kind"] for i in items if i["care_update"] is not None]
        assert kinds == ["initiation", "escalation"]


async def test_a_cursor_from_before_care_updates_still_pages(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org, a, _ = await _world(app, client)
    with on_day(52):
        await worker_pass(app)
        everything, _ = await _items(client, org)
        baseline = next(
            i for i in everything if i["type"] == "baseline" and i["patient_id"] == str(a.id)
        )
        old = encode_cursor(
            [baseline["closes"], baseline["patient_id"], baseline["enrollment_id"], "baseline"]
        )
        rest, _ = await _items(client, org, cursor=old)
        assert rest == everything[everything.index(baseline) + 1 :]


async def test_a_cursor_the_server_did_not_issue_is_422(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    day, pid, eid = "2026-09-02", str(org.id), str(org.id)
    for values in (
        [day, pid, eid, "care_update", "not-an-id"],
        [day, pid, eid, "care_update", ""],
        [day, pid, eid, "baseline", pid],
        [day, pid, eid, "weekly", ""],
        [day, pid, eid],
    ):
        response = await client.get(
            WORKLIST, params={"cursor": encode_cursor(values)}, headers=org.clinician.headers
        )
        assert response.status_code == 422, (values, response.text)
        assert response.json()["fields"][0]["path"] == "query.cursor"
