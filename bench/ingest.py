"""Ingest benchmark: concurrent clients posting one CGM day (288 readings) per request.

Runs the real server (uvicorn, one worker unless `--workers`) on loopback against a freshly
migrated database.
Each client is one patient's CGM device posting consecutive days for a fixed time; every
request must answer 200 with all 288 created. On PostgreSQL the same kind of rows are then
written with asyncpg `copy_records_to_table` (288 rows per COPY, same number of connections,
same table and indexes) to give the raw rate the HTTP path is compared with.

    python -m bench.ingest --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test_bench
    python -m bench.ingest --database-url sqlite+aiosqlite:////tmp/bench/ingest.db
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import statistics
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

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

DAY_READINGS = 288
FIRST_DAY = datetime(2023, 1, 1, 5, 0, tzinfo=UTC)  # midnight in New York (EST)


def day_body(day: int, rng: random.Random) -> bytes:
    start = FIRST_DAY + timedelta(days=day)
    return json.dumps(
        {
            "readings": [
                {
                    "type": "glucose",
                    # In range (>= 70) so the run measures storage, not alert opening.
                    "value": round(rng.uniform(70, 260), 1),
                    "unit": "mg/dL",
                    "specimen": "interstitial",
                    "effective_at": (start + timedelta(minutes=5 * i)).isoformat(),
                }
                for i in range(DAY_READINGS)
            ]
        }
    ).encode()


@dataclass
class ClientRun:
    latencies: list[float] = field(default_factory=list)
    readings: int = 0


async def _client(
    base: str, patient: BenchPatient, deadline: float, bodies: list[bytes]
) -> ClientRun:
    run = ClientRun()
    headers = {
        "Authorization": f"Bearer {patient.device_token}",
        "Content-Type": "application/json",
    }
    url = f"{base}/v1/patients/me/readings/batch"
    async with httpx.AsyncClient(timeout=30) as http:
        for body in bodies:
            if now() >= deadline:
                break
            started = now()
            response = await http.post(url, content=body, headers=headers)
            elapsed = now() - started
            if response.status_code != 200:
                raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
            results = response.json()["results"]
            if any(r["status"] != "created" for r in results):
                raise RuntimeError("a fresh day was not stored in full")
            run.latencies.append(elapsed)
            run.readings += len(results)
    return run


async def http_run(
    base: str, patients: list[BenchPatient], clients: int, duration: float, batches: int
) -> dict[str, float]:
    """Clients post prepared days (bodies built before the clock starts, as the COPY records
    are); a run stops early when a client has used all its prepared days."""
    prepared = [
        [day_body(day, random.Random(1000 * i + day)) for day in range(batches + 1)]
        for i in range(clients)
    ]
    # Warm-up: one request per client (connections, caches), not measured.
    await asyncio.gather(
        *(_client(base, patients[i], now() + 60, prepared[i][:1]) for i in range(clients))
    )
    started = now()
    deadline = started + duration
    runs = await asyncio.gather(
        *(_client(base, patients[i], deadline, prepared[i][1:]) for i in range(clients))
    )
    wall = now() - started
    latencies = [x for r in runs for x in r.latencies]
    total = sum(r.readings for r in runs)
    return {
        "clients": clients,
        "requests": len(latencies),
        "readings": total,
        "seconds": wall,
        "readings_per_s": total / wall,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }


COPY_COLUMNS = (
    "id",
    "patient_id",
    "seq",
    "type",
    "code",
    "effective_at",
    "utc_offset_minutes",
    "timezone",
    "local_date",
    "end_at",
    "values",
    "source_kind",
    "device_id",
    "eligible",
    "client_id",
    "identity_hash",
    "received_at",
    "deleted_at",
)


def copy_batch(patient: uuid.UUID, day: int, rng: random.Random) -> list[tuple[Any, ...]]:
    start = FIRST_DAY + timedelta(days=day)
    received = datetime.now(UTC)
    rows = []
    for i in range(DAY_READINGS):
        at = start + timedelta(minutes=5 * i)
        values = {"value": round(rng.uniform(70, 260), 1), "unit": "mg/dL"}
        values["specimen"] = "interstitial"
        rows.append(
            (
                uuid.uuid4(),
                patient,
                day * DAY_READINGS + i + 1,
                "glucose",
                "99504-3",
                at,
                -300,
                "America/New_York",
                (at - timedelta(hours=5)).date(),
                None,
                json.dumps(values),
                "device",
                None,
                True,
                None,
                secrets.token_hex(16),
                received,
                None,
            )
        )
    return rows


async def copy_run(
    database_url: str,
    patients: list[BenchPatient],
    connections: int,
    duration: float,
    batches_per_connection: int,
) -> dict[str, float]:
    """Raw rate: 288-row COPYs (autocommit), `connections` in parallel, for `duration` s.

    Records are built before the clock starts so only the database work is timed; a run stops
    early when a connection has used all its prepared batches.
    """
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    rng = random.Random(7)
    prepared = [
        [copy_batch(patients[i].id, day, rng) for day in range(batches_per_connection + 1)]
        for i in range(connections)
    ]
    pool = [await asyncpg.connect(dsn) for _ in range(connections)]
    try:
        for connection, batches in zip(pool, prepared, strict=True):  # warm-up, not timed
            await connection.copy_records_to_table(
                "readings", records=batches.pop(), columns=COPY_COLUMNS
            )

        async def worker(
            connection: asyncpg.Connection, batches: list[Any], deadline: float
        ) -> int:
            rows = 0
            for batch in batches:
                if now() >= deadline:
                    break
                await connection.copy_records_to_table(
                    "readings", records=batch, columns=COPY_COLUMNS
                )
                rows += len(batch)
            return rows

        started = now()
        counts = await asyncio.gather(
            *(worker(c, b, started + duration) for c, b in zip(pool, prepared, strict=True))
        )
        wall = now() - started
    finally:
        for connection in pool:
            await connection.close()
    return {"connections": connections, "rows": sum(counts), "rows_per_s": sum(counts) / wall}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_PG)
    parser.add_argument("--clients", default="1,2,4,8", help="comma-separated client counts")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs per client count, each an HTTP run then its COPY run (the machine's speed"
        " drifts; alternating keeps each ratio's two rates close in time)",
    )
    parser.add_argument(
        "--batches",
        type=int,
        default=600,
        help="prepared 288-reading batches per client (and per COPY connection)",
    )
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    print(f"machine: {machine()}")
    print(f"database: {make_url(args.database_url).get_backend_name()}, workers: {args.workers}")
    rows: list[dict[str, float]] = []
    for clients in [c for c in counts for _ in range(args.repeat)]:
        await reset_database(args.database_url)
        _org, patients = await make_patients(args.database_url, clients * 2)
        async with server(args.database_url, args.workers) as base:
            result = await http_run(base, patients, clients, args.duration, args.batches)
        if is_postgres(args.database_url):
            raw = await copy_run(
                args.database_url,
                patients[clients:],
                clients,
                args.duration,
                args.batches,
            )
            result["copy_rows_per_s"] = raw["rows_per_s"]
            result["ratio_percent"] = 100 * result["readings_per_s"] / raw["rows_per_s"]
        rows.append(result)
        print(json.dumps({k: round(v, 1) for k, v in result.items()}), flush=True)
    print()
    header = "| clients | requests | readings/s | p50 ms | p99 ms | COPY rows/s | ratio |"
    print(header)
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        copy = f"{r['copy_rows_per_s']:.0f}" if "copy_rows_per_s" in r else "n/a"
        ratio = f"{r['ratio_percent']:.1f} %" if "ratio_percent" in r else "n/a"
        print(
            f"| {r['clients']:.0f} | {r['requests']:.0f} | {r['readings_per_s']:.0f} |"
            f" {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {copy} | {ratio} |"
        )
    for clients in counts:
        ratios = sorted(
            r["ratio_percent"] for r in rows if r["clients"] == clients and "ratio_percent" in r
        )
        if len(ratios) > 1:
            print(
                f"\n{clients} client(s), {len(ratios)} runs: ratio median"
                f" {statistics.median(ratios):.1f} %, lowest {ratios[0]:.1f} %"
            )


if __name__ == "__main__":
    asyncio.run(main())
