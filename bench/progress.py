"""Outcome benchmark: a patient's progress and reporting calendar, a report, and an
organization's attainment, reporting worklist and panel for 1,000 patients.

Every patient is in CKM (diabetes, hypertension, obesity: blood pressure, weight, HbA1c, LDL and
eGFR/UACR apply) with a care period that started 300 days ago, a validated cuff reading every
day, a weekly weight and lab results. The first patient also has a year of 5-minute CGM
(105,120 readings), which progress must not be slowed by. Rows are loaded by COPY; the
requests go to a real uvicorn server on loopback, one at a time.

    python -m bench.progress --patients 1000 --requests 200
"""

from __future__ import annotations

import argparse
import asyncio
import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
from sqlalchemy.engine import make_url

from app.auth.models import User
from app.auth.tokens import encode_access
from app.db import create_engine, create_sessionmaker
from app.main import create_app
from bench.common import (
    DEFAULT_PG,
    BenchPatient,
    machine,
    make_patients,
    now,
    percentile,
    reset_database,
    server,
    settings_for,
)
from bench.ingest import COPY_COLUMNS

ZONE = "America/New_York"
TODAY = datetime.now(UTC).date() - timedelta(days=1)
START = TODAY - timedelta(days=300)
CONDITIONS = '["diabetes", "hypertension", "obesity"]'


def _row(
    patient: uuid.UUID, seq: int, kind: str, code: str, day: date, hour: int, values: str
) -> tuple[Any, ...]:
    at = datetime.combine(day, time(hour), tzinfo=UTC)
    return (
        uuid.uuid4(), patient, seq, kind, code, at, 0, ZONE, day, None, values,
        "device", None, True, None, uuid.uuid4().hex, at, None,
    )  # fmt: skip


def patient_rows(patient: uuid.UUID, rng: random.Random, *, cgm: bool) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    start_bp = rng.randint(135, 165)
    for offset in range(301):
        day = START + timedelta(days=offset)
        systolic = round(start_bp - offset * rng.uniform(0.0, 0.08) + rng.gauss(0, 4))
        values = f'{{"systolic": {systolic}, "diastolic": {systolic - 55}}}'
        rows.append(_row(patient, len(rows) + 1, "blood_pressure", "85354-9", day, 12, values))
        if offset % 7 == 0:
            kg = round(104 - offset * rng.uniform(0.0, 0.03), 2)
            rows.append(
                _row(patient, len(rows) + 1, "weight", "29463-7", day, 11, f'{{"value": {kg}}}')
            )
    for offset, hba1c, ldl in ((-20, 8.4, 130.0), (200, rng.uniform(6.5, 8.2), 95.0)):
        day = START + timedelta(days=offset)
        rows.append(
            _row(patient, len(rows) + 1, "hba1c", "4548-4", day, 9, f'{{"value": {hba1c:.1f}}}')
        )
        rows.append(_row(patient, len(rows) + 1, "ldl", "18262-6", day, 9, f'{{"value": {ldl}}}'))
    for kind, code, value in (("egfr", "98979-8", 58.0), ("uacr", "14959-1", 40.0)):
        rows.append(_row(patient, len(rows) + 1, kind, code, START, 9, f'{{"value": {value}}}'))
    if cgm:
        first = datetime.combine(TODAY - timedelta(days=364), time(0), tzinfo=UTC)
        for i in range(365 * 288):
            at = first + timedelta(minutes=5 * i)
            value = round(rng.uniform(60, 250), 1)
            rows.append(
                (
                    uuid.uuid4(), patient, len(rows) + 1, "glucose", "99504-3", at, 0, ZONE,
                    at.date(), None, f'{{"value": {value}}}', "device", None, True, None,
                    uuid.uuid4().hex, at, None,
                )
            )  # fmt: skip
    return rows


async def load(database_url: str, patients: list[BenchPatient]) -> None:
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.executemany(
            "INSERT INTO enrollments (id, patient_id, track, conditions, period, start_date, "
            "end_date, details, created_at) VALUES ($1, $2, 'CKM', $3::jsonb, 'initial', "
            "$4, $5, '{}'::jsonb, now())",
            [
                (uuid.uuid4(), p.id, CONDITIONS, START, START + timedelta(days=364))
                for p in patients
            ],
        )
        await connection.execute("UPDATE patients SET height_cm = 172, rural = (random() < 0.3)")
        for n, patient in enumerate(patients):
            rows = patient_rows(patient.id, random.Random(n), cgm=n == 0)
            await connection.copy_records_to_table("readings", records=rows, columns=COPY_COLUMNS)
        # VACUUM too: otherwise autovacuum works through the bulk load during the measurements.
        await connection.execute("VACUUM ANALYZE")
        # Flush the bulk load now, so a checkpoint does not land inside the measurements.
        await connection.execute("CHECKPOINT")
    finally:
        await connection.close()


async def clinician_token(database_url: str, organization_id: uuid.UUID) -> str:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            user = User(organization_id=organization_id, role="clinician", email="bench@x.example")
            session.add(user)
            await session.flush()
            user_id = user.id
    finally:
        await engine.dispose()
    keys = create_app(settings_for(database_url)).state.token_keys
    return encode_access(
        keys, subject=user_id, role="clinician", organization_id=organization_id, patient_id=None
    )


async def timed(client: httpx.AsyncClient, url: str, params: dict[str, str], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = now()
        response = await client.get(url, params=params)
        samples.append((now() - started) * 1000)
        assert response.status_code == 200, response.text
    return samples


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=DEFAULT_PG)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    await reset_database(args.database_url)
    started = now()
    organization_id, patients = await make_patients(
        args.database_url, args.patients, device_kind="bp_cuff", timezone=ZONE
    )
    await load(args.database_url, patients)
    token = await clinician_token(args.database_url, organization_id)
    print(f"loaded {args.patients} patients in {now() - started:.0f} s on {machine()}")

    async with server(args.database_url) as base:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
            url = f"/v1/patients/{patients[0].id}/progress"
            check = (await client.get(url)).json()
            statuses = {m["measure"]: m["status"] for m in check["items"][0]["measures"]}
            print(f"progress of patient 0: {statuses}")
            await timed(client, url, {}, 20)
            progress = await timed(client, url, {}, args.requests)
            attainment_url = "/v1/organization/attainment"
            params = {"track": "CKM", "as_of": TODAY.isoformat()}
            started = now()
            summary = (await client.get(attainment_url, params=params)).json()
            cold = [(now() - started) * 1000]
            print(
                f"attainment: {summary['periods']} periods, projected rate "
                f"{summary['projected_rate']}, statuses {summary['statuses']}"
            )
            attainment = await timed(client, attainment_url, params, 10)
            panel = await timed(client, "/v1/patients", {"track": "CKM", "limit": "50"}, 5)
            reporting_url = f"/v1/patients/{patients[0].id}/reporting"
            await timed(client, reporting_url, {}, 20)
            reporting = await timed(client, reporting_url, {}, args.requests)
            enrollment_id = check["items"][0]["enrollment_id"]
            report_body = {"enrollment_id": enrollment_id, "type": "end_of_period"}
            started = now()
            made = await client.post(f"/v1/patients/{patients[0].id}/reports", json=report_body)
            prepare = [(now() - started) * 1000]
            assert made.status_code == 201, made.text
            print(f"end-of-period report of patient 0: complete {made.json()['complete']}")
            worklist = await timed(client, "/v1/organization/reporting", {"limit": "50"}, 5)

    def line(name: str, samples: list[float]) -> str:
        return (
            f"| {name} | {len(samples)} | {percentile(samples, 50):.1f} | "
            f"{percentile(samples, 99):.1f} | {max(samples):.1f} |"
        )

    print("| request | n | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|")
    print(line("progress, 1 patient (year of CGM + daily BP)", progress))
    print(line(f"organization attainment, {args.patients} patients, first call", cold))
    print(line(f"organization attainment, {args.patients} patients", attainment))
    print(line(f"panel by need (first 50 of {args.patients})", panel))
    print(line("reporting calendar, 1 patient", reporting))
    print(line("prepare an end-of-period report, 1 patient", prepare))
    print(line(f"reporting worklist (first 50 of {args.patients})", worklist))


if __name__ == "__main__":
    asyncio.run(main())
