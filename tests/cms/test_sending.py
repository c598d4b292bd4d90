"""The worker's side of submissions when things change under it (`app/cms/sending.py`): the
bundle can no longer be built, the settings went away, the secret cannot be opened, CMS never
answers a poll, a lease ran out, two workers at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from app.clock import frozen_at
from app.cms import sending
from app.cms.client import Pending
from app.cms.models import ReportSubmission
from app.cms.sending import POLL_FOR, Claimed, claim, record
from app.organizations.models import Organization
from app.patients.models import Patient
from tests.cms.helpers import cms_for, read_report, reporting_patient, submit, submit_url
from tests.conftest import TEST_DATABASE_URL
from tests.factories import OrgWorld

T0 = datetime(2026, 8, 1, 12, tzinfo=UTC)


def at(seconds: float) -> Any:
    return frozen_at(T0 + timedelta(seconds=seconds))


async def _submitted(app: FastAPI, client: httpx.AsyncClient) -> tuple[OrgWorld, Any, Any]:
    org, patient, report = await reporting_patient(app, client)
    with at(0):
        answer = await submit(client, org, patient.id, report)
    assert answer.status_code == 202, answer.text
    return org, patient, report


async def _only(app: FastAPI) -> ReportSubmission:
    async with app.state.sessionmaker() as session:
        rows: list[ReportSubmission] = list(await session.scalars(select(ReportSubmission)))
    (submission,) = rows
    return submission


async def test_a_report_that_lost_its_mbi_is_not_sent_and_says_why(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org, patient, report = await _submitted(app, client)
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(update(Patient).where(Patient.id == patient.id).values(mbi=None))
    async with cms_for(app) as cms:
        with at(0):
            await cms.work()
    assert cms.standin.received == []
    after = await read_report(client, org, patient.id, report["id"])
    assert after["status"] == "prepared"
    assert after["result_message"].startswith("Not sent to CMS: ")
    assert "MBI" in after["result_message"]
    assert (await _only(app)).state == "failed"


@pytest.mark.parametrize("change", ["settings", "secret"])
async def test_settings_gone_or_unreadable_wait_and_say_so(
    app: FastAPI, client: httpx.AsyncClient, change: str
) -> None:
    org, _patient, _report = await _submitted(app, client)
    values: dict[str, Any] = (
        {"cms_base_url": None, "cms_client_id": None, "cms_client_secret": None}
        if change == "settings"
        else {"cms_client_secret": "gAAAAA-sealed-under-a-key-long-gone"}
    )
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(Organization).where(Organization.id == org.id).values(**values)
        )
    async with cms_for(app) as cms:
        with at(0):
            await cms.work()
    submission = await _only(app)
    assert submission.state == "queued"
    expected = "no CMS reporting settings" if change == "settings" else "cannot be decrypted"
    assert submission.last_error is not None
    assert expected in submission.last_error
    assert cms.standin.received == []


async def test_no_result_within_a_week_stays_submitted_and_a_new_submit_polls_again(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org, patient, report = await _submitted(app, client)
    async with cms_for(app, polls_before_result=10_000) as cms:
        moment = 0.0
        while moment <= POLL_FOR.total_seconds() + 7200:
            with at(moment):
                await cms.work()
            moment += 3600
        stuck = await read_report(client, org, patient.id, report["id"])
        assert stuck["status"] == "submitted"
        assert stuck["result_message"].startswith("CMS gave no result within 7 days")
        assert (await _only(app)).state == "failed"
        for submission in cms.standin.submissions.values():
            submission.polls_left = 0
        with at(moment):
            again = await client.post(
                submit_url(patient.id, report["id"]), headers=org.clinician.headers
            )
            assert again.status_code == 202
            await cms.work()  # polls: nothing sent again
    assert len(cms.standin.received) == 1
    done = await read_report(client, org, patient.id, report["id"])
    assert (done["status"], done["result_code"]) == ("accepted", "success")


async def test_an_outcome_after_the_lease_ran_out_is_ignored(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _submitted(app, client)
    maker = app.state.sessionmaker
    with at(0):
        (first,) = await claim(maker, batch=10)
    with at(sending.LEASE.total_seconds() + 1):
        (second,) = await claim(maker, batch=10)  # the lease ran out: taken again
        assert second.tries == first.tries + 1
        await record(maker, first, Pending())  # the first claim's late outcome
    submission = await _only(app)
    assert submission.tries == second.tries
    assert (
        submission.next_attempt_at
        == T0 + timedelta(seconds=sending.LEASE.total_seconds() + 1) + sending.LEASE
    )


@pytest.mark.skipif(TEST_DATABASE_URL is None, reason="SKIP LOCKED needs PostgreSQL")
async def test_two_workers_never_take_the_same_submission(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    for _ in range(6):
        await _submitted(app, client)
    maker = app.state.sessionmaker
    with at(0):
        batches = await asyncio.gather(*(claim(maker, batch=2) for _ in range(4)))
    taken: list[Claimed] = [c for batch in batches for c in batch]
    assert len({c.submission_id for c in taken}) == len(taken)


@pytest.mark.parametrize(
    ("tries", "first", "wait"),
    [(1, 10, 10), (2, 10, 20), (3, 30, 120), (9, 10, 2560), (10, 10, 3600), (5000, 30, 3600)],
)
def test_waits_double_up_to_an_hour(tries: int, first: int, wait: int) -> None:
    got = sending.wait_after(tries, timedelta(seconds=first))
    assert got == timedelta(seconds=wait)
