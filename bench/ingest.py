"""Ingest benchmark: concurrent clients posting one CGM day (288 readings) per request.

Runs the real server (uvicorn, one worker unless `--workers`) on loopback against a freshly
migrated database. Each client is one patient's CGM device posting consecutive days; every
request must answer 200 with all 288 created. On PostgreSQL the same kind of rows are also
written with asyncpg `copy_records_to_table` (288 rows per COPY, as many connections as
clients, same table and indexes) to give the raw rate the HTTP path is compared with.

The two sides take turns in short slices (`--slices`), each for half of every round, so both
meet the same drift in the machine's speed (on a shared virtual machine it moves by a third
within minutes) and the same growing table. Request bodies and COPY records are built before
any clock starts.

    python -m bench.ingest --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test_bench
    python -m bench.ingest --database-url sqlite+aiosqlite:////tmp/bench/ingest.db
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import secrets
import statistics
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

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
T = TypeVar("T")
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
class Side:
    """One side's totals over all its slices."""

    seconds: float = 0.0
    rows: int = 0
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


class Worker(Generic[T]):
    """Works through prepared items (day after day), one at a time, until a deadline.

    Items are made by `top_up` between slices, never while a clock runs.
    """

    def __init__(self, make: Callable[[int], T]) -> None:
        self.make = make
        self.made = 0
        self.ready: deque[T] = deque()
        self.ran_out = False

    def top_up(self, count: int) -> None:
        while len(self.ready) < count:
            self.ready.append(self.make(self.made))
            self.made += 1

    async def step(self, item: T, side: Side) -> None:
        raise NotImplementedError

    async def run_until(self, deadline: float, side: Side, limit: int | None = None) -> None:
        done = 0
        while now() < deadline and (limit is None or done < limit):
            if not self.ready:
                self.ran_out = True  # the slice ends early; its time still counts
                return
            await self.step(self.ready.popleft(), side)
            done += 1


class Poster(Worker[bytes]):
    """One client: a patient's device posting its prepared days over one keep-alive connection."""

    def __init__(self, base: str, patient: BenchPatient, seed: int) -> None:
        super().__init__(lambda day: day_body(day, random.Random(seed + day)))
        self.url = f"{base}/v1/patients/me/readings/batch"
        self.headers = {
            "Authorization": f"Bearer {patient.device_token}",
            "Content-Type": "application/json",
        }
        self.http = httpx.AsyncClient(timeout=30)

    async def step(self, item: bytes, side: Side) -> None:
        started = now()
        response = await self.http.post(self.url, content=item, headers=self.headers)
        elapsed = now() - started
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
        results = response.json()["results"]
        if any(r["status"] != "created" for r in results):
            raise RuntimeError("a fresh day was not stored in full")
        side.latencies.append(elapsed)
        side.rows += len(results)


class Copier(Worker[list[tuple[Any, ...]]]):
    """One raw connection writing its prepared 288-row batches with COPY (autocommit)."""

    def __init__(self, connection: asyncpg.Connection, patient: uuid.UUID, seed: int) -> None:
        super().__init__(lambda day: copy_batch(patient, day, random.Random(seed + day)))
        self.connection = connection

    async def step(self, item: list[tuple[Any, ...]], side: Side) -> None:
        await self.connection.copy_records_to_table("readings", records=item, columns=COPY_COLUMNS)
        side.rows += len(item)


async def _slice(workers: Sequence[Worker[Any]], seconds: float, side: Side, prepared: int) -> None:
    """All workers of one side for `seconds` (less if their prepared data runs out)."""
    for worker in workers:
        worker.top_up(prepared)
    gc.collect()  # the garbage of making them, not of the slice
    started = now()
    await asyncio.gather(*(w.run_until(started + seconds, side) for w in workers))
    side.seconds += now() - started


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
    """One CGM day as the server would store it, with random identity hashes."""
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


async def measure(args: argparse.Namespace, clients: int) -> dict[str, float]:
    await reset_database(args.database_url)
    _org, patients = await make_patients(args.database_url, clients * 2)
    copiers: list[Copier] = []
    if is_postgres(args.database_url):
        dsn = make_url(args.database_url).set(drivername="postgresql").render_as_string(False)
        for i, patient in enumerate(patients[clients:]):
            copiers.append(Copier(await asyncpg.connect(dsn), patient.id, 7_000_000 + 1000 * i))
    async with server(args.database_url, args.workers) as base:
        posters = [Poster(base, patients[i], 1000 * i) for i in range(clients)]
        try:
            warm_up = Side()  # one request and one COPY each (connections, caches), not counted
            workers: list[Worker[Any]] = [*posters, *copiers]
            for worker in workers:
                worker.top_up(1)
                await worker.run_until(now() + 60, warm_up, limit=1)
            http, raw = Side(), Side()
            seconds = args.duration / args.slices
            for _ in range(args.slices):
                await _slice(posters, seconds, http, args.batches)
                if copiers:
                    await _slice(copiers, seconds, raw, args.batches)
            if any(worker.ran_out for worker in workers):
                print("note: prepared batches ran out within a slice; raise --batches")
        finally:
            for poster in posters:
                await poster.http.aclose()
            for copier in copiers:
                await copier.connection.close()
    result = {
        "clients": clients,
        "requests": len(http.latencies),
        "readings": http.rows,
        "seconds": http.seconds,
        "readings_per_s": http.rate,
        "p50_ms": percentile(http.latencies, 50) * 1000,
        "p99_ms": percentile(http.latencies, 99) * 1000,
    }
    if copiers:
        result["copy_rows_per_s"] = raw.rate
        result["ratio_percent"] = 100 * http.rate / raw.rate
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_PG)
    parser.add_argument("--clients", default="1,2,4,8", help="comma-separated client counts")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per side and run")
    parser.add_argument("--slices", type=int, default=5, help="turns per side within a run")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--repeat", type=int, default=1, help="runs per client count")
    parser.add_argument(
        "--batches",
        type=int,
        default=450,
        help="288-reading batches prepared per client and per COPY connection before each slice",
    )
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    print(f"machine: {machine()}")
    print(f"database: {make_url(args.database_url).get_backend_name()}, workers: {args.workers}")
    rows: list[dict[str, float]] = []
    for clients in [c for c in counts for _ in range(args.repeat)]:
        result = await measure(args, clients)
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
