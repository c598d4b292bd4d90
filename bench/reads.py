"""Read benchmark: 50+ patients with a year of 5-minute CGM each (105,120 readings apiece).

Loads the rows straight into the migrated schema (COPY on PostgreSQL, executemany on SQLite),
with the daily rollups and feed counters the write path would have produced, then measures,
through the real server (uvicorn, one worker, loopback), one client at a time:
- the 365-day daily endpoint (`/readings/daily?type=glucose`), and
- the 14-day raw list (`/readings?type=glucose&from=..&to=..&limit=1000`, first page, and
  the full walk of 4,032 readings over 5 pages).

    python -m bench.reads --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test_bench
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg  # type: ignore[import-untyped]
import httpx
from sqlalchemy.engine import make_url

from bench.common import (
    DEFAULT_PG,
    BenchPatient,
    is_postgres,
    machine,
    make_patients,
    now,
    percentile,
    reset_database,
    server,
)
from bench.ingest import COPY_COLUMNS

DAYS = 365
PER_DAY = 288
# Patients live in New York; the data ends two days ago (so never in the future).
ZONE = "America/New_York"
END_DAY = (datetime.now(UTC) - timedelta(days=2)).date()
FIRST_DAY = END_DAY - timedelta(days=DAYS - 1)


def _instants() -> list[tuple[datetime, datetime]]:
    """(UTC, local) times of one patient's readings: every 5 minutes for 365 x 24 hours."""
    zone = ZoneInfo(ZONE)
    start = datetime(FIRST_DAY.year, FIRST_DAY.month, FIRST_DAY.day, tzinfo=zone).astimezone(UTC)
    instants = [start + timedelta(minutes=5 * i) for i in range(DAYS * PER_DAY)]
    return [(at, at.astimezone(zone)) for at in instants]


def expected(first: date, last: date) -> tuple[int, int]:
    """How many local days with data, and readings, fall in first..last (DST-aware)."""
    dates = [local.date() for _at, local in _instants() if first <= local.date() <= last]
    return len(set(dates)), len(dates)


def patient_rows(
    patient: uuid.UUID, rng: random.Random
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """One patient's year of readings and their daily rollups."""
    received = datetime.now(UTC)
    readings: list[tuple[Any, ...]] = []
    days: dict[date, list[float]] = {}
    for i, (at, local) in enumerate(_instants()):
        value = round(rng.uniform(55, 280), 1)
        day = days.setdefault(local.date(), [0, 0.0, value, value])
        day[0] += 1
        day[1] += value
        day[2] = min(day[2], value)
        day[3] = max(day[3], value)
        readings.append(
            (
                uuid.uuid4(),
                patient,
                i + 1,
                "glucose",
                "99504-3",
                at,
                int(local.utcoffset().total_seconds() // 60),  # type: ignore[union-attr]
                ZONE,
                local.date(),
                None,
                f'{{"value": {value}, "unit": "mg/dL", "specimen": "interstitial"}}',
                "device",
                None,
                True,
                None,
                uuid.uuid4().hex,
                received,
                None,
            )
        )
    rollups = [
        (patient, "glucose", "value", d, int(c), s, lo, hi) for d, (c, s, lo, hi) in days.items()
    ]
    return readings, rollups


DAY_COLUMNS = ("patient_id", "type", "component", "local_date", "count", "sum", "min", "max")


async def load_postgres(database_url: str, patients: Sequence[BenchPatient]) -> None:
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    connection = await asyncpg.connect(dsn)
    try:
        for n, patient in enumerate(patients):
            readings, rollups = patient_rows(patient.id, random.Random(n))
            await connection.copy_records_to_table(
                "readings", records=readings, columns=COPY_COLUMNS
            )
            await connection.copy_records_to_table(
                "reading_days", records=rollups, columns=DAY_COLUMNS
            )
            await connection.execute(
                "INSERT INTO reading_feeds (patient_id, last_seq) VALUES ($1, $2)",
                patient.id,
                len(readings),
            )
        # VACUUM too: otherwise autovacuum works through the bulk load during the measurements.
        await connection.execute("VACUUM ANALYZE")
        # Flush the bulk load now, so a checkpoint does not land inside the measurements.
        await connection.execute("CHECKPOINT")
    finally:
        await connection.close()


def _sqlite_value(value: Any) -> Any:
    # The representations SQLAlchemy's SQLite dialect stores (Uuid as 32 hex characters,
    # timestamps as naive UTC text, booleans as integers).
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def load_sqlite(path: str, patients: Sequence[BenchPatient]) -> None:
    connection = sqlite3.connect(path)
    try:
        marks = ", ".join("?" * len(COPY_COLUMNS))
        columns = ", ".join(f'"{c}"' for c in COPY_COLUMNS)
        for n, patient in enumerate(patients):
            readings, rollups = patient_rows(patient.id, random.Random(n))
            with connection:
                connection.executemany(
                    f"INSERT INTO readings ({columns}) VALUES ({marks})",  # noqa: S608
                    ([_sqlite_value(v) for v in row] for row in readings),
                )
                connection.executemany(
                    "INSERT INTO reading_days VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    ([_sqlite_value(v) for v in row] for row in rollups),
                )
                connection.execute(
                    "INSERT INTO reading_feeds (patient_id, last_seq) VALUES (?, ?)",
                    (patient.id.hex, len(readings)),
                )
        connection.execute("ANALYZE")
    finally:
        connection.close()


async def measure(
    http: httpx.AsyncClient,
    patients: Sequence[BenchPatient],
    path: str,
    params: dict[str, Any],
    requests: int,
    *,
    expect: int,
    walk: bool = False,
) -> list[float]:
    rng = random.Random(path)
    latencies: list[float] = []
    for _ in range(requests):
        patient = rng.choice(patients)
        headers = {"Authorization": f"Bearer {patient.user_token}"}
        query = dict(params)
        elapsed = 0.0
        seen = 0
        while True:
            # Only the request is timed: decoding the body is the client's work.
            started = now()
            response = await http.get(
                f"/v1/patients/{patient.id}/readings{path}", params=query, headers=headers
            )
            elapsed += now() - started
            if response.status_code != 200:
                raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
            body = response.json()
            seen += len(body["items"])
            if not walk or not body.get("next_cursor"):
                break
            query["cursor"] = body["next_cursor"]
        latencies.append(elapsed)
        if seen != expect:
            raise RuntimeError(f"{path}: expected {expect} items, got {seen}")
    return latencies


def _row(name: str, latencies: list[float], budget: float | None) -> str:
    p50, p99 = percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000
    goal = f"<= {budget:.0f} ms: {'met' if p99 <= budget else 'MISSED'}" if budget else "-"
    return f"| {name} | {len(latencies)} | {p50:.1f} | {p99:.1f} | {goal} |"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_PG)
    parser.add_argument("--patients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=500, help="measured requests per query")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"database: {make_url(args.database_url).get_backend_name()}")
    await reset_database(args.database_url)
    _org, patients = await make_patients(args.database_url, args.patients)
    started = now()
    if is_postgres(args.database_url):
        await load_postgres(args.database_url, patients)
    else:
        path = make_url(args.database_url).database
        assert path is not None
        await asyncio.to_thread(load_sqlite, path, patients)
    total = args.patients * DAYS * PER_DAY
    print(f"loaded {total} readings in {now() - started:.0f} s", flush=True)

    daily = {"type": "glucose", "from": FIRST_DAY.isoformat(), "to": END_DAY.isoformat()}
    recent = {
        "type": "glucose",
        "from": (END_DAY - timedelta(days=13)).isoformat(),
        "to": END_DAY.isoformat(),
        "limit": 1000,
    }
    daily_items, _ = expected(FIRST_DAY, END_DAY)
    _, recent_readings = expected(END_DAY - timedelta(days=13), END_DAY)
    async with server(args.database_url) as base, httpx.AsyncClient(base_url=base) as http:
        await measure(http, patients, "/daily", daily, 30, expect=daily_items)  # warm-up
        await measure(http, patients, "", recent, 30, expect=1000)
        results = [
            (
                "365-day daily",
                await measure(http, patients, "/daily", daily, args.requests, expect=daily_items),
                10.0,
            ),
            (
                "14-day list, first page (1000)",
                await measure(http, patients, "", recent, args.requests, expect=1000),
                60.0,
            ),
            (
                f"14-day list, all {recent_readings} (5 pages)",
                await measure(
                    http,
                    patients,
                    "",
                    recent,
                    args.requests // 5,
                    expect=recent_readings,
                    walk=True,
                ),
                None,
            ),
        ]
    print()
    print("| query | requests | p50 ms | p99 ms | goal (p99) |")
    print("|---|---|---|---|---|")
    for name, latencies, budget in results:
        print(_row(name, latencies, budget))


if __name__ == "__main__":
    asyncio.run(main())
