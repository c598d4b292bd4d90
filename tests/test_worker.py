"""The worker: what the date alone changes is re-evaluated once, by whichever worker claims it.

Two workers run concurrently against one database (on PostgreSQL: row claims with
`FOR UPDATE SKIP LOCKED`; on SQLite: one writer at a time); every due patient is re-evaluated
exactly once, and a pass with nothing due does nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Collection
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import worker
from app.__main__ import main
from app.clock import local_today
from app.config import get_settings
from app.main import create_app
from app.outcomes import stored
from app.outcomes.models import PatientStanding, PeriodStanding
from app.outcomes.rules import Ruleset
from app.patients.models import Patient
from tests.conftest import make_settings
from tests.dates import start_day
from tests.factories import make_org, make_patient
from tests.outcomes.helpers import enrollment, on_day, worker_pass

TOKYO = ZoneInfo("Asia/Tokyo")


def _counting(monkeypatch: pytest.MonkeyPatch) -> Counter[uuid.UUID]:
    """Count each patient every `stored.refresh` re-evaluates, as the worker calls it."""
    seen: Counter[uuid.UUID] = Counter()
    original = stored.refresh

    async def refresh(
        session: AsyncSession, *, rules: Ruleset, patient_ids: Collection[uuid.UUID]
    ) -> None:
        seen.update(patient_ids)
        await asyncio.sleep(0)  # let the other worker run between claim and write
        await original(session, rules=rules, patient_ids=patient_ids)

    monkeypatch.setattr(stored, "refresh", refresh)
    return seen


async def test_two_workers_re_evaluate_each_due_patient_once(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = await make_org(app)
    with on_day(1):
        patients = [
            await make_patient(app, org, enroll=enrollment("eCKM", "hypertension"))
            for _ in range(12)
        ]
    seen = _counting(monkeypatch)
    with on_day(2):  # the next local midnight has passed: every one is due
        maker, rules = app.state.sessionmaker, app.state.rules
        counts = await asyncio.gather(
            worker.run_due(maker, rules=rules, batch=3),
            worker.run_due(maker, rules=rules, batch=3),
        )
        assert sum(counts) == len(patients)
        assert seen == Counter({p.id: 1 for p in patients})
        # Nothing is due until the next midnight.
        assert await worker.run_due(maker, rules=rules) == 0
    async with app.state.sessionmaker() as session:
        days = set(await session.scalars(select(PeriodStanding.evaluated_on)))
    assert len(days) == 1


async def test_a_period_past_its_views_is_never_due(app: FastAPI) -> None:
    org = await make_org(app)
    # Started 700 days ago: its end-of-period window closed and it left the views long ago.
    patient = await make_patient(
        app,
        org,
        enroll={"track": "BH", "conditions": ["depression"], "start_date": start_day(-700)},
    )
    async with app.state.sessionmaker() as session:
        row = await session.get(PatientStanding, patient.id)
        period = await session.scalar(
            select(PeriodStanding).where(PeriodStanding.patient_id == patient.id)
        )
    assert row is not None
    assert period is not None
    assert row.due_at is None
    assert (period.shown, period.attained, period.end_closed) == (False, False, True)
    assert row.tracks == ","  # nothing shown in the panel


async def test_an_active_period_is_due_at_the_patients_next_midnight(app: FastAPI) -> None:
    org = await make_org(app)
    patient = await make_patient(
        app, org, timezone="Asia/Tokyo", enroll=enrollment("eCKM", "hypertension")
    )
    async with app.state.sessionmaker() as session:
        row = await session.get(PatientStanding, patient.id)
    assert row is not None
    assert row.due_at is not None
    tomorrow = local_today("Asia/Tokyo") + timedelta(days=1)
    assert row.due_at.astimezone(TOKYO).date() == tomorrow
    assert (row.due_at.astimezone(TOKYO).hour, row.due_at.minute) == (0, 0)


async def test_a_patient_without_a_row_gets_one_and_a_new_ruleset_re_evaluates(
    app: FastAPI,
) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org, enroll=enrollment("eCKM", "hypertension"))
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(PatientStanding).values(rules_version="an-older-ruleset", due_at=None)
        )
    maker, rules = app.state.sessionmaker, app.state.rules
    assert await worker.mark_due(maker, rules=rules) == 1
    assert await worker.run_due(maker, rules=rules) == 1
    async with app.state.sessionmaker() as session:
        row = await session.get(PatientStanding, patient.id)
    assert row is not None
    assert row.rules_version == rules.version


async def test_the_in_process_worker_evaluates_at_start_and_stops_with_the_app(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(database_url, worker_in_process=True, worker_interval_seconds=3600)
    plain = create_app(make_settings(database_url))
    async with plain.router.lifespan_context(plain):
        org = await make_org(plain)
        async with plain.state.sessionmaker() as session, session.begin():
            # Written around the service (as a bulk load would): no stored row yet.
            session.add(
                Patient(
                    organization_id=org.id,
                    given_name="Ada",
                    family_name="Row",
                    birth_date=date(1950, 3, 1),
                    sex="female",
                    timezone="UTC",
                )
            )
    passed = asyncio.Event()
    original = worker.run_due

    async def observed(*args: Any, **kwargs: Any) -> int:
        done = await original(*args, **kwargs)
        passed.set()
        return done

    monkeypatch.setattr(worker, "run_due", observed)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        await asyncio.wait_for(passed.wait(), timeout=60)
        async with application.state.sessionmaker() as session:
            rows = list(await session.scalars(select(PatientStanding)))
    assert [(r.family_key, r.rules_version) for r in rows] == [
        ("row", application.state.rules.version)
    ]


def test_worker_once_from_the_command_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/worker.db"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        assert main(["worker", "--once", "--all"]) == 0
    finally:
        get_settings.cache_clear()
    assert capsys.readouterr().out.strip() == "re-evaluated 0 patients"


async def test_after_midnight_the_worker_moves_the_panel_day(app: FastAPI) -> None:
    org = await make_org(app)
    with on_day(1):
        await make_patient(app, org, enroll=enrollment("eCKM", "hypertension"))
    with on_day(9):
        assert await worker_pass(app) == 1
        async with app.state.sessionmaker() as session:
            period = await session.scalar(select(PeriodStanding))
    assert period is not None
    assert period.evaluated_on.isoformat() == "2026-07-13"
