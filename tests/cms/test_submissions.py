"""Submitting reports to CMS (docs/api.md "Submitting reports to CMS"), end to end against the
local stand-in of CMS's Data Reporting API: 202, polled to a result; each result code; timeouts
and 5xx retried without a second bundle; exactly once; what stops a report, said at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.clock import frozen_at
from app.cms.models import ReportSubmission
from app.cms.sending import FIRST_POLL, FIRST_RETRY, SEND_FOR
from app.webhooks.models import WebhookEvent
from tests.cms.helpers import (
    CMS_BASE,
    PARTICIPANT_ID,
    cms_for,
    complete_baseline,
    read_report,
    reporting_patient,
    set_up_reporting,
    submit,
    submit_url,
)
from tests.factories import make_org

T0 = datetime(2026, 8, 1, 12, tzinfo=UTC)


def at(seconds: float) -> Any:
    return frozen_at(T0 + timedelta(seconds=seconds))


async def _submissions(app: FastAPI) -> list[ReportSubmission]:
    async with app.state.sessionmaker() as session:
        return list(await session.scalars(select(ReportSubmission)))


async def test_submitted_sent_and_polled_to_success(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org, patient, report = await reporting_patient(app, client)
    async with cms_for(app, polls_before_result=2) as cms:
        with at(0):
            submitted = await client.post(
                submit_url(patient.id, report["id"]), headers=org.clinician.headers
            )
            assert submitted.status_code == 202, submitted.text
            assert submitted.json()["status"] == "submitted"
            assert submitted.headers["content-location"].endswith(f"/reports/{report['id']}")
            assert await cms.work() == 1
        assert len(cms.standin.received) == 1
        sent = cms.standin.received[0]
        names = [p["name"] for p in sent["parameter"]]
        assert names == ["participantID", "payerID", "track", "reportType", "dataBundle"]
        assert sent["parameter"][0]["valueIdentifier"]["value"] == PARTICIPANT_ID
        assert sent["parameter"][2]["valueCodeableConcept"]["coding"][0]["code"] == "eCKM"
        assert sent["parameter"][3]["valueCodeableConcept"]["coding"][0]["code"] == "baseline"
        assert sent["parameter"][4]["resource"]["type"] == "document"
        (submission,) = await _submissions(app)
        assert submission.state == "sent"
        assert submission.status_url is not None
        assert submission.status_url.startswith(CMS_BASE.rsplit("/", 1)[0])
        # Still processing: 202 twice, each poll later than the last; nothing is due before.
        with at(FIRST_POLL.total_seconds() - 1):
            assert await cms.work() == 0
        with at(FIRST_POLL.total_seconds()):
            assert await cms.work() == 1
        with at(FIRST_POLL.total_seconds() * 2):
            assert await cms.work() == 1
        assert (await read_report(client, org, patient.id, report["id"]))["status"] == "submitted"
        with at(FIRST_POLL.total_seconds() * 4):
            assert await cms.work() == 1
        done = await read_report(client, org, patient.id, report["id"])
        assert (done["status"], done["result_code"]) == ("accepted", "success")
        assert "Success" in done["result_message"]
        with at(3600):
            assert await cms.work() == 0  # settled: nothing more is sent or polled
    assert cms.standin.distinct_bundles() == 1


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("success", "accepted"),
        ("validation-error", "rejected"),
        ("duplicate", "rejected"),
        ("patient-not-aligned", "rejected"),
        ("reporting-period-closed", "rejected"),
        ("incomplete-data", "rejected"),
        ("incorrect-track", "rejected"),
    ],
)
async def test_each_result_code_is_recorded_on_the_report(
    app: FastAPI, client: httpx.AsyncClient, code: str, status: str
) -> None:
    org, patient, report = await reporting_patient(app, client)
    async with cms_for(app, polls_before_result=0) as cms:
        cms.standin.results.append(code)
        with at(0):
            await submit(client, org, patient.id, report)
            await cms.work()
        with at(FIRST_POLL.total_seconds()):
            await cms.work()
    done = await read_report(client, org, patient.id, report["id"])
    assert (done["status"], done["result_code"]) == (status, code)
    if code != "success":  # CMS's issues come with the result
        assert f"stand-in: scripted {code}" in done["result_message"]


async def test_every_status_change_is_a_webhook(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    await set_up_reporting(client, org)
    subscribed = await client.post(
        "/v1/webhooks",
        json={"url": "http://receiver.test/hook", "events": ["report.status_changed"]},
        headers=org.admin.headers,
    )
    assert subscribed.status_code == 201, subscribed.text
    patient, report = await complete_baseline(app, client, org)
    async with cms_for(app, polls_before_result=0) as cms:
        cms.standin.results.append("incorrect-track")
        with at(0):
            await submit(client, org, patient.id, report)
            await cms.work()
        with at(FIRST_POLL.total_seconds()):
            await cms.work()
    async with app.state.sessionmaker() as session:
        events = list(
            await session.scalars(
                select(WebhookEvent)
                .where(WebhookEvent.event == "report.status_changed")
                .order_by(WebhookEvent.created_at)
            )
        )
    changes = [(e.data["status"], e.data.get("result_code")) for e in events]
    assert changes == [("prepared", None), ("submitted", None), ("rejected", "incorrect-track")]
    assert {e.data["report_id"] for e in events} == {report["id"]}


async def test_a_validation_error_keeps_cms_words(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    await set_up_reporting(client, org)
    # The participant id CMS expects differs from the one in the Parameters: CMS's check fails.
    patient, report = await complete_baseline(app, client, org)
    async with cms_for(app, polls_before_result=0) as cms:
        original = cms.standin._accept

        def wrong_entity(body: dict[str, Any], entity_id: str | None) -> Any:
            return original(body, "ACCES99999")

        cms.standin._accept = wrong_entity  # type: ignore[method-assign]
        with at(0):
            await submit(client, org, patient.id, report)
            await cms.work()
        with at(FIRST_POLL.total_seconds()):
            await cms.work()
    done = await read_report(client, org, patient.id, report["id"])
    assert (done["status"], done["result_code"]) == ("rejected", "validation-error")
    assert "participantID does not match the entityId" in done["result_message"]


async def test_a_timeout_after_cms_got_the_bundle_sends_no_second_bundle(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org, patient, report = await reporting_patient(app, client)
    async with cms_for(app, polls_before_result=0) as cms:
        cms.transport.lose = 1
        with at(0):
            await submit(client, org, patient.id, report)
            # The person retries the submit too: still one submission.
            again = await client.post(
                submit_url(patient.id, report["id"]), headers=org.clinician.headers
            )
            assert again.status_code == 202
            await cms.work()
        (submission,) = await _submissions(app)
        assert (submission.state, submission.last_error) == ("queued", "CMS did not answer in time")
        with at(FIRST_RETRY.total_seconds()):
            await cms.work()  # sent again: the same bundle identifier, the same submission
        with at(FIRST_RETRY.total_seconds() + FIRST_POLL.total_seconds()):
            await cms.work()
    assert len(cms.standin.received) == 2
    assert cms.standin.distinct_bundles() == 1
    assert len(cms.standin.submissions) == 1
    done = await read_report(client, org, patient.id, report["id"])
    assert (done["status"], done["result_code"]) == ("accepted", "success")


async def test_5xx_is_retried_with_backoff(app: FastAPI, client: httpx.AsyncClient) -> None:
    org, patient, report = await reporting_patient(app, client)
    async with cms_for(app, polls_before_result=0) as cms:
        cms.standin.failures.extend([503, 500])
        with at(0):
            await submit(client, org, patient.id, report)
            await cms.work()
        (submission,) = await _submissions(app)
        assert submission.last_error is not None
        assert submission.last_error.startswith("CMS answered 503")
        with at(FIRST_RETRY.total_seconds() - 1):
            assert await cms.work() == 0  # not before the backoff
        with at(FIRST_RETRY.total_seconds()):
            await cms.work()  # 500
        with at(FIRST_RETRY.total_seconds() * 2):
            assert await cms.work() == 0  # the wait doubled
        with at(FIRST_RETRY.total_seconds() * 3):
            await cms.work()  # sent
        with at(FIRST_RETRY.total_seconds() * 3 + FIRST_POLL.total_seconds()):
            await cms.work()
    done = await read_report(client, org, patient.id, report["id"])
    assert done["status"] == "accepted"
    assert cms.standin.distinct_bundles() == 1


async def test_unreachable_for_a_day_gives_up_and_submitting_again_resumes(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org, patient, report = await reporting_patient(app, client)
    async with cms_for(app, polls_before_result=0) as cms:
        cms.standin.failures.extend([503] * 100)
        with at(0):
            await submit(client, org, patient.id, report)
        moment = 0.0
        while moment <= SEND_FOR.total_seconds() + 3600:
            with at(moment):
                await cms.work()
            moment += 1800
        given_up = await read_report(client, org, patient.id, report["id"])
        assert given_up["status"] == "prepared"
        assert given_up["result_message"].startswith("Not sent to CMS within")
        (submission,) = await _submissions(app)
        assert submission.state == "failed"
        cms.standin.failures.clear()
        with at(moment):
            resumed = await client.post(
                submit_url(patient.id, report["id"]), headers=org.clinician.headers
            )
            assert resumed.json()["status"] == "submitted"
            await cms.work()
        with at(moment + FIRST_POLL.total_seconds()):
            await cms.work()
    (again,) = await _submissions(app)  # the same attempt, taken up again
    assert (again.id, again.attempt, again.state) == (submission.id, 1, "done")
    assert (await read_report(client, org, patient.id, report["id"]))["status"] == "accepted"


async def test_only_a_rejection_lets_a_report_be_sent_again(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org, patient, report = await reporting_patient(app, client)
    url = submit_url(patient.id, report["id"])
    async with cms_for(app, polls_before_result=0) as cms:
        cms.standin.results.append("patient-not-aligned")
        with at(0):
            await client.post(url, headers=org.clinician.headers)
            await cms.work()
        with at(FIRST_POLL.total_seconds()):
            await cms.work()
        assert (await read_report(client, org, patient.id, report["id"]))["status"] == "rejected"
        with at(100):
            await client.post(url, headers=org.clinician.headers)
            await cms.work()
        with at(100 + FIRST_POLL.total_seconds()):
            await cms.work()
        assert (await read_report(client, org, patient.id, report["id"]))["status"] == "accepted"
        with at(200):  # accepted: submitting again sends nothing
            again = await client.post(url, headers=org.clinician.headers)
            assert again.status_code == 202
            assert again.json()["status"] == "accepted"
            assert await cms.work() == 0
    attempts = sorted(s.attempt for s in await _submissions(app))
    assert attempts == [1, 2]
    assert cms.standin.distinct_bundles() == 2


async def test_wrong_client_secret_is_retried_and_said(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    await set_up_reporting(client, org, secret="not-the-secret-cms-knows")
    patient, report = await complete_baseline(app, client, org)
    async with cms_for(app) as cms:
        with at(0):
            await submit(client, org, patient.id, report)
            await cms.work()
    (submission,) = await _submissions(app)
    assert submission.state == "queued"
    assert submission.last_error == "CMS refused the client credentials (401 invalid_client)"
    assert cms.standin.received == []


async def test_a_token_is_reused_until_it_nears_expiry(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org, patient, report = await reporting_patient(app, client)
    async with cms_for(app, polls_before_result=3) as cms:
        with at(0):
            await submit(client, org, patient.id, report)
        for seconds in (0, 10, 30, 70, 150):
            with at(seconds):
                await cms.work()
    assert cms.transport.calls.count("POST /access/token") == 1
    polls = [c for c in cms.transport.calls if "$submission-status" in c]
    assert len(polls) == 4  # three 202s, then the result


async def test_submitting_is_audited_and_the_disclosure_too(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org, patient, report = await reporting_patient(app, client)
    async with cms_for(app) as cms:
        with at(0):
            await submit(client, org, patient.id, report)
            await cms.work()
    async with app.state.sessionmaker() as session:
        rows = list(
            await session.execute(
                select(AuditEvent.resource_type, AuditEvent.action, AuditEvent.actor_id).where(
                    AuditEvent.patient_id == patient.id,
                    AuditEvent.resource_type.in_(("report", "cms_submission")),
                    AuditEvent.action != "read",
                )
            )
        )
    clinician = org.clinician.principal.id
    assert ("report", "update", clinician) in rows
    assert ("cms_submission", "create", clinician) in rows
