"""A care period's timeline over HTTP, with the service's clock moved to each day of it.

Days are care-period days: day 1 is `START`, the first ACCESS care-period start (2026-07-05).
The patient lives in New York; observations are taken in the morning, the clock is frozen in
the evening of the day asked (`on_day`), so "today" is that day for the patient.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI

from app import clock
from app.checkins.instruments import CATALOG
from app.worker import run_due
from tests.factories import Actor

START = date(2026, 7, 5)
TZ = ZoneInfo("America/New_York")


def date_of(day: int) -> date:
    """The calendar date of care-period day `day` (1 = START)."""
    return START + timedelta(days=day - 1)


def when(day: int, hour: int = 9, minute: int = 0) -> str:
    return datetime.combine(date_of(day), time(hour, minute), tzinfo=TZ).isoformat()


@contextmanager
def on_day(day: int) -> Iterator[None]:
    """The service's clock reads the evening of care-period day `day` in New York."""
    with clock.frozen_at(datetime.combine(date_of(day), time(20), tzinfo=TZ)):
        yield


async def worker_pass(app: FastAPI) -> int:
    """What the worker does at the patients' midnight: re-evaluate the stored standings the
    date has changed (tests move the clock, then run a pass)."""
    return await run_due(app.state.sessionmaker, rules=app.state.rules)


def enrollment(track: str, *conditions: str, start: date = START, **more: Any) -> dict[str, Any]:
    return {"track": track, "conditions": list(conditions), "start_date": start.isoformat(), **more}


async def post_readings(
    client: httpx.AsyncClient, actor: Actor, patient_id: uuid.UUID | str, readings: list[Any]
) -> list[uuid.UUID]:
    response = await client.post(
        f"/v1/patients/{patient_id}/readings/batch",
        json={"readings": readings},
        headers=actor.headers,
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert {r["status"] for r in results} == {"created"}, response.text
    return [uuid.UUID(r["id"]) for r in results]


async def cuff(
    client: httpx.AsyncClient, device: Actor, days_values: list[tuple[int, int]]
) -> list[uuid.UUID]:
    """Validated-cuff readings sent with the cuff's own credentials (eligible)."""
    return await post_readings(
        client,
        device,
        "me",
        [
            {
                "type": "blood_pressure",
                "systolic": s,
                "diastolic": s - 50,
                "effective_at": when(d, 8, i % 50),
            }
            for i, (d, s) in enumerate(days_values)
        ],
    )


async def manual_bp(
    client: httpx.AsyncClient, patient: Actor, days_values: list[tuple[int, int]]
) -> list[uuid.UUID]:
    return await post_readings(
        client,
        patient,
        "me",
        [
            {
                "type": "blood_pressure",
                "systolic": s,
                "diastolic": s - 50,
                "effective_at": when(d, 10, i % 50),
                "source": {"kind": "manual"},
            }
            for i, (d, s) in enumerate(days_values)
        ],
    )


LAB_UNITS = {"hba1c": "%", "ldl": "mg/dL", "egfr": "mL/min/{1.73_m2}", "uacr": "mg/g"}


async def labs(
    client: httpx.AsyncClient,
    staff: Actor,
    patient_id: uuid.UUID,
    results: list[tuple[str, int, float]],
) -> list[uuid.UUID]:
    """(type, day, value) lab results entered by staff, canonical units."""
    return await post_readings(
        client,
        staff,
        patient_id,
        [
            {
                "type": kind,
                "value": value,
                "unit": LAB_UNITS[kind],
                "effective_at": when(day, 11),
                "source": {"kind": "lab"},
            }
            for kind, day, value in results
        ],
    )


async def weights(
    client: httpx.AsyncClient, patient: Actor, days_kg: list[tuple[int, float]]
) -> list[uuid.UUID]:
    return await post_readings(
        client,
        patient,
        "me",
        [
            {"type": "weight", "value": kg, "unit": "kg", "effective_at": when(d, 7)}
            for d, kg in days_kg
        ],
    )


def answers_for(instrument: str, raw: int) -> dict[str, int]:
    """Answers to the scored items of `instrument` whose values add up to `raw`."""
    items = [i for i in CATALOG[instrument].items if i.scored]
    low = [min(i.values) for i in items]
    high = [max(i.values) for i in items]
    assert sum(low) <= raw <= sum(high), (instrument, raw)
    chosen = list(low)
    left = raw - sum(low)
    for index in range(len(items)):
        step = min(left, high[index] - low[index])
        chosen[index] += step
        left -= step
    return {item.id: value for item, value in zip(items, chosen, strict=True)}


async def checkin(
    client: httpx.AsyncClient, patient: Actor, instrument: str, day: int, raw: int
) -> dict[str, Any]:
    response = await client.post(
        "/v1/patients/me/checkins",
        json={
            "instrument": instrument,
            "answers": answers_for(instrument, raw),
            "completed_at": when(day, 19),
        },
        headers=patient.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def progress(
    client: httpx.AsyncClient, actor: Actor, patient_id: uuid.UUID
) -> dict[str, Any]:
    """The one care period's progress item, on the clock's today."""
    response = await client.get(f"/v1/patients/{patient_id}/progress", headers=actor.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    assert len(items) == 1, items
    return items[0]


def statuses(item: dict[str, Any]) -> dict[str, str]:
    return {m["measure"]: m["status"] for m in item["measures"]}


def measure(item: dict[str, Any], name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [m for m in item["measures"] if m["measure"] == name]
    (only,) = found
    return only


async def reporting(
    client: httpx.AsyncClient, actor: Actor, patient_id: uuid.UUID
) -> list[dict[str, Any]]:
    """The windows of the patient's one care period, on the clock's today."""
    response = await client.get(f"/v1/patients/{patient_id}/reporting", headers=actor.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    assert len(items) == 1, items
    windows: list[dict[str, Any]] = items[0]["windows"]
    return windows


async def prepare(
    client: httpx.AsyncClient,
    staff: Actor,
    patient_id: uuid.UUID,
    enrollment_id: str,
    report_type: str,
    report_day: int | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {"enrollment_id": enrollment_id, "type": report_type}
    if report_day is not None:
        body["report_date"] = date_of(report_day).isoformat()
    return await client.post(f"/v1/patients/{patient_id}/reports", json=body, headers=staff.headers)


async def enrollment_id(client: httpx.AsyncClient, actor: Actor, patient_id: uuid.UUID) -> str:
    response = await client.get(f"/v1/patients/{patient_id}/enrollments", headers=actor.headers)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    value: str = items[0]["id"]
    return value
