"""Synthetic but realistic readings for `python -m app demo`, written through the real service.

Deterministic per patient (seeded), ending now, in the patient's time zone: the height measured
at intake (so weights carry a BMI), twice-daily cuff blood pressure, a daily scale weight, daily
steps, two weeks of 5-minute CGM for the patient with diabetes (including one overnight low, so
alerts have something to show), and the labs a cardiometabolic baseline report needs: HbA1c and
LDL, and eGFR and UACR with diabetes (docs/rules.md "Outcome measures").
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.clock import utcnow
from app.devices import service as devices_service
from app.devices.schemas import DeviceCreate
from app.patients.models import Patient
from app.readings import ingest as ingest_service
from app.readings.schemas import MAX_BATCH, validate_reading

DAYS = 28
CGM_DAYS = 14


async def _device(
    session: AsyncSession, staff: Principal, patient: Patient, kind: str, model: str
) -> Principal:
    created, _ = await devices_service.register(
        session,
        principal=staff,
        patient=patient,
        body=DeviceCreate(kind=kind, manufacturer="Demo Medical", model=model, validated=True),
    )
    return Principal(
        id=created.id,
        role="device",
        organization_id=patient.organization_id,
        patient_id=patient.id,
    )


async def _store(
    session: AsyncSession, principal: Principal, patient: Patient, bodies: list[dict[str, Any]]
) -> int:
    stored = 0
    for start in range(0, len(bodies), MAX_BATCH):
        results = await ingest_service.ingest(
            session,
            principal=principal,
            patient=patient,
            readings=[validate_reading(b) for b in bodies[start : start + MAX_BATCH]],
        )
        invalid = [r for r in results if r.status == "invalid"]
        assert not invalid, invalid[0]
        stored += sum(r.status == "created" for r in results)
    return stored


def _local(day: datetime, hour: int, minute: int, rng: random.Random) -> str:
    jitter = rng.randint(-20, 20)
    return (day.replace(hour=hour, minute=minute) + timedelta(minutes=jitter)).isoformat()


async def add_demo_readings(
    session: AsyncSession, *, staff: Principal, patient: Patient, conditions: list[str]
) -> int:
    """Give a demo patient a few weeks of readings; returns how many were stored."""
    rng = random.Random(f"{patient.given_name}{patient.family_name}")  # noqa: S311  (demo data)
    zone = ZoneInfo(patient.timezone)
    now = utcnow().astimezone(zone)
    days = [
        (now - timedelta(days=d)).replace(hour=0, minute=0, second=0, microsecond=0)
        for d in range(DAYS, 0, -1)
    ]
    stored = 0
    if patient.height_cm is not None:
        intake = {
            "type": "height",
            "value": patient.height_cm,
            "unit": "cm",
            "effective_at": days[0].replace(hour=9).isoformat(),
            "source": {"kind": "manual"},
        }
        stored += await _store(session, staff, patient, [intake])
    hypertensive = "hypertension" in conditions
    cardiometabolic = hypertensive or "diabetes" in conditions
    if cardiometabolic:
        cuff = await _device(session, staff, patient, "bp_cuff", "Cuff 7")
        readings = []
        for i, day in enumerate(days):
            # A slow improvement over the weeks, as treatment starts to work.
            base = (148 if hypertensive else 132) - i * 0.4
            for hour in (7, 20):
                systolic = round(base + rng.gauss(0, 6))
                readings.append(
                    {
                        "type": "blood_pressure",
                        "systolic": systolic,
                        "diastolic": round(systolic * 0.62 + rng.gauss(0, 4)),
                        "pulse": round(rng.gauss(72, 6)),
                        "effective_at": _local(day, hour, 30, rng),
                    }
                )
        if hypertensive:
            readings[-5] = {**readings[-5], "systolic": 182, "diastolic": 104}  # one crisis
        stored += await _store(session, cuff, patient, readings)

    scale = await _device(session, staff, patient, "scale", "Scale 2")
    weight = rng.uniform(78, 104)
    stored += await _store(
        session,
        scale,
        patient,
        [
            {
                "type": "weight",
                "value": round(weight - i * 0.05 + rng.gauss(0, 0.3), 1),
                "unit": "kg",
                "effective_at": _local(day, 7, 0, rng),
            }
            for i, day in enumerate(days)
        ],
    )

    band = await _device(session, staff, patient, "wearable", "Band 3")
    stored += await _store(
        session,
        band,
        patient,
        [
            {
                "type": "steps",
                "count": max(0, round(rng.gauss(5200, 1800))),
                "effective_at": day.isoformat(),
                # Wall-clock arithmetic: the next local midnight, even across a DST change.
                "end_at": (day + timedelta(days=1)).isoformat(),
            }
            for day in days
        ],
    )

    if "diabetes" in conditions:
        sensor = await _device(session, staff, patient, "cgm", "Sensor G")
        start = now.replace(minute=0, second=0, microsecond=0) - timedelta(days=CGM_DAYS)
        readings = []  # reused: BP readings were stored above
        for i in range(CGM_DAYS * 288):
            at = start + timedelta(minutes=5 * i)
            clock = at.hour + at.minute / 60
            # Fasting around 120, a peak after each meal, noise; one overnight low on day 9.
            meals: float = sum(
                70 * math.exp(-(((clock - meal - 1) / 0.9) ** 2)) for meal in (7.5, 12.5, 18.5)
            )
            value: float = 118 + meals + rng.gauss(0, 8)
            if i // 288 == 9 and 2.5 <= clock < 3.0:
                value = 62 - 4 * math.sin((clock - 2.5) * math.pi * 2)
            readings.append(
                {
                    "type": "glucose",
                    "value": round(min(max(value, 40), 400), 1),
                    "unit": "mg/dL",
                    "effective_at": at.isoformat(),
                }
            )
        stored += await _store(session, sensor, patient, readings)

    if cardiometabolic:
        labs: list[dict[str, Any]] = (
            [
                {"type": "hba1c", "value": 7.6, "unit": "%"},
                {"type": "ldl", "value": 3.1, "unit": "mmol/L"},
                {"type": "egfr", "value": 58},
                {"type": "uacr", "value": 42},
            ]
            if "diabetes" in conditions
            else [
                {"type": "hba1c", "value": 5.6, "unit": "%"},
                {"type": "ldl", "value": 131, "unit": "mg/dL"},
            ]
        )
        stored += await _store(
            session,
            staff,
            patient,
            [
                {
                    **body,
                    "effective_at": days[2].replace(hour=9).isoformat(),
                    "source": {"kind": "lab"},
                }
                for body in labs
            ],
        )
    return stored
