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
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
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
from tests.factories import Actor, make_org, make_patient
from tests.outcomes.helpers import (
    cuff,
    date_of,
    enrollment,
    enrollment_id,
    labs,
    on_day,
    prepare,
    worker_pass,
)

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")


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


async def _alerts(client: httpx.AsyncClient, staff: Actor, kind: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/alerts", headers=staff.headers)
    assert response.status_code == 200, response.text
    return [a for a in response.json()["items"] if a["kind"] == kind]


async def test_the_worker_opens_no_data_on_the_day_and_data_ends_it(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """docs/rules.md "Alert episodes": eCKM, more than 7 days without data from day 1."""
    org = await make_org(app)
    with on_day(1):
        patient = await make_patient(app, org, enroll=enrollment("eCKM", "hypertension"))
    with on_day(7):
        await worker_pass(app)
        assert await _alerts(client, org.clinician, "no_data") == []
        async with app.state.sessionmaker() as session:
            row = await session.get(PatientStanding, patient.id)
        assert row is not None
        # Due no later than the midnight the alert must open at.
        assert row.due_at == datetime.combine(date_of(8), time(0), tzinfo=NEW_YORK)
    with on_day(8):
        assert await worker_pass(app) == 1
        (alert,) = await _alerts(client, org.clinician, "no_data")
        assert (alert["severity"], alert["status"], alert["ended_at"]) == ("warning", "open", None)
        assert alert["details"] == {"track": "eCKM", "days": 7, "last_data_on": None}
        assert alert["first_at"] == "2026-07-12T04:00:00Z"
        panel = await client.get("/v1/patients", headers=org.clinician.headers)
        (item,) = panel.json()["items"]
        assert item["open_warning_alerts"] == 1
        assert "warning_alerts" in [r["code"] for r in item["need"]["reasons"]]
        # A second pass the same day changes nothing.
        assert await worker_pass(app) == 0
        assert len(await _alerts(client, org.clinician, "no_data")) == 1
    with on_day(9):
        await cuff(client, patient.device, [(9, 128)])
        (alert,) = await _alerts(client, org.clinician, "no_data")
        # Over, and still open for the clinicians until one acknowledges it.
        assert alert["ended_at"] is not None
        assert alert["status"] == "open"


async def test_report_due_opens_seven_days_before_a_window_closes_and_a_report_ends_it(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    staff = org.clinician
    with on_day(1):
        patient = await make_patient(app, org, enroll=enrollment("eCKM", "hypertension"))
    with on_day(52):  # the baseline window closes on day 60
        await worker_pass(app)
        assert await _alerts(client, staff, "report_due") == []
    with on_day(53):
        await worker_pass(app)
        (alert,) = await _alerts(client, staff, "report_due")
        assert alert["details"]["report_type"] == "baseline"
        assert alert["details"]["closes"] == date_of(60).isoformat()
        assert alert["ended_at"] is None
        await cuff(client, patient.device, [(51, 130), (52, 131), (53, 129)])
        await labs(client, staff, patient.id, [("hba1c", 50, 5.5), ("ldl", 50, 90.0)])
        eid = await enrollment_id(client, staff, patient.id)
        response = await prepare(client, staff, patient.id, eid, "baseline")
        assert response.status_code == 201, response.text
        (alert,) = await _alerts(client, staff, "report_due")
        assert alert["ended_at"] is not None


async def test_a_resolved_report_due_does_not_open_again(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    with on_day(1):
        await make_patient(app, org, enroll=enrollment("eCKM", "hypertension"))
    with on_day(54):
        await worker_pass(app)
        (alert,) = await _alerts(client, org.clinician, "report_due")
        url = f"/v1/alerts/{alert['id']}/resolve"
        assert (await client.post(url, headers=org.clinician.headers)).status_code == 200
    with on_day(55):
        await worker_pass(app)
        (again,) = await _alerts(client, org.clinician, "report_due")
        assert (again["id"], again["status"]) == (alert["id"], "resolved")
