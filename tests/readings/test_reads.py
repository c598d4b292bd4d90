"""Reading back: list and filters, delete, the changes feed, daily rollups, glucose metrics."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import OrgWorld, PatientWorld
from tests.readings.helpers import (
    BASE_TIME,
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
)


async def _daily(
    client: httpx.AsyncClient, patient: PatientWorld, **params: str
) -> list[dict[str, Any]]:
    response = await client.get(url("me", "/daily"), params=params, headers=patient.user.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


# --- list --------------------------------------------------------------------------------------


async def test_list_newest_first_with_pagination_and_type(
    client: httpx.AsyncClient, patient: PatientWorld
) -> None:
    readings = [glucose(100 + i, minutes=i) for i in range(7)] + [bp(120, 80, minutes=3)]
    assert statuses(await post_batch(client, patient.user, "me", readings)) == {"created": 8}
    first = await client.get(url("me"), params={"limit": 3}, headers=patient.user.headers)
    assert first.status_code == 200
    assert len(first.json()["items"]) == 3
    assert first.json()["next_cursor"]
    everything = await list_all(client, patient.user, "me", limit=3)
    times = [r["effective_at"] for r in everything]
    assert len(everything) == 8
    assert times == sorted(times, reverse=True)
    assert len({r["id"] for r in everything}) == 8
    only_bp = await list_all(client, patient.user, "me", type="blood_pressure")
    assert [r["systolic"] for r in only_bp] == [120]
    assert "value" not in only_bp[0]


async def test_from_and_to_take_local_days_or_timestamps(
    client: httpx.AsyncClient, patient: PatientWorld
) -> None:
    # New York: 2025-03-03T03:00Z is 22:00 on 2 March locally.
    base = datetime(2025, 3, 3, 3, 0, tzinfo=UTC)
    readings = [cgm(100 + i, base + timedelta(hours=2 * i)) for i in range(4)]
    assert statuses(await post_batch(client, patient.user, "me", readings)) == {"created": 4}
    march_2 = await list_all(
        client, patient.user, "me", **{"from": "2025-03-02", "to": "2025-03-02"}
    )
    assert [r["value"] for r in march_2] == [100.0]
    march_3 = await list_all(client, patient.user, "me", **{"from": "2025-03-03"})
    assert [r["value"] for r in march_3] == [103.0, 102.0, 101.0]
    window = await list_all(
        client,
        patient.user,
        "me",
        **{"from": "2025-03-03T05:00:00Z", "to": "2025-03-03T02:00:00-05:00"},
    )
    assert [r["value"] for r in window] == [102.0, 101.0]
    for bad in ("yesterday", "2025-13-01", "2025-03-03T05:00:00"):
        response = await client.get(url("me"), params={"from": bad}, headers=patient.user.headers)
        assert response.status_code == 422, bad
        assert response.json()["fields"][0]["path"] == "query.from"
    bad_cursor = await client.get(url("me"), params={"cursor": "x"}, headers=patient.user.headers)
    assert bad_cursor.status_code == 422


# `from` after `to` is a 422 naming both, on every read that takes them: an empty 200 would read
# as "no data". The patient is in New York: 2025-03-04T04:30Z is 23:30 on 3 March there.
READ_ROUTES = [("", {}), ("/daily", {"type": "weight"}), ("/glucose-metrics", {})]


@pytest.mark.parametrize(("suffix", "params"), READ_ROUTES)
@pytest.mark.parametrize(
    ("first", "last"),
    [
        ("2025-03-05", "2025-03-01"),
        ("2025-03-03T05:00:00Z", "2025-03-03T04:59:59Z"),  # by one second
        ("2025-03-03T12:00:00-05:00", "2025-03-03T11:00:00-05:00"),  # on the same day
        ("2025-03-04", "2025-03-04T04:30:00Z"),  # the timestamp is 3 March in New York
        ("2025-03-03T12:00:00Z", "2025-03-02"),
    ],
)
async def test_from_after_to_is_422_naming_both(
    client: httpx.AsyncClient,
    patient: PatientWorld,
    suffix: str,
    params: dict[str, str],
    first: str,
    last: str,
) -> None:
    response = await client.get(
        url("me", suffix),
        params={**params, "from": first, "to": last},
        headers=patient.user.headers,
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "ValidationError"
    assert {f["path"] for f in body["fields"]} == {"query.from", "query.to"}
    assert f"from ({first[:10]}" in body["detail"]
    assert "is after to" in body["detail"]


@pytest.mark.parametrize(("suffix", "params"), READ_ROUTES)
@pytest.mark.parametrize(
    ("first", "last"),
    [
        ("2025-03-03", "2025-03-03"),
        ("2025-03-03T05:00:00Z", "2025-03-03T05:00:00Z"),
        ("2025-03-03T05:00:00Z", "2025-03-03T00:00:00-05:00"),  # the same instant
        ("2025-03-03", "2025-03-04T04:30:00Z"),  # the same New York day
        ("2025-03-04T04:30:00Z", "2025-03-03"),  # the same New York day
    ],
)
async def test_from_up_to_to_is_a_range(
    client: httpx.AsyncClient,
    patient: PatientWorld,
    suffix: str,
    params: dict[str, str],
    first: str,
    last: str,
) -> None:
    response = await client.get(
        url("me", suffix),
        params={**params, "from": first, "to": last},
        headers=patient.user.headers,
    )
    assert response.status_code == 200, response.text


# --- delete ------------------------------------------------------------------------------------


async def test_delete_tombstones_and_is_idempotent(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    created = (await post_one(client, patient.user, "me", bp(150, 95))).json()["id"]
    kept = (await post_one(client, patient.user, "me", bp(130, 85, minutes=5))).json()["id"]
    deleted = await client.delete(url("me", f"/{created}"), headers=patient.user.headers)
    assert deleted.status_code == 204
    assert [r["id"] for r in await list_all(client, patient.user, "me")] == [kept]
    again = await client.delete(url(patient.id, f"/{created}"), headers=org.clinician.headers)
    assert again.status_code == 204
    assert await count_rows(app, patient.id) == 2  # a tombstone, not a removal
    # A resend of the deleted reading does not bring it back.
    resend = await post_one(client, patient.user, "me", bp(150, 95))
    assert resend.status_code == 200
    assert resend.json() == {"id": created, "status": "duplicate"}
    assert await count_rows(app, patient.id, live_only=True) == 1


async def test_delete_unknown_or_foreign_reading_is_404(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    other = await make_reading_patient(app, org)
    theirs = (await post_one(client, other.user, "me", bp())).json()["id"]
    response = await client.delete(url("me", f"/{theirs}"), headers=patient.user.headers)
    assert response.status_code == 404
    missing = await client.delete(
        url("me", "/00000000-0000-4000-8000-000000000000"), headers=patient.user.headers
    )
    assert missing.status_code == 404
    assert await count_rows(app, other.id, live_only=True) == 1


# --- changes feed ------------------------------------------------------------------------------


async def _follow(
    client: httpx.AsyncClient,
    patient: PatientWorld,
    mirror: dict[str, dict[str, Any]],
    cursor: str | None,
) -> str | None:
    """Apply every change after `cursor` to `mirror`, a page of 7 at a time."""
    while True:
        params: dict[str, Any] = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        response = await client.get(
            url("me", "/changes"), params=params, headers=patient.user.headers
        )
        assert response.status_code == 200, response.text
        page = response.json()
        for change in page["changes"]:
            reading = change["reading"]
            if change["op"] == "delete":
                mirror.pop(reading["id"], None)
            else:
                mirror[reading["id"]] = reading
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return cursor


async def test_follower_of_changes_ends_with_the_live_set(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    rng = random.Random(7)
    mirror: dict[str, dict[str, Any]] = {}
    late_mirror: dict[str, dict[str, Any]] = {}
    cursor: str | None = None
    minute = 0
    for round_number in range(4):
        batch = [
            glucose(80 + rng.randrange(200), minutes=(minute := minute + 5)) for _ in range(15)
        ]
        response = await post_batch(client, patient.device, "me", batch)
        ids = [r["id"] for r in response.json()["results"]]
        for reading_id in rng.sample(ids, 4):
            gone = await client.delete(
                url(patient.id, f"/{reading_id}"), headers=org.clinician.headers
            )
            assert gone.status_code == 204
        if round_number % 2 == 0:
            cursor = await _follow(client, patient, mirror, cursor)
    cursor = await _follow(client, patient, mirror, cursor)
    live = {r["id"]: r for r in await list_all(client, patient.user, "me")}
    assert len(live) == 44
    assert mirror == live
    # A follower starting from nothing after all the churn also ends with the live set.
    await _follow(client, patient, late_mirror, None)
    assert late_mirror == live
    # Nothing new: the cursor stays and the page is empty.
    response = await client.get(
        url("me", "/changes"), params={"cursor": cursor}, headers=patient.user.headers
    )
    assert response.json() == {"changes": [], "next_cursor": cursor, "has_more": False}


# --- daily -------------------------------------------------------------------------------------


async def test_late_evening_in_new_york_counts_for_that_day(
    client: httpx.AsyncClient, patient: PatientWorld
) -> None:
    # 23:30 on 10 March 2024 in New York (EDT, the day clocks moved) is 03:30 UTC on 11 March.
    evening = {**glucose(120), "effective_at": "2024-03-10T23:30:00-04:00"}
    assert (await post_one(client, patient.user, "me", evening)).status_code == 201
    items = await _daily(
        client, patient, type="glucose", **{"from": "2024-03-09", "to": "2024-03-12"}
    )
    assert items == [
        {
            "date": "2024-03-10",
            "component": "value",
            "count": 1,
            "mean": 120.0,
            "min": 120.0,
            "max": 120.0,
            "sum": 120.0,
        }
    ]


async def test_daily_blood_pressure_per_component_and_delete_recomputes(
    client: httpx.AsyncClient, patient: PatientWorld
) -> None:
    readings = [bp(120, 80, pulse=60), bp(130, 84, minutes=10), bp(141, 90, minutes=20)]
    response = await post_batch(client, patient.user, "me", readings)
    ids = [r["id"] for r in response.json()["results"]]
    day = BASE_TIME.date().isoformat()
    items = await _daily(client, patient, type="blood_pressure", **{"from": day, "to": day})
    assert [(i["component"], i["count"], i["mean"], i["min"], i["max"]) for i in items] == [
        ("systolic", 3, 130.3, 120.0, 141.0),
        ("diastolic", 3, 84.7, 80.0, 90.0),
        ("pulse", 1, 60.0, 60.0, 60.0),
    ]
    await client.delete(url("me", f"/{ids[0]}"), headers=patient.user.headers)
    items = await _daily(client, patient, type="blood_pressure", **{"from": day, "to": day})
    assert [(i["component"], i["count"], i["mean"], i["min"]) for i in items] == [
        ("systolic", 2, 135.5, 130.0),
        ("diastolic", 2, 87.0, 84.0),
    ]


async def test_daily_over_a_year_and_range_checks(
    client: httpx.AsyncClient, patient: PatientWorld
) -> None:
    start = datetime(2024, 1, 1, 17, 0, tzinfo=UTC)
    readings = [
        {
            "type": "weight",
            "value": 90 - d / 100,
            "unit": "kg",
            "effective_at": (start + timedelta(days=d)).isoformat(),
        }
        for d in range(0, 366, 5)
    ]
    assert statuses(await post_batch(client, patient.user, "me", readings)) == {"created": 74}
    items = await _daily(
        client, patient, type="weight", **{"from": "2024-01-01", "to": "2024-12-31"}
    )
    assert len(items) == 74
    assert items[0]["date"] == "2024-01-01"
    assert items[0]["mean"] == 90.0
    assert [i["date"] for i in items] == sorted(i["date"] for i in items)
    for params in (
        {"type": "weight", "from": "2024-02-01", "to": "2024-01-01"},
        {"type": "weight", "from": "2020-01-01", "to": "2024-01-01"},
        {"type": "mood"},
        {},
    ):
        response = await client.get(
            url("me", "/daily"), params=params, headers=patient.user.headers
        )
        assert response.status_code == 422, params


# --- glucose metrics ---------------------------------------------------------------------------


async def test_glucose_metrics_from_cgm_readings(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld
) -> None:
    patient = await make_reading_patient(app, org, timezone="UTC", device_kind="cgm")
    start = datetime(2025, 1, 1, tzinfo=UTC)
    # 14 full days of 5-minute readings cycling through 50, 65, 100, 200, 300 mg/dL.
    cycle = [50, 65, 100, 200, 300]
    readings = [cgm(cycle[i % 5], start + timedelta(minutes=5 * i)) for i in range(14 * 288)]
    for chunk in range(0, len(readings), 1000):
        response = await post_batch(client, patient.device, "me", readings[chunk : chunk + 1000])
        assert statuses(response).get("created") == len(readings[chunk : chunk + 1000])
    # A capillary meter reading is not CGM data and is left out.
    assert (
        await post_one(client, patient.user, "me", glucose(40, specimen="capillary"))
    ).status_code == 201
    response = await client.get(
        url("me", "/glucose-metrics"),
        params={"from": "2025-01-01", "to": "2025-01-14"},
        headers=patient.user.headers,
    )
    assert response.status_code == 200, response.text
    metrics = response.json()
    assert metrics["readings"] == 14 * 288
    assert metrics["days_with_data"] == 14
    assert metrics["mean_mg_dl"] == 143.0
    assert metrics["gmi_percent"] == round(3.31 + 0.02392 * 143, 2)
    assert metrics["tir_percent"] == 20.0
    assert metrics["tbr_70_percent"] == 40.0
    assert metrics["tbr_54_percent"] == 20.0
    assert metrics["tar_180_percent"] == 40.0
    assert metrics["tar_250_percent"] == 20.0
    assert metrics["sufficient"] is True
    assert metrics["from"] == "2025-01-01"
    assert metrics["to"] == "2025-01-14"
    too_long = await client.get(
        url("me", "/glucose-metrics"),
        params={"from": "2024-01-01", "to": "2025-01-14"},
        headers=patient.user.headers,
    )
    assert too_long.status_code == 422


# One reading every 15 minutes for 14 days (1344 readings): how much wear they are depends on the
# sensor's sampling interval, not on a fixed 5 minutes (docs/rules.md "CGM").
@pytest.mark.parametrize(
    ("sampling_minutes", "wear", "sufficient"),
    [
        (15, 100.0, True),  # a 15-minute sensor worn all the time
        (5, 33.3, False),  # 1344 x 5 min of 14 days
        ("default", 33.3, False),  # a CGM registered without an interval samples every 5
        ("no device", 33.3, False),  # CGM data from no device counts 5 minutes each
    ],
)
async def test_glucose_metrics_wear_follows_the_sensors_sampling_interval(
    app: FastAPI,
    client: httpx.AsyncClient,
    org: OrgWorld,
    sampling_minutes: int | str,
    wear: float,
    sufficient: bool,
) -> None:
    patient = await make_reading_patient(app, org, timezone="UTC")
    source: dict[str, Any] = {"kind": "manual"}
    if sampling_minutes != "no device":
        body: dict[str, Any] = {"kind": "cgm", "manufacturer": "Abbott", "model": "Libre 2"}
        if isinstance(sampling_minutes, int):
            body["sampling_minutes"] = sampling_minutes
        device = await client.post(
            f"/v1/patients/{patient.id}/devices", json=body, headers=org.clinician.headers
        )
        assert device.status_code == 201, device.text
        source = {"kind": "integration", "device_id": device.json()["id"]}
    start = datetime(2025, 1, 1, tzinfo=UTC)
    readings = [cgm(120, start + timedelta(minutes=15 * i), source=source) for i in range(14 * 96)]
    for chunk in range(0, len(readings), 1000):
        response = await post_batch(client, patient.user, "me", readings[chunk : chunk + 1000])
        assert statuses(response) == {"created": len(readings[chunk : chunk + 1000])}
    response = await client.get(
        url("me", "/glucose-metrics"),
        params={"from": "2025-01-01", "to": "2025-01-14"},
        headers=patient.user.headers,
    )
    assert response.status_code == 200, response.text
    metrics = response.json()
    assert (metrics["readings"], metrics["days_with_data"]) == (14 * 96, 14)
    assert (metrics["wear_percent"], metrics["sufficient"]) == (wear, sufficient)


async def test_glucose_metrics_without_data(
    client: httpx.AsyncClient, patient: PatientWorld
) -> None:
    response = await client.get(url("me", "/glucose-metrics"), headers=patient.user.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["readings"] == 0
    assert body["mean_mg_dl"] is None
    assert date.fromisoformat(body["to"]) - date.fromisoformat(body["from"]) == timedelta(days=13)


async def test_reads_are_audited(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    await client.get(url(patient.id), headers=org.clinician.headers)
    await client.get(
        url(patient.id, "/daily"), params={"type": "weight"}, headers=org.clinician.headers
    )
    log = await client.get(f"/v1/patients/{patient.id}/access-log", headers=patient.user.headers)
    seen = {(e["action"], e["resource_type"], e["actor_role"]) for e in log.json()["items"]}
    assert ("read", "reading", "clinician") in seen
    assert ("read", "reading_daily", "clinician") in seen
