"""A care period's care-coordination updates over HTTP: which exist, their status as the clock
moves, recording a send (docs/api.md "Care-coordination updates"). The clock is moved to each
day (`on_day`), never slept on. Day 1 is 2026-07-05 in New York.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from app import clock
from app.audit.models import AuditEvent
from app.care_updates import settle
from app.care_updates.models import CareUpdate
from app.patients.models import Patient
from tests.care_updates.helpers import (
    REFERRER,
    base,
    crisis,
    of_kind,
    referred_patient,
    updates,
    url,
)
from tests.factories import OrgWorld, PatientWorld, make_org, make_patient, writing
from tests.outcomes.helpers import (
    checkin,
    date_of,
    enrollment,
    enrollment_id,
    on_day,
    post_readings,
    when,
    worker_pass,
)


def _summary(items: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    return [(i["kind"], i["event_on"], i["due"], i["status"]) for i in items]


async def test_a_referred_period_needs_initiation_now_and_completion_at_its_end(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await referred_patient(app, org)
    with on_day(2):
        period = await enrollment_id(client, org.clinician, patient.id)
        response = await client.get(base(patient.id, period), headers=org.clinician.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["today"] == date_of(2).isoformat()
        assert body["referring_clinician"] == REFERRER
        assert _summary(body["items"]) == [
            ("initiation", "2026-07-05", "2026-07-15", "due"),
            ("completion", "2027-07-05", "2027-08-04", "upcoming"),
        ]
        first = body["items"][0]
        assert (first["track"], first["alert_id"], first["sent_at"]) == ("eCKM", None, None)
        assert first["event_at"] == "2026-07-05T04:00:00Z"  # day 1 began in New York


async def test_due_becomes_overdue_when_the_clock_passes_the_due_day(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await referred_patient(app, org)
    with on_day(11):  # 2026-07-15, the evening of the due day
        assert (
            of_kind(await updates(client, org.clinician, patient), "initiation")["status"] == "due"
        )
    # The first instant of 16 July in New York; nothing ran in between (no worker pass).
    with clock.frozen_at(datetime(2026, 7, 16, tzinfo=ZoneInfo("America/New_York"))):
        items = await updates(client, org.clinician, patient)
        assert of_kind(items, "initiation")["status"] == "overdue"
    with on_day(366):  # 2027-07-05: the period completed yesterday
        assert of_kind(await updates(client, org.clinician, patient), "completion")["status"] == (
            "due"
        )
    with on_day(396):  # 2027-08-04, the completion update's due day
        assert of_kind(await updates(client, org.clinician, patient), "completion")["status"] == (
            "due"
        )
    with on_day(397):
        assert of_kind(await updates(client, org.clinician, patient), "completion")["status"] == (
            "overdue"
        )


async def test_a_period_without_a_referring_clinician_needs_none_until_it_has_one(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    with on_day(1):
        patient = await make_patient(app, org, enroll=enrollment("BH", "depression"))
    with on_day(5):
        period = await enrollment_id(client, org.clinician, patient.id)
        empty = await client.get(base(patient.id, period), headers=org.clinician.headers)
        assert (empty.json()["items"], empty.json()["referring_clinician"]) == ([], None)
        patch = await client.patch(
            f"/v1/patients/{patient.id}/enrollments/{period}",
            json={"referring_clinician": {"name": "Dr. Ng"}},
            headers=org.clinician.headers,
        )
        assert patch.status_code == 200, patch.text
        items = await updates(client, org.clinician, patient)
        assert [(i["kind"], i["status"]) for i in items] == [
            ("initiation", "due"),
            ("completion", "upcoming"),
        ]
        sent = await client.post(url(patient, items[0], "sent"), headers=org.clinician.headers)
        assert sent.status_code == 200, sent.text
        # Removing the clinician removes what is still to send; what was sent is history.
        await client.patch(
            f"/v1/patients/{patient.id}/enrollments/{period}",
            json={"referring_clinician": None},
            headers=org.clinician.headers,
        )
        after = await updates(client, org.clinician, patient)
        assert [(i["id"], i["status"]) for i in after] == [(items[0]["id"], "sent")]


async def test_each_urgent_episode_needs_one_escalation_update(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await referred_patient(app, org)
    with on_day(20):
        await crisis(client, patient, 20, hour=8)
        await crisis(client, patient, 20, hour=9)  # the same episode goes on
        items = await updates(client, org.clinician, patient)
        (escalation,) = [i for i in items if i["kind"] == "escalation"]
        assert (escalation["event_on"], escalation["due"]) == ("2026-07-24", "2026-08-03")
        alerts = await client.get("/v1/alerts", headers=org.clinician.headers)
        (alert,) = alerts.json()["items"]
        assert escalation["alert_id"] == alert["id"]
        assert escalation["event_at"] == alert["first_at"]
    with on_day(22):
        # A reading out of the crisis range ends it; the next crisis is a new episode.
        await post_readings(
            client,
            patient.device,
            "me",
            [
                {
                    "type": "blood_pressure",
                    "systolic": 128,
                    "diastolic": 80,
                    "effective_at": when(21),
                }
            ],
        )
        await crisis(client, patient, 22)
        items = await updates(client, org.clinician, patient)
        assert [i["event_on"] for i in items if i["kind"] == "escalation"] == [
            "2026-07-24",
            "2026-07-26",
        ]
        assert [i["kind"] for i in items] == [
            "initiation",
            "escalation",
            "escalation",
            "completion",
        ]


async def test_a_phq9_item_9_answer_needs_an_escalation_update(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await referred_patient(app, org, "BH")
    with on_day(30):
        response = await client.post(
            "/v1/patients/me/checkins",
            json={
                "instrument": "phq9",
                "answers": {f"phq9_{n}": 1 for n in range(1, 10)},
                "completed_at": when(30, 10),
            },
            headers=patient.user.headers,
        )
        assert response.status_code == 201, response.text
        assert "self_harm_risk" in response.json()["flags"]
        escalation = of_kind(await updates(client, org.clinician, patient), "escalation")
        assert (escalation["event_on"], escalation["due"]) == ("2026-08-03", "2026-08-13")
        # A warning (PHQ-9 without item 9) is no escalation.
        await checkin(client, patient.user, "gad7", 30, 12)
        kinds = [i["kind"] for i in await updates(client, org.clinician, patient)]
        assert kinds.count("escalation") == 1


async def test_disenrolling_makes_the_completion_update_due_within_30_days(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await referred_patient(app, org, "MSK")
    with on_day(100):  # 2026-10-12
        period = await enrollment_id(client, org.clinician, patient.id)
        response = await client.post(
            f"/v1/patients/{patient.id}/enrollments/{period}/disenroll",
            json={"reason": "relocated"},
            headers=org.clinician.headers,
        )
        assert response.status_code == 200, response.text
        completion = of_kind(await updates(client, org.clinician, patient), "completion")
        assert (completion["event_on"], completion["due"], completion["status"]) == (
            "2026-10-12",
            "2026-11-11",
            "due",
        )


async def test_switching_to_ckm_completes_the_eckm_period(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await referred_patient(app, org, "eCKM")
    with on_day(40):
        response = await client.post(
            f"/v1/patients/{patient.id}/enrollments",
            json=enrollment("CKM", "diabetes", start=date_of(40)),
            headers=org.clinician.headers,
        )
        assert response.status_code == 201, response.text
        listed = await client.get(
            f"/v1/patients/{patient.id}/enrollments", headers=org.clinician.headers
        )
        eckm = next(e for e in listed.json()["items"] if e["track"] == "eCKM")
        items = (await client.get(base(patient.id, eckm["id"]), headers=org.admin.headers)).json()
        assert of_kind(items["items"], "completion")["event_on"] == date_of(40).isoformat()


async def test_recording_a_send_is_idempotent_and_keeps_the_first(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await referred_patient(app, org)
    with on_day(3):
        initiation = of_kind(await updates(client, org.clinician, patient), "initiation")
        first = await client.post(url(patient, initiation, "sent"), headers=org.clinician.headers)
        assert first.status_code == 200, first.text
        assert first.json()["status"] == "sent"
        assert first.json()["sent_by"] == str(org.clinician.id)
    with on_day(4):
        again = await client.post(url(patient, initiation, "sent"), headers=org.admin.headers)
        assert again.status_code == 200, again.text
        assert again.json() == first.json()
    with on_day(40):  # past its due day: sent stays sent
        assert of_kind(await updates(client, org.clinician, patient), "initiation")["status"] == (
            "sent"
        )


async def test_an_update_cannot_be_sent_before_its_event(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await referred_patient(app, org)
    with on_day(3):
        completion = of_kind(await updates(client, org.clinician, patient), "completion")
        response = await client.post(url(patient, completion, "sent"), headers=org.admin.headers)
        assert response.status_code == 409, response.text
        assert "2027-07-05" in response.json()["detail"]


async def test_a_new_time_zone_moves_the_deadlines_to_the_patients_new_days(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await referred_patient(app, org)
    # 00:30 on 16 July in Tokyo is still 15 July (the due day) in New York.
    tokyo_night = datetime(2026, 7, 16, 0, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    with clock.frozen_at(tokyo_night):
        assert of_kind(await updates(client, org.clinician, patient), "initiation")["status"] == (
            "due"
        )
        moved = await client.patch(
            f"/v1/patients/{patient.id}",
            json={"timezone": "Asia/Tokyo"},
            headers=patient.user.headers,
        )
        assert moved.status_code == 200, moved.text
        assert of_kind(await updates(client, org.clinician, patient), "initiation")["status"] == (
            "overdue"
        )


async def _count(app: FastAPI, patient: PatientWorld) -> int:
    async with app.state.sessionmaker() as session:
        found = await session.scalar(
            select(func.count()).select_from(CareUpdate).where(CareUpdate.patient_id == patient.id)
        )
        return int(found or 0)


async def test_settling_again_never_makes_a_second_update(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await referred_patient(app, org)
    with on_day(20):
        await crisis(client, patient, 20)
        assert await _count(app, patient) == 3
        for _ in range(2):
            async with writing(app) as session:
                row = await session.get(Patient, patient.id)
                assert row is not None
                await settle.settle(session, rules=app.state.rules, patients=[row])
        await worker_pass(app)
        assert await _count(app, patient) == 3


async def test_reads_and_sends_are_audited(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    patient = await referred_patient(app, org)
    with on_day(3):
        initiation = of_kind(await updates(client, org.clinician, patient), "initiation")
        await client.get(url(patient, initiation, "document"), headers=org.clinician.headers)
        await client.post(url(patient, initiation, "sent"), headers=org.clinician.headers)
    async with app.state.sessionmaker() as session:
        events = list(
            await session.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.patient_id == patient.id,
                    AuditEvent.resource_type.in_(("care_update", "care_update_document")),
                )
                .order_by(AuditEvent.at)
            )
        )
    assert [(e.action, e.resource_type, e.resource_id, e.outcome) for e in events] == [
        ("read", "care_update", None, "success"),
        ("read", "care_update_document", uuid.UUID(initiation["id"]), "success"),
        ("update", "care_update", uuid.UUID(initiation["id"]), "success"),
    ]
    assert {e.actor_id for e in events} == {org.clinician.id}


async def test_a_period_of_another_track_has_its_own_updates(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org: OrgWorld = await make_org(app)
    patient = await referred_patient(app, org, "eCKM")
    with on_day(2):
        response = await client.post(
            f"/v1/patients/{patient.id}/enrollments",
            json=enrollment("BH", "anxiety", referring_clinician={"name": "Dr. Okafor"}),
            headers=org.clinician.headers,
        )
        assert response.status_code == 201, response.text
        bh = response.json()["id"]
    with on_day(20):
        await crisis(client, patient, 20)  # while both periods run: one update for each
        listed = await client.get(base(patient.id, bh), headers=org.clinician.headers)
        assert [i["kind"] for i in listed.json()["items"]] == [
            "initiation",
            "escalation",
            "completion",
        ]
        assert listed.json()["referring_clinician"] == {
            "name": "Dr. Okafor",
            "npi": None,
            "organization": None,
            "direct_address": None,
        }


async def test_concurrent_writers_make_each_update_once_and_keep_the_first_send(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await referred_patient(app, org)
    with on_day(20):
        await crisis(client, patient, 20)

        async def settle_once() -> None:
            # Straight to `settle`, without the refresh's lock: the unique indexes decide.
            async with writing(app) as session:
                row = await session.get(Patient, patient.id)
                assert row is not None
                await settle.settle(session, rules=app.state.rules, patients=[row])

        await asyncio.gather(*(settle_once() for _ in range(4)))
        assert await _count(app, patient) == 3
        initiation = of_kind(await updates(client, org.clinician, patient), "initiation")
        answers = await asyncio.gather(
            *(
                client.post(url(patient, initiation, "sent"), headers=actor.headers)
                for actor in (org.clinician, org.admin, org.clinician, org.admin)
            )
        )
        assert {a.status_code for a in answers} == {200}
        assert len({(a.json()["sent_at"], a.json()["sent_by"]) for a in answers}) == 1
