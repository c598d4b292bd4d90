"""Care periods with a referring clinician, and the care-update routes over HTTP.

Days are care-period days (`tests.outcomes.helpers`): day 1 is 2026-07-05, the patient lives
in New York, and `on_day` freezes the service's clock in the evening of that day.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI

from tests.factories import Actor, OrgWorld, PatientWorld, make_patient
from tests.outcomes.helpers import date_of, enrollment, enrollment_id, on_day

REFERRER: dict[str, str] = {
    "name": "Dr. Rivera",
    "npi": "1234567893",
    "organization": "Main Street Family Practice",
    "direct_address": "rivera@direct.mainstreet.example",
}
TRACKS: dict[str, tuple[str, ...]] = {
    "eCKM": ("hypertension",),
    "CKM": ("diabetes",),
    "MSK": ("chronic_msk_pain",),
    "BH": ("depression", "anxiety"),
}


async def referred_patient(
    app: FastAPI, org: OrgWorld, track: str = "eCKM", *, day: int = 1, **more: Any
) -> PatientWorld:
    """A patient enrolled on care-period day 1 in `track`, with a referring clinician."""
    with on_day(day):
        return await make_patient(
            app,
            org,
            enroll=enrollment(track, *TRACKS[track], referring_clinician=REFERRER, **more),
        )


def base(patient_id: uuid.UUID | str, period: str) -> str:
    return f"/v1/patients/{patient_id}/enrollments/{period}/care-updates"


async def updates(
    client: httpx.AsyncClient, actor: Actor, patient: PatientWorld
) -> list[dict[str, Any]]:
    """The care updates of the patient's (only) care period."""
    period = await enrollment_id(client, actor, patient.id)
    response = await client.get(base(patient.id, period), headers=actor.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def of_kind(items: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [i for i in items if i["kind"] == kind]
    return found


def url(patient: PatientWorld, item: dict[str, Any], action: str) -> str:
    return f"{base(patient.id, item['enrollment_id'])}/{item['id']}/{action}"


async def crisis(client: httpx.AsyncClient, patient: PatientWorld, day: int, hour: int = 8) -> None:
    """A blood-pressure reading in the crisis range: an urgent episode opens."""
    response = await client.post(
        "/v1/patients/me/readings",
        json={
            "type": "blood_pressure",
            "systolic": 186,
            "diastolic": 124,
            "effective_at": f"{date_of(day).isoformat()}T{hour:02d}:00:00-04:00",
        },
        headers=patient.device.headers,
    )
    assert response.status_code == 201, response.text
