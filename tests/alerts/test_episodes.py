"""Alert episodes over HTTP: readings that keep meeting a condition extend one alert.

docs/rules.md "Alert episodes": a hypoglycaemia episode begins after 15 consecutive minutes
below 70 mg/dL (urgent once 15 below 54) and ends after 15 consecutive minutes at or above 70;
a CGM reading stands for its 5-minute sampling interval, a fingerstick for 15 minutes; a
blood-pressure crisis reading opens an episode and the next reading that is not a crisis ends
it. The episodes come from the stored readings, so batches and orders do not change them.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import clock
from app.alerts.models import Alert
from app.clock import utcnow
from app.readings.alert_rules import HYPOGLYCEMIA_RULE, episodes
from app.worker import mark_due, run_due
from tests.factories import OrgWorld, PatientWorld, make_org
from tests.readings.helpers import (
    APP_PROPERTY,
    BASE_TIME,
    bp,
    cgm,
    glucose,
    make_reading_patient,
    post_batch,
    post_one,
    statuses,
    with_client_id,
)
from tests.readings.test_alert_rules import cgm as cgm_samples
from tests.readings.test_alert_rules import cgm_day, every_5


def low_hour(start: int = 0, value: float = 50) -> list[dict[str, Any]]:
    """12 CGM readings 5 minutes apart: one hour at `value`."""
    return [cgm(value, BASE_TIME + timedelta(minutes=start + 5 * i)) for i in range(12)]


def cgm_at(minute: int, value: float) -> dict[str, Any]:
    return cgm(value, BASE_TIME + timedelta(minutes=minute))


def at(minute: int) -> str:
    return (BASE_TIME + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z")


async def alerts_of(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(
        "/v1/alerts",
        params={"patient_id": str(patient.id), "limit": 1000, **params},
        headers=org.clinician.headers,
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return sorted(items, key=lambda a: a["first_at"])


def live(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The episodes, leaving out alerts the service withdrew."""
    return [a for a in items if not (a["status"] == "resolved" and a["resolved_by"] is None)]


def shape(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        tuple(
            a[k] for k in ("kind", "severity", "first_at", "last_at", "count", "worst", "ended_at")
        )
        for a in live(items)
    ]


@pytest.fixture
async def cgm_patient(app: FastAPI, org: OrgWorld) -> PatientWorld:
    return await make_reading_patient(app, org, device_kind="cgm")


async def test_an_hour_at_50_in_one_batch_is_one_urgent_episode_of_12(
    client: httpx.AsyncClient, org: OrgWorld, cgm_patient: PatientWorld
) -> None:
    assert statuses(await post_batch(client, cgm_patient.device, "me", low_hour())) == {
        "created": 12
    }
    (alert,) = await alerts_of(client, org, cgm_patient)
    assert (alert["kind"], alert["severity"], alert["status"]) == (
        "hypoglycemia_level_2",
        "urgent",
        "open",
    )
    assert (alert["count"], alert["worst"], alert["ended_at"]) == (
        12,
        {"value": 50, "unit": "mg/dL"},
        None,
    )
    assert (alert["first_at"], alert["last_at"]) == (at(0), at(55))
    # Resent, in a batch or one by one: nothing counts twice.
    assert statuses(await post_batch(client, cgm_patient.device, "me", low_hour())) == {
        "duplicate": 12
    }
    assert (await post_one(client, cgm_patient.device, "me", low_hour()[3])).status_code == 200
    (again,) = await alerts_of(client, org, cgm_patient)
    assert (again["id"], again["count"]) == (alert["id"], 12)


async def test_an_hour_at_50_one_reading_per_request_is_the_same_episode(
    client: httpx.AsyncClient, org: OrgWorld, cgm_patient: PatientWorld
) -> None:
    for reading in low_hour():
        assert (await post_one(client, cgm_patient.device, "me", reading)).status_code == 201
    (alert,) = await alerts_of(client, org, cgm_patient)
    assert (alert["kind"], alert["count"], alert["first_at"], alert["last_at"]) == (
        "hypoglycemia_level_2",
        12,
        at(0),
        at(55),
    )
    assert alert["ended_at"] is None


async def test_in_range_for_15_minutes_ends_it_and_the_next_low_opens_a_new_one(
    client: httpx.AsyncClient, org: OrgWorld, cgm_patient: PatientWorld
) -> None:
    device = cgm_patient.device
    await post_batch(client, device, "me", low_hour())
    # 10 minutes back in range: still going on.
    await post_batch(client, device, "me", [cgm_at(60, 100), cgm_at(65, 100)])
    (alert,) = await alerts_of(client, org, cgm_patient)
    assert alert["ended_at"] is None
    # The third reading makes 15 minutes: over, since the first reading back in range.
    await post_one(client, device, "me", cgm_at(70, 100))
    (alert,) = await alerts_of(client, org, cgm_patient)
    assert (alert["ended_at"], alert["count"], alert["status"]) == (at(60), 12, "open")
    # 10 minutes low is no new episode; 15 is.
    await post_batch(client, device, "me", [cgm_at(75, 60), cgm_at(80, 60)])
    assert len(await alerts_of(client, org, cgm_patient)) == 1
    await post_one(client, device, "me", cgm_at(85, 60))
    first, second = await alerts_of(client, org, cgm_patient)
    assert first["id"] == alert["id"]
    assert (second["kind"], second["severity"], second["count"], second["first_at"]) == (
        "hypoglycemia_level_1",
        "warning",
        3,
        at(75),
    )
    assert second["ended_at"] is None


async def test_ten_minutes_low_opens_nothing(
    client: httpx.AsyncClient, org: OrgWorld, cgm_patient: PatientWorld
) -> None:
    await post_batch(client, cgm_patient.device, "me", [cgm_at(0, 50), cgm_at(5, 50)])
    await post_batch(client, cgm_patient.device, "me", [cgm_at(10, 90), cgm_at(15, 90)])
    assert await alerts_of(client, org, cgm_patient) == []


async def test_a_fingerstick_low_opens_at_once_and_one_in_range_ends_it(
    client: httpx.AsyncClient, org: OrgWorld, cgm_patient: PatientWorld
) -> None:
    user = cgm_patient.user  # typed in from a meter: capillary blood
    low = glucose(50, minutes=0, specimen="capillary")
    assert (await post_one(client, user, "me", low)).status_code == 201
    (alert,) = await alerts_of(client, org, cgm_patient)
    assert (alert["kind"], alert["count"], alert["ended_at"]) == ("hypoglycemia_level_2", 1, None)
    await post_one(client, user, "me", glucose(52, minutes=15, specimen="capillary"))
    await post_one(client, user, "me", glucose(95, minutes=30, specimen="capillary"))
    (alert,) = await alerts_of(client, org, cgm_patient)
    assert (alert["count"], alert["ended_at"]) == (2, at(30))


async def test_blood_pressure_crisis_readings_in_a_row_are_one_episode(
    client: httpx.AsyncClient, org: OrgWorld, cgm_patient: PatientWorld
) -> None:
    readings = [bp(185, 125, minutes=m) for m in range(3)]
    assert statuses(await post_batch(client, cgm_patient.user, "me", readings)) == {"created": 3}
    (alert,) = await alerts_of(client, org, cgm_patient)
    assert (alert["kind"], alert["severity"], alert["count"]) == (
        "blood_pressure_crisis",
        "urgent",
        3,
    )
    assert alert["worst"] == {"systolic": 185, "diastolic": 125}
    # The next reading that is not a crisis ends it; a crisis after that is a new episode.
    await post_one(client, cgm_patient.user, "me", bp(150, 95, minutes=10))
    await post_one(client, cgm_patient.user, "me", bp(192, 100, minutes=20))
    first, second = await alerts_of(client, org, cgm_patient)
    assert (first["ended_at"], second["ended_at"], second["count"]) == (at(10), None, 1)


async def test_late_readings_out_of_order_give_the_same_episode(
    client: httpx.AsyncClient, org: OrgWorld, cgm_patient: PatientWorld
) -> None:
    for reading in reversed([*low_hour(), cgm_at(60, 100), cgm_at(65, 100), cgm_at(70, 100)]):
        assert (await post_one(client, cgm_patient.device, "me", reading)).status_code == 201
    items = await alerts_of(client, org, cgm_patient)
    worst = {"value": 50, "unit": "mg/dL"}
    assert shape(items) == [("hypoglycemia_level_2", "urgent", at(0), at(55), 12, worst, at(60))]


async def test_readings_filling_a_gap_withdraw_an_episode_they_disprove(
    client: httpx.AsyncClient, org: OrgWorld, cgm_patient: PatientWorld
) -> None:
    sparse = [cgm_at(0, 50), cgm_at(10, 50), cgm_at(20, 50)]  # 15 minutes of readings, all low
    await post_batch(client, cgm_patient.device, "me", sparse)
    (alert,) = await alerts_of(client, org, cgm_patient)
    assert alert["status"] == "open"
    # The missing readings arrive, in range: no 15 minutes low in a row any more.
    await post_batch(client, cgm_patient.device, "me", [cgm_at(5, 90), cgm_at(15, 90)])
    (withdrawn,) = await alerts_of(client, org, cgm_patient)
    assert withdrawn["id"] == alert["id"]
    assert (withdrawn["status"], withdrawn["resolved_by"]) == ("resolved", None)
    assert "no such episode" in withdrawn["resolved_note"]
    assert withdrawn["ended_at"] is not None


async def test_an_acknowledged_episode_keeps_growing_and_a_resolved_one_is_final(
    client: httpx.AsyncClient, org: OrgWorld, cgm_patient: PatientWorld
) -> None:
    device, staff = cgm_patient.device, org.clinician
    await post_batch(client, device, "me", low_hour()[:6])
    (alert,) = await alerts_of(client, org, cgm_patient)
    path = f"/v1/alerts/{alert['id']}"
    assert (await client.post(f"{path}/acknowledge", headers=staff.headers)).status_code == 200
    await post_batch(client, device, "me", low_hour()[6:9])
    (alert,) = await alerts_of(client, org, cgm_patient)
    assert (alert["status"], alert["count"], alert["ended_at"]) == ("acknowledged", 9, None)
    # Resolved while it goes on (at minute 42): it ends then, and stays as resolved.
    with clock.frozen_at(BASE_TIME + timedelta(minutes=42)):
        resolved = await client.post(f"{path}/resolve", headers=staff.headers)
    assert resolved.status_code == 200
    assert resolved.json()["ended_at"] == at(42)
    # Later lows: 10 minutes are nothing yet, 15 a new episode.
    with clock.frozen_at(BASE_TIME + timedelta(minutes=60)):
        await post_batch(client, device, "me", [cgm_at(45, 50), cgm_at(50, 50)])
        with_resolution = await alerts_of(client, org, cgm_patient)
        assert [(a["id"], a["count"]) for a in with_resolution] == [(alert["id"], 9)]
        await post_one(client, device, "me", cgm_at(55, 50))
        first, second = await alerts_of(client, org, cgm_patient)
    assert (first["id"], first["status"], first["count"]) == (alert["id"], "resolved", 9)
    assert (second["status"], second["count"], second["first_at"]) == ("open", 3, at(45))


async def test_concurrent_batches_for_one_patient_open_one_episode(
    client: httpx.AsyncClient, org: OrgWorld, cgm_patient: PatientWorld
) -> None:
    hour = low_hour()
    responses = await asyncio.gather(
        post_batch(client, cgm_patient.device, "me", hour[0::2]),
        post_batch(client, cgm_patient.device, "me", hour[1::2]),
        post_batch(client, cgm_patient.device, "me", hour[3:9]),
    )
    for response in responses:
        assert response.status_code == 200, response.text
    items = await alerts_of(client, org, cgm_patient)
    assert [(a["count"], a["ended_at"]) for a in live(items)] == [(12, None)]


async def test_the_database_allows_one_episode_going_on_per_condition(
    app: FastAPI, org: OrgWorld, cgm_patient: PatientWorld
) -> None:
    def row(ended: bool) -> Alert:
        now = utcnow()
        return Alert(
            patient_id=cgm_patient.id,
            kind="hypoglycemia_level_1",
            severity="warning",
            condition="hypoglycemia",
            source_type="reading",
            source_id=uuid.uuid4(),
            first_at=now,
            last_at=now,
            ended_at=now if ended else None,
            count=1,
        )

    async with app.state.sessionmaker() as session, session.begin():
        session.add_all([row(True), row(True), row(False)])
    with pytest.raises(IntegrityError):
        async with app.state.sessionmaker() as session, session.begin():
            session.add(row(False))
    async with app.state.sessionmaker() as session:
        stored = list(await session.scalars(select(Alert.ended_at)))
    assert sorted(e is None for e in stored) == [False, False, True]


async def test_a_cgm_day_opens_a_handful_not_one_per_low_reading(
    client: httpx.AsyncClient, org: OrgWorld, cgm_patient: PatientWorld
) -> None:
    day = cgm_day(7)
    hourly = [day[i : i + 12] for i in range(0, len(day), 12)]  # as a phone uploads them
    for batch in hourly:
        await post_batch(client, cgm_patient.device, "me", [cgm_at(m, v) for m, v in batch])
    items = live(await alerts_of(client, org, cgm_patient))
    expected = episodes(cgm_samples(*day), HYPOGLYCEMIA_RULE)
    assert 1 <= len(items) == len(expected) <= 6
    assert [a["count"] for a in items] == [e.count for e in expected]
    assert sum(1 for _, v in day if v < 70) > len(items) * 3


def batches_of(trace: list[tuple[int, float]], cuts: list[int], seed: int) -> list[list[int]]:
    """The trace's indexes cut into batches at `cuts`, the batches in a shuffled order, each
    batch's readings shuffled too."""
    rng = random.Random(seed)
    order = list(range(len(trace)))
    rng.shuffle(order)
    edges = sorted({c % (len(trace) + 1) for c in cuts} | {0, len(trace)})
    groups = [order[a:b] for a, b in itertools.pairwise(edges) if b > a]
    rng.shuffle(groups)
    return groups


@APP_PROPERTY
@given(
    values=st.lists(
        st.sampled_from([48.0, 60.0, 69.0, 70.0, 95.0, 160.0]), min_size=1, max_size=30
    ),
    cuts=st.lists(st.integers(0, 40), max_size=6),
    seed=st.integers(0, 10**6),
)
async def test_any_batches_in_any_order_end_with_the_same_episodes(
    app: FastAPI,
    client: httpx.AsyncClient,
    values: list[float],
    cuts: list[int],
    seed: int,
) -> None:
    org = await make_org(app)
    whole = await make_reading_patient(app, org, device_kind="cgm")
    split = await make_reading_patient(app, org, device_kind="cgm")
    trace = every_5(0, *values)
    await post_batch(client, whole.device, "me", [cgm_at(m, v) for m, v in trace])
    for group in batches_of(trace, cuts, seed):
        readings = [cgm_at(*trace[i]) for i in group]
        assert statuses(await post_batch(client, split.device, "me", readings)) == {
            "created": len(readings)
        }
    expected = episodes(cgm_samples(*trace), HYPOGLYCEMIA_RULE)
    whole_shape = shape(await alerts_of(client, org, whole))
    assert whole_shape == shape(await alerts_of(client, org, split))
    assert [(s[4], s[6] is None) for s in whole_shape] == [
        (e.count, e.ended_at is None) for e in expected
    ]
    ongoing = [a for a in await alerts_of(client, org, split) if a["ended_at"] is None]
    assert len(ongoing) <= 1


async def test_readings_resent_with_client_ids_count_once(
    client: httpx.AsyncClient, org: OrgWorld, cgm_patient: PatientWorld
) -> None:
    readings = [with_client_id(r) for r in low_hour()]
    await post_batch(client, cgm_patient.device, "me", readings[:6])
    await post_batch(client, cgm_patient.device, "me", readings)
    (alert,) = await alerts_of(client, org, cgm_patient)
    assert alert["count"] == 12


async def test_a_clinician_readings_and_the_worker_at_once_all_succeed(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, cgm_patient: PatientWorld
) -> None:
    """One lock order (the stored standing row, then alert rows): no deadlock between them."""
    await post_batch(client, cgm_patient.device, "me", low_hour()[:6])
    (alert,) = await alerts_of(client, org, cgm_patient)
    for _ in range(3):
        await mark_due(app.state.sessionmaker, rules=None)  # the worker has the patient to do
        ack, batch, _ = await asyncio.gather(
            client.post(f"/v1/alerts/{alert['id']}/acknowledge", headers=org.clinician.headers),
            post_batch(client, cgm_patient.device, "me", low_hour()[6:]),
            run_due(app.state.sessionmaker, rules=app.state.rules),
        )
        assert ack.status_code == 200, ack.text
        assert batch.status_code == 200, batch.text
    (alert,) = await alerts_of(client, org, cgm_patient)
    assert (alert["status"], alert["count"]) == ("acknowledged", 12)


async def test_an_episode_over_counts_in_the_panel_until_acknowledged(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, cgm_patient: PatientWorld
) -> None:
    """docs/rules.md "Need score": open alerts count, an episode that is over included."""

    async def open_urgent() -> int:
        panel = await client.get("/v1/patients", headers=org.clinician.headers)
        assert panel.status_code == 200, panel.text
        (item,) = [p for p in panel.json()["items"] if p["id"] == str(cgm_patient.id)]
        count: int = item["open_urgent_alerts"]
        return count

    await post_batch(client, cgm_patient.device, "me", low_hour())
    assert await open_urgent() == 1
    await post_batch(client, cgm_patient.device, "me", [cgm_at(m, 110) for m in (60, 65, 70)])
    (alert,) = await alerts_of(client, org, cgm_patient)
    assert alert["ended_at"] is not None
    assert await open_urgent() == 1
    url = f"/v1/alerts/{alert['id']}/acknowledge"
    assert (await client.post(url, headers=org.clinician.headers)).status_code == 200
    assert await open_urgent() == 0
