"""The demo's calendar patients stand, today, where the demo says they do."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from app.outcomes.demo import add_calendar_patients
from tests.factories import make_org, writing


async def test_each_calendar_patient_stands_where_the_demo_says(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    async with writing(app) as session:
        lines = await add_calendar_patients(
            session, staff=org.clinician.principal, rules=app.state.rules, activation_ttl_days=7
        )
    assert len(lines) == 6
    patients = (
        await client.get("/v1/patients", params={"order": "newest"}, headers=org.admin.headers)
    ).json()["items"]
    by_name = {p["given_name"]: p["id"] for p in patients}

    async def periods(name: str) -> list[dict[str, Any]]:
        response = await client.get(
            f"/v1/patients/{by_name[name]}/reporting", headers=org.clinician.headers
        )
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def statuses(period: dict[str, Any]) -> dict[str, str]:
        return {w["type"]: w["status"] for w in period["windows"]}

    (nora,) = await periods("Nora")
    assert statuses(nora)["baseline"] == "due_soon"
    (omar,) = await periods("Omar")
    assert [w["status"] for w in omar["windows"] if w["type"] == "quarterly"] == ["open"]
    (lena,) = await periods("Lena")
    assert statuses(lena)["end_of_period"] == "reported"
    (victor,) = await periods("Victor")
    assert (victor["status"], statuses(victor)["end_of_period"]) == ("completed", "missed")
    june = await periods("June")
    assert len(june) == 2
    follow_on = next(p for p in june if p["day"] < 60)
    assert statuses(follow_on)["baseline"] == "reported"
    (sam,) = await periods("Sam")
    assert sam["control_group"] is True
    lena_progress = (
        await client.get(f"/v1/patients/{by_name['Lena']}/progress", headers=org.admin.headers)
    ).json()["items"]
    assert lena_progress[0]["attained"] is True
