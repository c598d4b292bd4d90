"""Ingest over HTTP: validation, conversions, exactly-once storage, provenance."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, text

from app.readings.ingest import PG_BATCH_ROW_FIELDS
from tests.factories import OrgWorld, PatientWorld
from tests.readings.helpers import (
    BASE_TIME,
    at,
    bp,
    cgm,
    count_rows,
    glucose,
    list_all,
    make_reading_patient,
    post_batch,
    post_one,
    statuses,
    url,
    with_client_id,
)

# --- single POST -------------------------------------------------------------------------------


async def test_create_then_repeat_by_client_id(
    client: httpx.AsyncClient, patient: PatientWorld
) -> None:
    body = with_client_id(bp(128, 82))
    first = await post_one(client, patient.user, "me", body)
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "created"
    # Same client_id with other values is still the same reading: the client says so.
    again = await post_one(client, patient.user, "me", {**body, "systolic": 130})
    assert again.status_code == 200, again.text
    assert again.json() == {"id": first.json()["id"], "status": "duplicate"}


async def test_repeat_without_client_id_is_decided_by_identity(
    app: FastAPI, client: httpx.AsyncClient, patient: PatientWorld
) -> None:
    first = await post_one(client, patient.user, "me", glucose(5.5, unit="mmol/L"))
    assert first.status_code == 201, first.text
    # The same instant written with another offset and unit is the same reading.
    same = glucose(99.1, unit="mg/dL")
    same["effective_at"] = (BASE_TIME.astimezone(UTC) - timedelta(hours=5)).replace(
        tzinfo=None
    ).isoformat() + "-05:00"
    repeat = await post_one(client, patient.user, "me", same)
    assert repeat.status_code == 200, repeat.text
    assert repeat.json()["id"] == first.json()["id"]
    # Two different readings at the same instant are never merged.
    other = await post_one(client, patient.user, "me", glucose(101))
    assert other.status_code == 201
    assert await count_rows(app, patient.id) == 2


@pytest.mark.parametrize(
    ("body", "stored"),
    [
        (glucose(5.5, unit="mmol/L"), {"value": 99.1, "unit": "mg/dL", "code": "2339-0"}),
        (
            {"type": "weight", "value": 180, "unit": "[lb_av]", "effective_at": at()},
            {"value": 81.65, "unit": "kg", "code": "29463-7"},
        ),
        (
            {"type": "hba1c", "value": 53, "unit": "mmol/mol", "effective_at": at()},
            {"value": 7.0, "unit": "%", "code": "4548-4"},
        ),
        (
            {"type": "waist", "value": 40, "unit": "[in_i]", "effective_at": at()},
            {"value": 101.6, "unit": "cm", "code": "8280-0"},
        ),
        (
            {"type": "ldl", "value": 2.5, "unit": "mmol/L", "effective_at": at()},
            {"value": 96.7, "unit": "mg/dL", "code": "18262-6"},
        ),
        # 5 ft 7 in = 67 x 2.54 = 170.18 cm
        (
            {"type": "height", "value": 67, "unit": "[in_i]", "effective_at": at()},
            {"value": 170.2, "unit": "cm", "code": "8302-2"},
        ),
        (
            glucose(90, specimen="capillary", meal="fasting"),
            {"value": 90.0, "specimen": "capillary", "meal": "fasting", "code": "41653-7"},
        ),
        (
            bp(135, 85, pulse=70),
            {"systolic": 135, "diastolic": 85, "pulse": 70, "unit": "mm[Hg]", "code": "85354-9"},
        ),
        (
            {"type": "steps", "count": 4200, "effective_at": at(), "end_at": at(60)},
            {"count": 4200, "unit": "{steps}", "code": "41950-7", "end_at": "2025-03-03T13:00:00Z"},
        ),
        (
            {"type": "egfr", "value": 55, "effective_at": at()},
            {"value": 55.0, "unit": "mL/min/{1.73_m2}", "code": "98979-8"},
        ),
    ],
)
async def test_values_read_back_canonical(
    client: httpx.AsyncClient,
    patient: PatientWorld,
    body: dict[str, Any],
    stored: dict[str, Any],
) -> None:
    created = await post_one(client, patient.user, "me", body)
    assert created.status_code == 201, created.text
    (reading,) = await list_all(client, patient.user, "me")
    assert reading["id"] == created.json()["id"]
    assert reading["type"] == body["type"]
    for name, value in stored.items():
        assert reading[name] == value, name
    assert reading["source"] == {"kind": "manual"}
    assert reading["received_at"]


async def test_reading_keeps_its_offset_and_zone(
    client: httpx.AsyncClient, patient: PatientWorld
) -> None:
    body = bp(120, 80, timezone="Europe/Paris")
    body["effective_at"] = "2025-03-03T23:30:00+01:00"
    assert (await post_one(client, patient.user, "me", body)).status_code == 201
    (reading,) = await list_all(client, patient.user, "me")
    assert reading["effective_at"] == "2025-03-03T23:30:00+01:00"
    assert reading["timezone"] == "Europe/Paris"
    assert reading["local_date"] == "2025-03-03"


@pytest.mark.parametrize(
    ("body", "path", "words"),
    [
        ({**bp(), "effective_at": "2025-03-03T12:00:00"}, "effective_at", ["offset"]),
        (bp(301, 80), "systolic", ["systolic", "301", "40-300"]),
        (bp(120, 19), "diastolic", ["diastolic", "19", "20-200"]),
        (bp(120, 125), "diastolic", ["below systolic"]),
        (glucose(56, unit="mmol/L"), "value", ["glucose", "56 mmol/L", "10-1000 mg/dL"]),
        ({**glucose(), "unit": "g/L"}, "unit", []),
        ({**bp(), "colour": "blue"}, "colour", ["unknown field"]),
        ({**bp(), "systolic": "120"}, "systolic", []),
        ({**bp(), "systolic": True}, "systolic", []),
        ({**bp(), "type": "mood"}, "type", ["blood_pressure"]),
        ({k: v for k, v in bp().items() if k != "type"}, "type", []),
        ({**bp(), "source": {"kind": "device"}}, "source.device_id", ["required"]),
        (
            {**bp(), "source": {"kind": "device", "device_id": str(uuid.uuid4())}},
            "source.device_id",
            ["not one of the patient's"],
        ),
        (
            {"type": "steps", "count": 10, "effective_at": at(), "end_at": at(-1)},
            "end_at",
            ["after effective_at"],
        ),
        ({**bp(), "timezone": "Mars/Olympus"}, "timezone", ["IANA"]),
    ],
)
async def test_invalid_reading_is_422_naming_the_field(
    client: httpx.AsyncClient,
    app: FastAPI,
    patient: PatientWorld,
    body: dict[str, Any],
    path: str,
    words: list[str],
) -> None:
    response = await post_one(client, patient.user, "me", body)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["error"] == "ValidationError"
    messages = {f["path"]: f["message"] for f in error["fields"]}
    assert path in messages, messages
    for word in words:
        assert word in messages[path]
    assert await count_rows(app, patient.id) == 0


async def test_future_limit_is_ten_minutes(
    client: httpx.AsyncClient, patient: PatientWorld
) -> None:
    now = datetime.now(UTC)
    near = {**bp(), "effective_at": (now + timedelta(minutes=9)).isoformat()}
    far = {**bp(), "effective_at": (now + timedelta(minutes=11)).isoformat()}
    assert (await post_one(client, patient.user, "me", near)).status_code == 201
    response = await post_one(client, patient.user, "me", far)
    assert response.status_code == 422
    assert response.json()["fields"][0]["path"] == "effective_at"


# --- batch -------------------------------------------------------------------------------------


def _cgm_day(count: int, start: datetime) -> list[dict[str, Any]]:
    return [cgm(80 + i % 120, start + timedelta(minutes=5 * i)) for i in range(count)]


async def test_batch_of_1000_with_invalid_items_and_repeats(
    app: FastAPI, client: httpx.AsyncClient, patient: PatientWorld
) -> None:
    earlier = [with_client_id(r) for r in _cgm_day(10, BASE_TIME - timedelta(days=1))]
    assert statuses(await post_batch(client, patient.device, "me", earlier)) == {"created": 10}

    fresh = _cgm_day(970, BASE_TIME)
    invalid: list[dict[str, Any]] = [
        cgm(5, BASE_TIME),  # below 10 mg/dL
        cgm(1001, BASE_TIME),  # above 1000 mg/dL
        {**cgm(100, BASE_TIME), "effective_at": "2025-03-03T12:00:00"},  # no offset
        {**cgm(100, BASE_TIME), "unit": "mg"},
        {**cgm(100, BASE_TIME), "extra": 1},
        {"type": "glucose", "unit": "mg/dL", "effective_at": at()},  # no value
        bp(120, 130),  # diastolic above systolic
        bp(10, 5),
        {"type": "teleportation", "effective_at": at()},
        {**cgm(100, datetime.now(UTC) + timedelta(hours=1))},  # future
    ]
    repeats = earlier + fresh[:10]  # 10 stored before, 10 earlier in this very batch
    batch: list[dict[str, Any]] = []
    kinds: list[str] = []
    fresh_iter, invalid_iter, repeat_iter = iter(fresh), iter(invalid), iter(repeats)
    for i in range(1000):
        # Spread the 30 special items through the batch, after the fresh items they repeat.
        if i % 33 == 20 and len(kinds) - kinds.count("fresh") < 30:
            if kinds.count("invalid") < 10:
                batch.append(next(invalid_iter))
                kinds.append("invalid")
            else:
                batch.append(next(repeat_iter))
                kinds.append("repeat")
        else:
            item = next(fresh_iter, None)
            if item is None:
                nxt = next(invalid_iter, None) or next(repeat_iter)
                batch.append(nxt)
                kinds.append("invalid" if nxt in invalid else "repeat")
            else:
                batch.append(item)
                kinds.append("fresh")
    assert kinds.count("fresh") == 970
    assert kinds.count("invalid") == 10

    response = await post_batch(client, patient.device, "me", batch)
    assert statuses(response) == {"created": 970, "duplicate": 20, "invalid": 10}
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(range(1000))
    for result, kind in zip(results, kinds, strict=True):
        expected = {"fresh": "created", "repeat": "duplicate", "invalid": "invalid"}[kind]
        assert result["status"] == expected
        if kind == "invalid":
            assert result["errors"]
            assert all(e["path"] and e["message"] for e in result["errors"])
            assert "id" not in result
        else:
            assert uuid.UUID(result["id"])
    ids_by_body = {
        str(body): r["id"]
        for body, r in zip(batch, results, strict=True)
        if r["status"] == "created"
    }
    for body, result in zip(batch, results, strict=True):
        if result["status"] == "duplicate" and body in fresh:
            assert result["id"] == ids_by_body[str(body)]
    assert await count_rows(app, patient.id) == 980

    again = await post_batch(client, patient.device, "me", batch)
    assert statuses(again) == {"duplicate": 990, "invalid": 10}
    assert [r.get("id") for r in again.json()["results"] if r["status"] != "invalid"] == [
        r.get("id") for r in results if r["status"] != "invalid"
    ]
    assert await count_rows(app, patient.id) == 980


async def test_batch_over_1000_is_refused_before_storing(
    app: FastAPI, client: httpx.AsyncClient, patient: PatientWorld
) -> None:
    response = await post_batch(client, patient.device, "me", _cgm_day(1001, BASE_TIME))
    assert response.status_code == 422
    assert response.json()["fields"][0]["path"] == "readings"
    assert await count_rows(app, patient.id) == 0


async def test_batch_body_must_be_an_object_with_readings(
    client: httpx.AsyncClient, patient: PatientWorld
) -> None:
    for body in ([bp()], {"readings": "x"}, {"readings": [], "other": 1}):
        response = await client.post(url("me", "/batch"), json=body, headers=patient.user.headers)
        assert response.status_code == 422, response.text
    empty = await post_batch(client, patient.user, "me", [])
    assert empty.json() == {"results": []}
    broken = await client.post(
        url("me", "/batch"),
        content=b"{not json",
        headers={**patient.user.headers, "Content-Type": "application/json"},
    )
    assert broken.status_code == 400


async def _concurrent_identical(
    app: FastAPI, client: httpx.AsyncClient, patient: PatientWorld, requests: int
) -> None:
    readings = [with_client_id(r) for r in _cgm_day(25, BASE_TIME)] + _cgm_day(
        25, BASE_TIME + timedelta(days=1)
    )
    responses = await asyncio.gather(
        *(post_batch(client, patient.device, "me", readings) for _ in range(requests))
    )
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    created = sum(statuses(r).get("created", 0) for r in responses)
    assert created == 50
    ids = {tuple(x["id"] for x in r.json()["results"]) for r in responses}
    assert len(ids) == 1  # every request reports the same stored ids
    assert await count_rows(app, patient.id) == 50
    changes = await client.get(
        url("me", "/changes"), params={"limit": 1000}, headers=patient.user.headers
    )
    assert len(changes.json()["changes"]) == 50


@pytest.mark.postgres_only
async def test_twenty_concurrent_identical_batches_store_each_reading_once(
    app: FastAPI, client: httpx.AsyncClient, patient: PatientWorld
) -> None:
    await _concurrent_identical(app, client, patient, 20)


async def test_concurrent_identical_batches_any_database(
    app: FastAPI, client: httpx.AsyncClient, patient: PatientWorld
) -> None:
    await _concurrent_identical(app, client, patient, 5)


# --- provenance --------------------------------------------------------------------------------


async def test_device_token_readings_are_its_own_whatever_the_body_says(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    other = await make_reading_patient(app, org)  # another patient's device id, in the same org
    other_device = (
        await client.get(f"/v1/patients/{other.id}/devices", headers=org.clinician.headers)
    ).json()["items"][0]["id"]
    body = bp(150, 90, source={"kind": "manual", "device_id": other_device})
    assert (await post_one(client, patient.device, "me", body)).status_code == 201
    (reading,) = await list_all(client, patient.user, "me")
    own_device = (
        await client.get(f"/v1/patients/{patient.id}/devices", headers=org.clinician.headers)
    ).json()["items"][0]["id"]
    assert reading["source"] == {"kind": "device", "device_id": own_device}
    assert reading["eligible"] is True


@pytest.mark.parametrize(
    ("device_kind", "validated", "use_device_token", "eligible"),
    [
        ("bp_cuff", True, True, True),
        ("bp_cuff", False, True, False),
        ("wearable", True, True, False),
        ("bp_cuff", True, False, False),  # relayed by the app: not source-verifiable
    ],
)
async def test_blood_pressure_eligibility(
    app: FastAPI,
    client: httpx.AsyncClient,
    org: OrgWorld,
    device_kind: str,
    validated: bool,
    use_device_token: bool,
    eligible: bool,
) -> None:
    patient = await make_reading_patient(app, org, device_kind=device_kind, validated=validated)
    devices = await client.get(
        url(patient.id).replace("/readings", "/devices"), headers=patient.user.headers
    )
    device_id = devices.json()["items"][0]["id"]
    actor = patient.device if use_device_token else patient.user
    body = bp(125, 80, source={"kind": "device", "device_id": device_id})
    assert (await post_one(client, actor, "me", body)).status_code == 201
    (reading,) = await list_all(client, patient.user, "me")
    assert reading["eligible"] is eligible
    assert reading["source"] == {"kind": "device", "device_id": device_id}


async def test_manual_blood_pressure_is_stored_but_not_eligible(
    client: httpx.AsyncClient, patient: PatientWorld
) -> None:
    assert (await post_one(client, patient.user, "me", bp(140, 90))).status_code == 201
    (reading,) = await list_all(client, patient.user, "me")
    assert reading["source"] == {"kind": "manual"}
    assert reading["eligible"] is False


@pytest.mark.parametrize(
    ("method", "code"),
    [
        (None, "18262-6"),  # not said: measured directly (docs/rules.md "Codes and units")
        ("direct", "18262-6"),
        ("calculated", "13457-7"),
    ],
)
async def test_ldl_code_follows_its_method(
    client: httpx.AsyncClient, patient: PatientWorld, method: str | None, code: str
) -> None:
    body = {"type": "ldl", "value": 100, "unit": "mg/dL", "effective_at": at()}
    if method is not None:
        body["method"] = method
    assert (await post_one(client, patient.user, "me", body)).status_code == 201
    (reading,) = await list_all(client, patient.user, "me")
    assert reading["code"] == code
    # Read back as written: the method when it was given, no `method: null` otherwise.
    assert reading.get("method", "absent") == (method or "absent")


async def test_ldl_method_must_be_known(client: httpx.AsyncClient, patient: PatientWorld) -> None:
    body = {
        "type": "ldl",
        "value": 100,
        "unit": "mg/dL",
        "method": "friedewald",
        "effective_at": at(),
    }
    response = await post_one(client, patient.user, "me", body)
    assert response.status_code == 422, response.text
    assert [f["path"] for f in response.json()["fields"]] == ["method"]


# A New York patient's reading at 23:30 New York time on 3 March (04:30 UTC on the 4th, 13:30 in
# Tokyo on the 4th) counts for 3 March whatever zone it was sent with; that zone is kept.
LATE_EVENING = "2025-03-03T23:30:00-05:00"


@pytest.mark.parametrize(
    ("effective_at", "zone", "shown_zone"),
    [
        (LATE_EVENING, "Asia/Tokyo", "Asia/Tokyo"),
        ("2025-03-04T13:30:00+09:00", "Asia/Tokyo", "Asia/Tokyo"),  # the same instant, Tokyo's
        ("2025-03-04T04:30:00Z", "UTC", "UTC"),
        (LATE_EVENING, None, "America/New_York"),  # no zone sent: the patient's
    ],
)
async def test_local_day_is_the_patients_whatever_zone_is_sent(
    client: httpx.AsyncClient,
    patient: PatientWorld,
    effective_at: str,
    zone: str | None,
    shown_zone: str,
) -> None:
    body: dict[str, Any] = {
        "type": "weight",
        "value": 80,
        "unit": "kg",
        "effective_at": effective_at,
    }
    if zone is not None:
        body["timezone"] = zone
    assert (await post_one(client, patient.user, "me", body)).status_code == 201
    (reading,) = await list_all(client, patient.user, "me")
    assert (reading["local_date"], reading["timezone"]) == ("2025-03-03", shown_zone)
    assert reading["effective_at"] == effective_at  # with the offset it was sent with
    daily = await client.get(
        url("me", "/daily"),
        params={"type": "weight", "from": "2025-03-01", "to": "2025-03-05"},
        headers=patient.user.headers,
    )
    assert [(i["date"], i["count"]) for i in daily.json()["items"]] == [("2025-03-03", 1)]


async def test_revoked_device_cannot_be_named_as_source(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    devices_url = f"/v1/patients/{patient.id}/devices"
    device_id = (await client.get(devices_url, headers=org.clinician.headers)).json()["items"][0][
        "id"
    ]
    revoked = await client.delete(f"{devices_url}/{device_id}", headers=org.clinician.headers)
    assert revoked.status_code == 204
    body = bp(source={"kind": "integration", "device_id": device_id})
    response = await post_one(client, patient.user, "me", body)
    assert response.status_code == 422
    assert response.json()["fields"][0]["path"] == "source.device_id"
    # And the revoked device's own token is refused outright.
    assert (await post_one(client, patient.device, "me", bp())).status_code == 401


async def test_cgm_device_glucose_defaults_to_interstitial(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld
) -> None:
    patient = await make_reading_patient(app, org, device_kind="cgm")
    assert (await post_one(client, patient.device, "me", glucose(110))).status_code == 201
    (reading,) = await list_all(client, patient.user, "me")
    assert reading["specimen"] == "interstitial"
    assert reading["code"] == "99504-3"


async def test_ingest_is_audited(client: httpx.AsyncClient, patient: PatientWorld) -> None:
    created = await post_one(client, patient.device, "me", bp())
    log = await client.get(f"/v1/patients/{patient.id}/access-log", headers=patient.user.headers)
    events = log.json()["items"]
    assert any(
        e["action"] == "create"
        and e["resource_type"] == "reading"
        and e["resource_id"] == created.json()["id"]
        and e["actor_role"] == "device"
        for e in events
    )


@pytest.mark.parametrize("actor", ["device", "user"])
async def test_ingest_loads_the_callers_patient_once(
    app: FastAPI, client: httpx.AsyncClient, patient: PatientWorld, actor: str
) -> None:
    # The principal's own patient (and device) rows, loaded with the token check, must still be
    # in the session when the route asks for them: the identity map keeps objects only weakly.
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        readings = [glucose(100 + i) | {"effective_at": at(5 * i)} for i in range(3)]
        response = await post_batch(client, getattr(patient, actor), "me", readings)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200, response.text
    # Glucose changes no stored standing (outcomes/touch.py); where a type does, the standing is
    # re-evaluated before the commit with queries of its own. Apart from the alerts the readings
    # might extend or end (alerts/episodes.py) and the webhooks subscribed to them, the ingest
    # reads one row: the caller's, with its patient.
    assert not any("patient_standings" in s for s in statements)
    selects = [
        s
        for s in statements
        if s.lstrip().upper().startswith("SELECT")
        and "FROM alerts" not in s
        and "FROM webhook_endpoints" not in s
    ]
    assert len(selects) == 1, selects


@pytest.mark.postgres_only
async def test_batch_row_type_matches_the_insert(app: FastAPI) -> None:
    # The insert sends records of this type field by field; a migration that changed one without
    # the other would shift values into the wrong columns.
    async with app.state.engine.connect() as connection:
        fields = await connection.scalars(
            text(
                "SELECT attname FROM pg_attribute"
                " WHERE attrelid = (SELECT typrelid FROM pg_type WHERE typname = :name)"
                " AND attnum > 0 ORDER BY attnum"
            ),
            {"name": "reading_batch_row"},
        )
        assert tuple(fields) == PG_BATCH_ROW_FIELDS
