"""Read-backs are built as plain data for speed: they must match `ReadingRead` exactly."""

from __future__ import annotations

from typing import get_args

import httpx
from fastapi import FastAPI
from pydantic import TypeAdapter

from app.readings.catalog import READING_TYPES
from app.readings.reads import ReadingRead
from tests.factories import make_org
from tests.readings.helpers import at, make_reading_patient

CLIENT_ID = "0f8b6c8e-8a53-4a8e-9d55-2b1f3f1a0c01"
READ = TypeAdapter[object](ReadingRead)
# Fields every type reads back with; the rest are its own.
COMMON = (
    "id", "client_id", "effective_at", "timezone", "local_date", "code", "source", "eligible",
    "received_at", "deleted_at",
)  # fmt: skip


async def test_list_and_changes_items_are_reading_read(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await make_reading_patient(app, org)
    bodies = [
        {"type": "blood_pressure", "systolic": 131, "diastolic": 84, "pulse": 70,
         "effective_at": "2025-03-03T08:00:00-05:00"},
        {"type": "glucose", "value": 5.5, "unit": "mmol/L", "specimen": "capillary",
         "meal": "fasting", "effective_at": at(10), "client_id": CLIENT_ID},
        {"type": "steps", "count": 4200, "effective_at": at(20), "end_at": at(80)},
        {"type": "weight", "value": 180, "unit": "[lb_av]", "effective_at": at(30)},
    ]  # fmt: skip
    response = await client.post(
        f"/v1/patients/{patient.id}/readings/batch",
        json={"readings": bodies},
        headers=patient.device.headers,
    )
    assert {r["status"] for r in response.json()["results"]} == {"created"}
    listed = (
        await client.get(f"/v1/patients/{patient.id}/readings", headers=patient.user.headers)
    ).json()["items"]
    changes = (
        await client.get(
            f"/v1/patients/{patient.id}/readings/changes", headers=patient.user.headers
        )
    ).json()["changes"]
    assert len(listed) == len(changes) == 4
    for item in listed + [c["reading"] for c in changes]:
        # Same fields and formats as the documented model of its type would produce.
        assert READ.dump_python(READ.validate_python(item), mode="json") == item
    by_type = {item["type"]: item for item in listed}
    assert by_type["blood_pressure"]["effective_at"] == "2025-03-03T08:00:00-05:00"
    assert by_type["blood_pressure"]["pulse"] == 70
    assert by_type["glucose"]["value"] == 99.1
    assert by_type["glucose"]["client_id"] == CLIENT_ID
    assert "end_at" in by_type["steps"]
    assert "value" not in by_type["steps"]
    assert by_type["weight"]["value"] == 81.65
    assert by_type["weight"]["source"]["kind"] == "device"
    assert "device_id" in by_type["weight"]["source"]


def test_every_type_reads_back_with_its_canonical_unit() -> None:
    (union, _) = get_args(ReadingRead)
    models = {get_args(m.model_fields["type"].annotation)[0]: m for m in get_args(union)}
    assert set(models) == set(READING_TYPES)
    for name, model in models.items():
        assert get_args(model.model_fields["unit"].annotation) == (READING_TYPES[name].unit,)
        type_fields = set(model.model_fields) - {"type", "unit"} - set(COMMON)
        assert type_fields == set(READING_TYPES[name].field_names) - {"unit"}
