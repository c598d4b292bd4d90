"""Helpers for the check-in API tests: answer sets, local dates, one-call submission."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from app import clock
from tests.factories import Actor

TZ = "America/New_York"
PHQ9_ITEMS = [f"phq9_{n}" for n in range(1, 10)]
GAD7_ITEMS = [f"gad7_{n}" for n in range(1, 8)]
PI_6A_ITEMS = ["painin9", "painin22", "painin31", "painin34", "painin12", "painin36"]
PF_6B_ITEMS = ["pfa11", "pfa21", "pfa23", "pfa53", "pfc12", "pfb1"]
WHODAS_ITEMS = [f"whodas_s{n}" for n in range(1, 13)]

# One complete, valid answer set per instrument.
COMPLETE: dict[str, dict[str, int]] = {
    "phq9": dict.fromkeys(PHQ9_ITEMS, 1) | {"phq9_9": 0},
    "gad7": dict.fromkeys(GAD7_ITEMS, 1),
    "promis_pi_6a": dict.fromkeys(PI_6A_ITEMS, 3),
    "promis_pf_6b": dict.fromkeys(PF_6B_ITEMS, 3),
    "pain_nrs": {"pain_avg_7d": 5},
    "whodas12": dict.fromkeys(WHODAS_ITEMS, 2),
    "pgic": {"pgic_1": 2},
    "daily": {"pain_today": 4, "mood": 6, "took_medication": 1, "did_exercises": 0},
}


def local_today(tz: str = TZ) -> date:
    return clock.local_today(tz)


def enroll_msk(start: date) -> dict[str, Any]:
    return {"track": "MSK", "conditions": ["chronic_msk_pain"], "start_date": start.isoformat()}


def enroll_bh(start: date, *conditions: str) -> dict[str, Any]:
    return {"track": "BH", "conditions": list(conditions), "start_date": start.isoformat()}


def now_iso(delta: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + delta).isoformat()


async def submit(
    client: httpx.AsyncClient,
    actor: Actor,
    patient_id: uuid.UUID | str,
    instrument: str,
    answers: dict[str, int] | None = None,
    **extra: Any,
) -> httpx.Response:
    body: dict[str, Any] = {
        "instrument": instrument,
        "answers": COMPLETE[instrument] if answers is None else answers,
        "completed_at": now_iso(),
    }
    body.update(extra)
    return await client.post(
        f"/v1/patients/{patient_id}/checkins", json=body, headers=actor.headers
    )


async def due_codes(
    client: httpx.AsyncClient, actor: Actor, patient_id: uuid.UUID | str
) -> list[str]:
    response = await client.get(f"/v1/patients/{patient_id}/checkins/due", headers=actor.headers)
    assert response.status_code == 200, response.text
    return [item["instrument"] for item in response.json()["items"]]
