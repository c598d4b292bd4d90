"""Shared benchmark plumbing: a fresh database, a real uvicorn server, patients and tokens.

Everything runs on loopback. Databases are rebuilt from the migrations, so never point these
scripts at a database you care about.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.auth.models import User
from app.auth.tokens import encode_access
from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.devices.models import Device
from app.main import create_app
from app.migrate import upgrade_head
from app.organizations.models import Organization
from app.patients.models import Patient

ROOT = Path(__file__).resolve().parent.parent
BENCH_SECRET = "bench-secret-" + "b" * 40
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test_bench"


def settings_for(database_url: str) -> Settings:
    return Settings.model_validate(
        {
            "DATABASE_URL": database_url,
            "ACCESS_RPM_ENV": "development",
            "ACCESS_RPM_JWT_SECRET": BENCH_SECRET,
        }
    )


def is_postgres(database_url: str) -> bool:
    return make_url(database_url).get_backend_name() == "postgresql"


async def reset_database(database_url: str) -> None:
    """Drop everything and migrate to head (creating a PostgreSQL database that is missing)."""
    if is_postgres(database_url):
        await _create_database(database_url)
        engine = create_engine(database_url)
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await engine.dispose()
    else:
        await asyncio.to_thread(_remove_sqlite, make_url(database_url).database)
    await asyncio.to_thread(upgrade_head, database_url)


async def _create_database(database_url: str) -> None:
    url = make_url(database_url)
    maintenance = url.set(database="postgres").render_as_string(hide_password=False)
    engine = create_engine(maintenance).execution_options(isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        exists = await connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
        )
        if not exists:
            await connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    await engine.dispose()


def _remove_sqlite(path: str | None) -> None:
    if not path or path == ":memory:":
        raise ValueError("the SQLite benchmark needs a file database")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(path + suffix).unlink(missing_ok=True)


@dataclass
class BenchPatient:
    id: uuid.UUID
    device_token: str
    user_token: str


async def make_patients(
    database_url: str, count: int, *, device_kind: str = "cgm", timezone: str = "America/New_York"
) -> tuple[uuid.UUID, list[BenchPatient]]:
    """An organization with `count` patients, each with a user and a device, and their tokens."""
    settings = settings_for(database_url)
    keys = create_app(settings).state.token_keys
    engine = create_engine(database_url)
    patients: list[BenchPatient] = []
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            organization = Organization(name="Bench")
            session.add(organization)
            await session.flush()
            for i in range(count):
                patient = Patient(
                    organization_id=organization.id,
                    given_name="Bench",
                    family_name=f"Patient {i}",
                    birth_date=date(1955, 1, 1),
                    sex="unknown",
                    timezone=timezone,
                )
                session.add(patient)
                await session.flush()
                device = Device(
                    patient_id=patient.id,
                    kind=device_kind,
                    manufacturer="Bench",
                    model="B1",
                    validated=True,
                    client_id=f"bench-{uuid.uuid4().hex}",
                    secret_hash="0" * 64,
                )
                user = User(organization_id=organization.id, role="patient", patient_id=patient.id)
                session.add_all([device, user])
                await session.flush()
                patients.append(
                    BenchPatient(
                        id=patient.id,
                        device_token=encode_access(
                            keys,
                            subject=device.id,
                            role="device",
                            organization_id=organization.id,
                            patient_id=patient.id,
                        ),
                        user_token=encode_access(
                            keys,
                            subject=user.id,
                            role="patient",
                            organization_id=organization.id,
                            patient_id=patient.id,
                        ),
                    )
                )
            organization_id = organization.id
    finally:
        await engine.dispose()
    return organization_id, patients


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_env(database_url: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment the benchmark server (and any `python -m app` command) runs with."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "ACCESS_RPM_ENV": "development",
        "ACCESS_RPM_JWT_SECRET": BENCH_SECRET,
        **(extra or {}),
    }


@dataclass(frozen=True)
class Served:
    """A running benchmark server: where it listens and its process id (for its memory)."""

    base: str
    pid: int


@asynccontextmanager
async def serve(
    database_url: str, workers: int = 1, *, env: Mapping[str, str] | None = None
) -> AsyncIterator[Served]:
    """A real uvicorn process (no access log) serving the app on loopback; `env` is added to
    its environment (e.g. settings)."""
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        *[
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--workers",
            str(workers),
        ],
        cwd=ROOT,
        env=server_env(database_url, env),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as probe:
            for _ in range(200):
                try:
                    if (await probe.get(f"{base}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
            else:
                raise RuntimeError("the server did not start")
        yield Served(base, process.pid)
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=10)


@asynccontextmanager
async def server(database_url: str, workers: int = 1) -> AsyncIterator[str]:
    """A real uvicorn process (no access log) serving the app on loopback."""
    async with serve(database_url, workers) as served:
        yield served.base


def rss_mib(pid: int) -> float | None:
    """Resident memory of a process and its descendants, in MiB (Linux /proc); None once gone."""
    total_kib = 0
    pending, seen = [pid], False
    while pending:
        current = pending.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
                    seen = True
                    break
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (OSError, ValueError):
            continue
        pending.extend(int(c) for c in children)
    return total_kib / 1024 if seen else None


class RssSampler:
    """Samples a process tree's resident memory every `interval` seconds while in use; `peak`
    is the highest sample since the last `section()`, `highest` over the whole run."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self.first: float | None = None
        self.peak = 0.0
        self.highest = 0.0
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> None:
        value = rss_mib(self.pid)
        if value is None:
            return
        if self.first is None:
            self.first = value
        self.peak = max(self.peak, value)
        self.highest = max(self.highest, value)

    def section(self) -> None:
        """Start a new section: `peak` counts from the current sample."""
        self.peak = 0.0
        self.sample()

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.interval)

    async def __aenter__(self) -> RssSampler:
        self.sample()
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def staff_token(
    database_url: str, *, user_id: uuid.UUID, organization_id: uuid.UUID, role: str = "clinician"
) -> str:
    """An access token for a staff user already in the database (valid for the app's TTL)."""
    keys = create_app(settings_for(database_url)).state.token_keys
    return encode_access(
        keys, subject=user_id, role=role, organization_id=organization_id, patient_id=None
    )


def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100)."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, {platform.system()}"
    )


def now() -> float:
    return time.perf_counter()
