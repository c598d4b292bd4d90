"""A patient's `height_cm` is also stored as a dated height reading: BMI never rewrites history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app import clock
from tests.factories import Actor, PatientWorld, make_org, make_patient, mint

# 15:30 UTC is 11:30 in New York (EDT): the same local day in UTC and in the patient's zone.
NOW = datetime(2025, 6, 2, 15, 30, tzinfo=UTC)
NEW_PATIENT = {
    "given_name": "Ana",
    "family_name": "Silva",
    "birth_date": "1957-04-02",
    "sex": "female",
    "timezone": "America/New_York",
}


async def heights(client: httpx.AsyncClient, actor: Actor, patient: str) -> list[dict[str, Any]]:
    response = await client.get(
        f"/v1/patients/{patient}/readings", params={"type": "height"}, headers=actor.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def patch_height(
    client: httpx.AsyncClient, actor: Actor, patient: PatientWorld, height_cm: float | None
) -> dict[str, Any]:
    response = await client.patch(
        f"/v1/patients/{patient.id}", json={"height_cm": height_cm}, headers=actor.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"height_cm": 170}, [170.0]),
        ({"height_cm": 165.25}, [165.3]),  # stored at the reading's resolution, 0.1 cm
        ({}, []),
        ({"height_cm": None}, []),
    ],
)
async def test_created_patient_has_a_height_reading(
    app: FastAPI, client: httpx.AsyncClient, extra: dict[str, Any], expected: list[float]
) -> None:
    org = await make_org(app)
    with clock.frozen_at(NOW):
        created = await client.post(
            "/v1/patients", json={**NEW_PATIENT, **extra}, headers=org.clinician.headers
        )
        assert created.status_code == 201, created.text
        patient_id = created.json()["id"]
        assert created.json()["height_cm"] == extra.get("height_cm")  # the column: as given
        readings = await heights(client, org.clinician, patient_id)
    assert [r["value"] for r in readings] == expected
    for reading in readings:
        assert reading["type"] == "height"
        assert reading["code"] == "8302-2"
        assert reading["unit"] == "cm"
        assert reading["source"] == {"kind": "manual"}
        assert datetime.fromisoformat(reading["effective_at"]) == NOW
        assert reading["timezone"] == "America/New_York"
        assert reading["local_date"] == "2025-06-02"


@pytest.mark.parametrize("who", ["clinician", "patient"])
async def test_patching_height_adds_a_dated_reading_once_per_instant(
    app: FastAPI, client: httpx.AsyncClient, who: str
) -> None:
    org = await make_org(app)
    with clock.frozen_at(NOW):
        patient = await make_patient(app, org, height_cm=170.0)
    # Tokens expire by the real clock: the patient's is minted now, not at the frozen instant.
    actor = org.clinician if who == "clinician" else mint(app, patient.user.principal)
    later = NOW + timedelta(days=30)
    with clock.frozen_at(later):
        # The same PATCH twice in one instant (a retry) is one reading, not two.
        for _ in range(2):
            assert (await patch_height(client, actor, patient, 172.5))["height_cm"] == 172.5
        # Clearing the height stores nothing; the reading history stays.
        assert (await patch_height(client, actor, patient, None))["height_cm"] is None
    readings = await heights(client, actor, str(patient.id))
    # Newest first: the earlier height keeps its own date, so BMI before the change uses it.
    assert [(r["value"], datetime.fromisoformat(r["effective_at"])) for r in readings] == [
        (172.5, later),
        (170.0, NOW),
    ]


async def test_the_same_height_given_later_is_a_new_measurement(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    with clock.frozen_at(NOW):
        patient = await make_patient(app, org, height_cm=170.0)
    with clock.frozen_at(NOW + timedelta(days=1)):
        await patch_height(client, org.clinician, patient, 170.0)
    readings = await heights(client, org.clinician, str(patient.id))
    assert [r["local_date"] for r in readings] == ["2025-06-03", "2025-06-02"]


async def test_height_reading_is_in_the_rollups_and_the_feed(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    with clock.frozen_at(NOW):
        patient = await make_patient(app, org, height_cm=180.0)
        daily = await client.get(
            f"/v1/patients/{patient.id}/readings/daily",
            params={"type": "height", "from": "2025-06-02", "to": "2025-06-02"},
            headers=org.clinician.headers,
        )
    assert daily.status_code == 200, daily.text
    assert daily.json()["unit"] == "cm"
    assert [(i["date"], i["count"], i["mean"]) for i in daily.json()["items"]] == [
        ("2025-06-02", 1, 180.0)
    ]
    changes = await client.get(
        f"/v1/patients/{patient.id}/readings/changes", headers=org.clinician.headers
    )
    assert [(c["op"], c["reading"]["type"]) for c in changes.json()["changes"]] == [
        ("upsert", "height")
    ]
