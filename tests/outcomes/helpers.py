"""Build a care period's worth of readings and check-ins over HTTP, for outcome scenarios."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx

from app.checkins.instruments import CATALOG
from tests.factories import Actor

# A past care period, so every observation is in the past: 2025-06-01 .. 2026-05-31.
START = date(2025, 6, 1)
END = date(2026, 5, 31)
AFTER_END = date(2026, 6, 10)  # report date after the period: results are final


def when(day: int, hour: int = 14) -> str:
    """Day `day` of the care period (0 = start), 14:00 UTC (morning in the Americas)."""
    return datetime.combine(START + timedelta(days=day), time(hour), tzinfo=UTC).isoformat()


def enrollment(track: str, *conditions: str) -> dict[str, Any]:
    return {"track": track, "conditions": list(conditions), "start_date": START.isoformat()}


async def post_readings(
    client: httpx.AsyncClient, actor: Actor, readings: list[dict[str, Any]]
) -> None:
    response = await client.post(
        "/v1/patients/me/readings/batch",
        json={"readings": readings},
        headers=actor.headers,
    )
    assert response.status_code == 200, response.text
    statuses = {r["status"] for r in response.json()["results"]}
    assert statuses == {"created"}, response.text


async def cuff(
    client: httpx.AsyncClient, device: Actor, days_values: list[tuple[int, int]]
) -> None:
    """Validated-cuff readings (the device token makes them eligible)."""
    await post_readings(
        client,
        device,
        [
            {
                "type": "blood_pressure",
                "systolic": s,
                "diastolic": s - 50,
                "effective_at": when(d, 14 + i % 5),
            }
            for i, (d, s) in enumerate(days_values)
        ],
    )


async def manual_bp(
    client: httpx.AsyncClient, patient: Actor, days_values: list[tuple[int, int]]
) -> None:
    await post_readings(
        client,
        patient,
        [
            {
                "type": "blood_pressure",
                "systolic": s,
                "diastolic": s - 50,
                "effective_at": when(d, 15),
                "source": {"kind": "manual"},
            }
            for d, s in days_values
        ],
    )


async def labs(
    client: httpx.AsyncClient,
    staff: Actor,
    patient_id: uuid.UUID,
    results: list[tuple[str, int, float]],
) -> None:
    """(type, day, value) lab results entered by staff, canonical units."""
    units = {"hba1c": "%", "ldl": "mg/dL", "egfr": "mL/min/{1.73_m2}", "uacr": "mg/g"}
    body = [
        {
            "type": kind,
            "value": value,
            "unit": units[kind],
            "effective_at": when(day, 16),
            "source": {"kind": "lab"},
        }
        for kind, day, value in results
    ]
    response = await client.post(
        f"/v1/patients/{patient_id}/readings/batch", json={"readings": body}, headers=staff.headers
    )
    assert response.status_code == 200, response.text
    assert {r["status"] for r in response.json()["results"]} == {"created"}, response.text


async def weights(
    client: httpx.AsyncClient, patient: Actor, days_kg: list[tuple[int, float]]
) -> None:
    await post_readings(
        client,
        patient,
        [
            {"type": "weight", "value": kg, "unit": "kg", "effective_at": when(d, 13)}
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
            "completed_at": when(day, 18),
        },
        headers=patient.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def progress(
    client: httpx.AsyncClient, actor: Actor, patient_id: uuid.UUID, as_of: date = AFTER_END
) -> dict[str, Any]:
    response = await client.get(
        f"/v1/patients/{patient_id}/progress",
        params={"as_of": as_of.isoformat()},
        headers=actor.headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert len(body["items"]) == 1
    item: dict[str, Any] = body["items"][0]
    return item


def statuses(item: dict[str, Any]) -> dict[str, str]:
    return {m["measure"]: m["status"] for m in item["measures"]}
