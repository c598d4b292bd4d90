"""Check-ins over HTTP: catalog, submission, idempotency, safety net, version rule, history, due."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any, get_args

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from app import clock
from app.checkins.instruments import CATALOG
from app.checkins.models import Checkin
from app.checkins.schemas import InstrumentCode
from app.clock import utcnow
from tests.checkins.helpers import (
    COMPLETE,
    PHQ9_ITEMS,
    due_codes,
    enroll_bh,
    enroll_msk,
    local_today,
    now_iso,
    submit,
)
from tests.factories import make_org, make_patient

FUTURE_11_MINUTES = "<11 minutes from now>"


def _path(patient_id: uuid.UUID | str, suffix: str = "") -> str:
    return f"/v1/patients/{patient_id}/checkins{suffix}"


async def _alerts(client: httpx.AsyncClient, headers: dict[str, str], patient_id: uuid.UUID) -> Any:
    response = await client.get(
        "/v1/alerts", params={"patient_id": str(patient_id)}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


# --- Catalog --------------------------------------------------------------------------------------


async def test_instrument_catalog(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org)
    response = await client.get("/v1/instruments", headers=patient.user.headers)
    assert response.status_code == 200
    items = response.json()["items"]
    assert [i["code"] for i in items] == list(CATALOG)
    phq9 = items[0]
    assert (phq9["version"], phq9["loinc"], phq9["score_loinc"]) == ("1.0", "44249-1", "44261-6")
    assert [i["id"] for i in phq9["items"]][:2] == ["phq9_1", "phq9_2"]
    assert phq9["items"][8]["loinc"] == "44260-8"
    assert phq9["items"][0]["options"][3] == {"value": 3, "label": "Nearly every day"}
    assert phq9["items"][9]["scored"] is False
    pf = next(i for i in items if i["code"] == "promis_pf_6b")
    assert pf["version"] == "1.2"
    assert pf["items"][0]["options"][0] == {"value": 5, "label": "Without any difficulty"}

    assert (await client.get("/v1/instruments", headers=org.clinician.headers)).status_code == 200
    assert (await client.get("/v1/instruments")).status_code == 401
    assert (await client.get("/v1/instruments", headers=patient.device.headers)).status_code == 403


def test_instrument_code_literal_matches_the_catalog() -> None:
    assert list(get_args(InstrumentCode)) == list(CATALOG)


# --- Submission and scoring ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instrument", "answers", "score"),
    [
        (
            "phq9",
            dict.fromkeys(PHQ9_ITEMS, 2) | {"phq9_9": 0},
            {"total": 16, "band": "moderately_severe", "t_score": None},
        ),
        ("gad7", COMPLETE["gad7"], {"total": 7, "band": "mild", "t_score": None}),
        ("promis_pi_6a", COMPLETE["promis_pi_6a"], {"total": 18, "t_score": 61.2, "se": 1.4}),
        ("promis_pf_6b", COMPLETE["promis_pf_6b"], {"total": 18, "t_score": 37.6, "se": 1.8}),
        ("pain_nrs", COMPLETE["pain_nrs"], {"total": 5, "band": None}),
        ("whodas12", COMPLETE["whodas12"], {"total": 24}),
        ("pgic", COMPLETE["pgic"], {"total": 2}),
        ("daily", COMPLETE["daily"], {"total": None, "scorable": True}),
    ],
)
async def test_submit_scores_each_instrument(
    app: FastAPI,
    client: httpx.AsyncClient,
    instrument: str,
    answers: dict[str, int],
    score: dict[str, Any],
) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org)
    response = await submit(client, patient.user, "me", instrument, answers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["instrument"] == instrument
    assert body["version"] == CATALOG[instrument].version
    assert body["flags"] == []
    assert "crisis_resources" not in body
    for key, value in score.items():
        assert body["score"][key] == value, key
    uuid.UUID(body["id"])


async def test_staff_may_submit_for_the_patient(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org)
    response = await submit(client, org.clinician, patient.id, "pain_nrs")
    assert response.status_code == 201, response.text
    history = await client.get(_path(patient.id), headers=patient.user.headers)
    assert history.json()["items"][0]["entered_by_role"] == "clinician"


async def test_not_scorable_is_stored_with_what_is_missing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org)
    answers = dict.fromkeys(PHQ9_ITEMS[:7], 1)
    response = await submit(client, patient.user, "me", "phq9", answers)
    assert response.status_code == 201
    score = response.json()["score"]
    assert (score["scorable"], score["total"], score["band"]) == (False, None, None)
    assert score["missing"] == ["phq9_8", "phq9_9"]


async def test_local_date_is_the_patients_day(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org, timezone="America/Los_Angeles")
    # 02:30 UTC on 10 March is 18:30 on 9 March in Los Angeles (PST, UTC-8).
    response = await submit(
        client, patient.user, "me", "daily", completed_at="2026-03-10T02:30:00+00:00"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["local_date"] == "2026-03-09"
    assert body["completed_at"].startswith("2026-03-10T02:30:00")


# --- Safety net ----------------------------------------------------------------------------------


async def test_phq9_item9_positive_flags_crisis_resources_and_one_urgent_alert(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org, enroll=enroll_bh(local_today(), "depression"))
    answers = dict.fromkeys(PHQ9_ITEMS, 0) | {"phq9_9": 1}
    client_id = str(uuid.uuid4())
    response = await submit(client, patient.user, "me", "phq9", answers, client_id=client_id)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["flags"] == ["self_harm_risk"]
    assert (body["score"]["total"], body["score"]["band"]) == (1, "minimal")
    crisis = body["crisis_resources"]
    assert crisis["care_team_alerted"] is True
    assert crisis["message"]
    calls = {r["call"] for r in crisis["resources"]}
    assert calls == {"988", "911"}
    lifeline = next(r for r in crisis["resources"] if r["call"] == "988")
    assert (lifeline["name"], lifeline["text"]) == ("988 Suicide & Crisis Lifeline", "988")

    alerts = await _alerts(client, org.clinician.headers, patient.id)
    assert len(alerts) == 1
    alert = alerts[0]
    assert (alert["kind"], alert["severity"], alert["status"]) == (
        "self_harm_risk",
        "urgent",
        "open",
    )
    assert alert["source_id"] == body["id"]
    assert alert["patient_id"] == str(patient.id)

    # The retry returns the same result and opens no second alert.
    again = await submit(client, patient.user, "me", "phq9", answers, client_id=client_id)
    assert again.status_code == 200
    assert again.json() == body
    assert len(await _alerts(client, org.clinician.headers, patient.id)) == 1

    # A second, distinct positive PHQ-9 is a new event: a new alert.
    other = await submit(client, patient.user, "me", "phq9", answers)
    assert other.status_code == 201
    assert len(await _alerts(client, org.clinician.headers, patient.id)) == 2


@pytest.mark.parametrize(
    "answers",
    [
        dict.fromkeys(PHQ9_ITEMS, 3) | {"phq9_9": 0},
        {"phq9_9": 0},
    ],
)
async def test_phq9_item9_zero_opens_nothing(
    app: FastAPI, client: httpx.AsyncClient, answers: dict[str, int]
) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org)
    response = await submit(client, patient.user, "me", "phq9", answers)
    assert response.status_code == 201
    body = response.json()
    assert body["flags"] == []
    assert "crisis_resources" not in body
    assert await _alerts(client, org.clinician.headers, patient.id) == []


async def test_item9_flag_even_when_not_scorable(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org)
    response = await submit(client, patient.user, "me", "phq9", {"phq9_9": 2})
    assert response.status_code == 201
    body = response.json()
    assert (body["flags"], body["score"]["scorable"]) == (["self_harm_risk"], False)
    assert "crisis_resources" in body
    assert len(await _alerts(client, org.clinician.headers, patient.id)) == 1


@pytest.mark.parametrize(
    ("answers", "scorable", "total"),
    [
        # Prorated to "mild" from the 8 answered items: the total alone would hide the gap.
        (dict.fromkeys(PHQ9_ITEMS[:8], 1), True, 9),
        (dict.fromkeys(PHQ9_ITEMS[2:8], 1), False, None),
    ],
)
async def test_phq9_item9_unanswered_is_flagged_with_one_warning_alert(
    app: FastAPI,
    client: httpx.AsyncClient,
    answers: dict[str, int],
    scorable: bool,
    total: int | None,
) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org, enroll=enroll_bh(local_today(), "depression"))
    client_id = str(uuid.uuid4())
    response = await submit(client, patient.user, "me", "phq9", answers, client_id=client_id)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["flags"] == ["safety_item_missing"]
    assert (body["score"]["scorable"], body["score"]["total"]) == (scorable, total)
    assert "phq9_9" in body["score"]["missing"]
    assert "crisis_resources" not in body  # nothing was said about self-harm

    (alert,) = await _alerts(client, org.clinician.headers, patient.id)
    assert (alert["kind"], alert["severity"], alert["status"], alert["source_id"]) == (
        "safety_item_missing",
        "warning",
        "open",
        body["id"],
    )
    assert alert["details"]["item"] == "phq9_9"
    history = await client.get(_path("me"), headers=patient.user.headers)
    assert history.json()["items"][0]["flags"] == ["safety_item_missing"]

    # A retry opens no second alert.
    again = await submit(client, patient.user, "me", "phq9", answers, client_id=client_id)
    assert again.status_code == 200
    assert again.json() == body
    assert len(await _alerts(client, org.clinician.headers, patient.id)) == 1


# --- Idempotency ---------------------------------------------------------------------------------


async def test_same_client_id_twice_stores_one(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org)
    client_id = str(uuid.uuid4())
    first = await submit(client, patient.user, "me", "promis_pi_6a", client_id=client_id)
    second = await submit(client, patient.user, "me", "promis_pi_6a", client_id=client_id)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    assert first.json()["score"]["t_score"] == 61.2
    history = await client.get(_path(patient.id), headers=org.clinician.headers)
    assert len(history.json()["items"]) == 1
    assert history.json()["items"][0]["client_id"] == client_id

    # The same client_id from another patient is theirs, not a repeat.
    neighbour = await make_patient(app, org)
    theirs = await submit(client, neighbour.user, "me", "promis_pi_6a", client_id=client_id)
    assert theirs.status_code == 201
    assert theirs.json()["id"] != first.json()["id"]


async def test_without_client_id_each_submission_is_new(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org)
    ids = {(await submit(client, patient.user, "me", "daily")).json()["id"] for _ in range(2)}
    assert len(ids) == 2


async def test_concurrent_retries_store_one(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org)
    client_id = str(uuid.uuid4())
    answers = dict.fromkeys(PHQ9_ITEMS, 1)  # item 9 = 1: an alert, once
    responses = await asyncio.gather(
        *(
            submit(client, patient.user, "me", "phq9", answers, client_id=client_id)
            for _ in range(6)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 5 + [201], [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    history = await client.get(_path(patient.id), headers=org.clinician.headers)
    assert len(history.json()["items"]) == 1
    assert len(await _alerts(client, org.clinician.headers, patient.id)) == 1


# --- Validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"completed_at": "2026-03-01T10:00:00"}, "completed_at"),  # no offset
        ({"completed_at": FUTURE_11_MINUTES}, "completed_at"),
        ({"completed_at": "0001-01-01T00:00:00+05:00"}, "completed_at"),
        ({"completed_at": "9999-12-31T23:59:59-12:00"}, "completed_at"),
        ({"completed_at": "not a time"}, "completed_at"),
        ({"answers": {"phq9_1": 4}}, "answers.phq9_1"),
        ({"answers": {"phq9_1": -1}}, "answers.phq9_1"),
        ({"answers": {"phq9_1": "1"}}, "answers.phq9_1"),
        ({"answers": {"phq9_1": True}}, "answers.phq9_1"),
        ({"answers": {"phq9_1": 1.5}}, "answers.phq9_1"),
        ({"answers": {"phq9_1": None}}, "answers.phq9_1"),
        ({"answers": {"gad7_1": 1}}, "answers.gad7_1"),  # another instrument's item
        ({"answers": {}}, "answers"),
        ({"answers": [1, 2]}, "answers"),
        ({"instrument": "sf36"}, "instrument"),
        ({"version": "2.0"}, "version"),
        ({"client_id": "not-a-uuid"}, "client_id"),
        ({"score": 12}, "score"),  # unknown field
    ],
)
async def test_invalid_submissions_are_422(
    app: FastAPI, client: httpx.AsyncClient, changes: dict[str, Any], path: str
) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org)
    body: dict[str, Any] = {
        "instrument": "phq9",
        "answers": {"phq9_1": 1},
        "completed_at": now_iso(),
        **changes,
    }
    if body["completed_at"] == FUTURE_11_MINUTES:  # computed now, not at collection
        body["completed_at"] = now_iso(timedelta(minutes=11))
    response = await client.post(_path("me"), json=body, headers=patient.user.headers)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["error"] == "ValidationError"
    assert path in [f["path"] for f in error["fields"]], error
    history = await client.get(_path("me"), headers=patient.user.headers)
    assert history.json()["items"] == []


async def test_out_of_range_answer_names_the_item_and_allowed_values(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org)
    response = await submit(client, patient.user, "me", "whodas12", {"whodas_s3": 0})
    assert response.status_code == 422
    (field,) = response.json()["fields"]
    assert field == {
        "path": "answers.whodas_s3",
        "message": "whodas_s3 must be an integer from 1 to 5; got 0",
    }


async def test_slightly_future_completed_at_is_accepted(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org)
    response = await submit(
        client, patient.user, "me", "daily", completed_at=now_iso(timedelta(minutes=5))
    )
    assert response.status_code == 201
    explicit = await submit(client, patient.user, "me", "pain_nrs", version="1.0")
    assert explicit.status_code == 201


# --- Instrument version fixed within a care period ----------------------------------------------


async def test_another_version_in_the_same_care_period_is_409(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    start = local_today() - timedelta(days=40)
    patient = await make_patient(app, org, enroll=enroll_msk(start))
    first = await submit(
        client, patient.user, "me", "promis_pf_6b", completed_at=now_iso(-timedelta(days=35))
    )
    assert first.status_code == 201
    enrollment_id = first.json()["enrollment_id"]
    assert enrollment_id is not None
    # The care period began on an earlier catalog version of PROMIS PF (stored before an upgrade).
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(Checkin).where(Checkin.id == uuid.UUID(first.json()["id"])).values(version="1.1")
        )
    due = await client.get(_path("me", "/due"), headers=patient.user.headers)
    assert due.status_code == 200
    pf = next(i for i in due.json()["items"] if i["instrument"] == "promis_pf_6b")
    assert pf["version"] == "1.1"

    response = await submit(client, patient.user, "me", "promis_pf_6b")
    assert response.status_code == 409, response.text
    assert response.json()["error"] == "Conflict"
    assert "version 1.1" in response.json()["detail"]
    # Other instruments, and check-ins outside any care period, are unaffected.
    assert (await submit(client, patient.user, "me", "promis_pi_6a")).status_code == 201
    other = await make_patient(app, org)
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(Checkin).where(Checkin.patient_id == other.id).values(version="1.1")
        )
    assert (await submit(client, other.user, "me", "promis_pf_6b")).status_code == 201


# --- History -------------------------------------------------------------------------------------


async def test_history_newest_first_filtered_and_paginated(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org)
    times = [f"2026-0{m}-01T12:00:00+00:00" for m in (3, 1, 4, 2)]
    for at in times:
        response = await submit(client, patient.user, "me", "pain_nrs", completed_at=at)
        assert response.status_code == 201
    await submit(client, patient.user, "me", "daily", completed_at="2026-05-01T12:00:00+00:00")

    everything = await client.get(_path(patient.id), headers=org.clinician.headers)
    assert [i["instrument"] for i in everything.json()["items"]] == ["daily"] + ["pain_nrs"] * 4

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"instrument": "pain_nrs", "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = await client.get(_path("me"), params=params, headers=patient.user.headers)
        assert page.status_code == 200
        seen += [i["completed_at"][:10] for i in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == ["2026-04-01", "2026-03-01", "2026-02-01", "2026-01-01"]

    item = everything.json()["items"][1]
    assert item["answers"] == COMPLETE["pain_nrs"]
    assert item["score"]["total"] == 5
    assert item["patient_id"] == str(patient.id)

    bad = await client.get(_path("me"), params={"instrument": "sf36"}, headers=patient.user.headers)
    assert bad.status_code == 422


async def test_history_reads_stored_scores_never_rescoring(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org)
    created = await submit(client, patient.user, "me", "promis_pi_6a")
    checkin_id = uuid.UUID(created.json()["id"])
    # As if scored by an earlier table: what was stored is what outcomes see.
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(update(Checkin).where(Checkin.id == checkin_id).values(t_score=60.0))
    history = await client.get(_path("me"), headers=patient.user.headers)
    assert history.json()["items"][0]["score"]["t_score"] == 60.0


async def test_reads_and_writes_are_audited(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org, enroll=enroll_bh(local_today(), "anxiety"))
    created = await submit(client, patient.user, "me", "gad7")
    for suffix in ("", "/due"):
        read = await client.get(_path(patient.id, suffix), headers=org.clinician.headers)
        assert read.status_code == 200
    log = await client.get(f"/v1/patients/{patient.id}/access-log", headers=org.admin.headers)
    events = [
        (e["action"], e["actor_role"], e["resource_id"])
        for e in log.json()["items"]
        if e["resource_type"] == "checkin"
    ]
    assert ("create", "patient", created.json()["id"]) in events
    assert events.count(("read", "clinician", None)) == 2


# --- Due list ------------------------------------------------------------------------------------


async def test_msk_and_bh_depression_get_different_due_lists(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    start = local_today() - timedelta(days=10)
    msk = await make_patient(app, org, enroll=enroll_msk(start))
    bh = await make_patient(app, org, enroll=enroll_bh(start, "depression"))
    assert await due_codes(client, msk.user, "me") == [
        "promis_pi_6a",
        "promis_pf_6b",
        "pain_nrs",
        "daily",
    ]
    assert await due_codes(client, bh.user, "me") == ["phq9", "whodas12", "daily"]

    response = await client.get(_path(bh.id, "/due"), headers=org.clinician.headers)
    body = response.json()
    assert body["today"] == local_today().isoformat()
    assert body["timezone"] == "America/New_York"
    phq9 = body["items"][0]
    assert phq9["due_since"] == start.isoformat()
    assert phq9["overdue"] is True  # 10 days past due, grace is 3
    assert phq9["version"] == "1.0"
    assert phq9["reason"].startswith("BH: every 14 days")
    assert phq9["enrollment_id"] is not None
    daily = body["items"][-1]
    assert (daily["due_since"], daily["overdue"], daily["enrollment_id"]) == (
        local_today().isoformat(),
        False,
        None,
    )


async def test_submitting_a_due_instrument_removes_it_from_today(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org, enroll=enroll_msk(local_today() - timedelta(days=2)))
    assert "pain_nrs" in await due_codes(client, patient.user, "me")
    assert (await submit(client, patient.user, "me", "pain_nrs")).status_code == 201
    assert await due_codes(client, patient.user, "me") == ["promis_pi_6a", "promis_pf_6b", "daily"]
    assert (await submit(client, org.clinician, patient.id, "daily")).status_code == 201
    assert await due_codes(client, patient.user, "me") == ["promis_pi_6a", "promis_pf_6b"]


async def test_not_scorable_submission_stays_due(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org, enroll=enroll_bh(local_today(), "depression"))
    partial = dict.fromkeys(PHQ9_ITEMS[:6], 1)
    assert (await submit(client, patient.user, "me", "phq9", partial)).status_code == 201
    assert "phq9" in await due_codes(client, patient.user, "me")
    assert (await submit(client, patient.user, "me", "phq9")).status_code == 201
    assert "phq9" not in await due_codes(client, patient.user, "me")


async def test_submission_is_stored_against_the_enrollment(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    start = local_today() - timedelta(days=3)
    patient = await make_patient(app, org, enroll=enroll_bh(start, "depression"))
    phq9 = (await submit(client, patient.user, "me", "phq9")).json()
    daily = (await submit(client, patient.user, "me", "daily")).json()
    before = (
        await submit(
            client,
            patient.user,
            "me",
            "phq9",
            completed_at=f"{(start - timedelta(days=2)).isoformat()}T12:00:00-05:00",
        )
    ).json()
    assert phq9["enrollment_id"] is not None
    assert daily["enrollment_id"] is None  # not a track instrument
    assert before["enrollment_id"] is None  # before the care period
    async with app.state.sessionmaker() as session:
        stored = await session.scalar(select(Checkin).where(Checkin.id == uuid.UUID(phq9["id"])))
        assert stored is not None
        assert str(stored.enrollment_id) == phq9["enrollment_id"]
        assert stored.local_date == date.fromisoformat(phq9["local_date"])
        assert stored.timezone == "America/New_York"
        assert stored.received_at <= utcnow()


# --- Authorization -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix"), [("GET", ""), ("GET", "/due"), ("POST", "")], ids=["list", "due", "post"]
)
async def test_authorization(
    app: FastAPI, client: httpx.AsyncClient, method: str, suffix: str
) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org)
    neighbour = await make_patient(app, org)
    elsewhere = await make_org(app, "Elsewhere")
    body = {"instrument": "daily", "answers": {"mood": 5}, "completed_at": now_iso()}
    url = _path(patient.id, suffix)

    async def call(headers: dict[str, str]) -> httpx.Response:
        return await client.request(
            method, url, json=body if method == "POST" else None, headers=headers
        )

    assert (await call({})).status_code == 401
    assert (await call({"Authorization": "Bearer nonsense"})).status_code == 401
    for outsider in (neighbour.user, neighbour.device, elsewhere.clinician, elsewhere.admin):
        response = await call(outsider.headers)
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "NotFound"
    forbidden = await call(patient.device.headers)
    assert forbidden.status_code == 403
    assert forbidden.json()["error"] == "Forbidden"
    for insider in (patient.user, org.clinician, org.admin):
        assert (await call(insider.headers)).status_code in (200, 201)


async def test_a_prom_aged_out_of_an_open_report_window_is_due_again(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # A BH patient answers WHODAS on care-period day 2; the baseline report (days 1-60) counts
    # a PROM only from its last 15 days (docs/rules.md "Data rules"), so it is asked again.
    validity = app.state.rules.windows.observation_days
    now = datetime(2026, 9, 1, 16, 0, tzinfo=UTC)  # noon in New York
    org = await make_org(app)
    with clock.frozen_at(now):
        start = local_today() - timedelta(days=1)
        patient = await make_patient(app, org, enroll=enroll_bh(start, "anxiety"))
        assert "whodas12" in await due_codes(client, patient.user, "me")
        answered = await submit(
            client, patient.user, "me", "whodas12", completed_at=now.isoformat()
        )
        assert answered.status_code == 201, answered.text
        assert "whodas12" not in await due_codes(client, patient.user, "me")
    with clock.frozen_at(now + timedelta(days=validity - 1)):  # day 16: still counts
        assert "whodas12" not in await due_codes(client, patient.user, "me")
    with clock.frozen_at(now + timedelta(days=48)):  # day 50
        response = await client.get(_path("me", "/due"), headers=patient.user.headers)
    assert response.status_code == 200, response.text
    (whodas,) = [i for i in response.json()["items"] if i["instrument"] == "whodas12"]
    assert whodas["due_since"] == (start + timedelta(days=1 + validity)).isoformat()  # day 17
    assert whodas["overdue"] is True
    assert whodas["reason"].startswith("BH: the baseline report")
    assert whodas["enrollment_id"] == answered.json()["enrollment_id"]


async def test_an_early_success_window_asks_for_nothing_until_the_regular_end(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # BH's end-of-period window opens for early success on day 185; the end-of-period PROMs
    # (WHODAS, PGIC) are asked for only from the validity's span before day 365, not every
    # 15 days for half a year.
    now = datetime(2026, 9, 1, 16, 0, tzinfo=UTC)  # noon in New York
    org = await make_org(app)
    with clock.frozen_at(now):
        start = local_today() - timedelta(days=199)  # today is day 200
        patient = await make_patient(app, org, enroll=enroll_bh(start, "anxiety"))
        windows = await client.get(
            f"/v1/patients/{patient.id}/reporting", headers=org.clinician.headers
        )
        (period,) = windows.json()["items"]
        end = next(w for w in period["windows"] if w["type"] == "end_of_period")
        assert end["status"] in ("open", "due_soon")  # open for early success
        codes = await due_codes(client, patient.user, "me")
    assert "whodas12" not in codes
    assert "pgic" not in codes
    validity = app.state.rules.windows.observation_days
    with clock.frozen_at(now + timedelta(days=365 - validity + 1 - 200)):  # day 351
        assert {"whodas12", "pgic"} <= set(await due_codes(client, patient.user, "me"))
