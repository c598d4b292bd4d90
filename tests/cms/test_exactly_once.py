"""Exactly once, as a property: whatever happens (submits repeated, answers lost after CMS got
the bundle, 5xx, any result code, the clock moving by any steps), CMS never receives a second
bundle for a report unless it rejected the first, at most one submission is on its way, and the
report's status says where its latest submission stands."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update

from app.clock import frozen_at
from app.cms.models import ReportSubmission
from tests.cms.helpers import Cms, cms_for, reporting_patient, submit_url
from tests.readings.helpers import APP_PROPERTY

T0 = datetime(2026, 8, 1, 12, tzinfo=UTC)
CODES = ["success", "validation-error", "duplicate", "patient-not-aligned", "incorrect-track"]

Action = tuple[str, Any]
ACTIONS = st.one_of(
    st.just(("submit", None)),
    st.tuples(st.just("wait"), st.sampled_from([0, 10, 30, 60, 600, 3600, 6 * 3600])),
    st.just(("lose", None)),
    st.tuples(st.just("fail"), st.sampled_from([500, 503, 429])),
    st.tuples(st.just("result"), st.sampled_from(CODES)),
)


def _received_identifiers(cms: Cms) -> list[str]:
    identifiers = []
    for body in cms.standin.received:
        bundle = next(p["resource"] for p in body["parameter"] if p["name"] == "dataBundle")
        identifiers.append(bundle["identifier"]["value"])
    return identifiers


async def _check(app: FastAPI, client: httpx.AsyncClient, cms: Cms, ids: dict[str, Any]) -> None:
    async with app.state.sessionmaker() as session:
        attempts = list(
            await session.scalars(
                select(ReportSubmission)
                .where(ReportSubmission.report_id == ids["report"])
                .order_by(ReportSubmission.attempt)
            )
        )
    assert len([a for a in attempts if a.state in ("queued", "sent")]) <= 1
    # Only a rejection lets a new attempt follow.
    for earlier in attempts[:-1]:
        assert earlier.state == "done"
        assert earlier.result_code not in (None, "success")
    sent = set(_received_identifiers(cms))
    assert sent <= {f"urn:uuid:{a.id}" for a in attempts}
    assert len(cms.standin.submissions) == len(sent)  # one submission at CMS per bundle
    report = await client.get(
        f"/v1/patients/{ids['patient']}/reports/{ids['report']}", headers=ids["headers"]
    )
    status = report.json()["status"]
    if not attempts:
        assert status == "prepared"
        return
    latest = attempts[-1]
    expected = {
        "queued": "submitted",
        "sent": "submitted",
        "done": "accepted" if latest.result_code == "success" else "rejected",
        "failed": "submitted" if latest.status_url else "prepared",
    }[latest.state]
    assert status == expected


@APP_PROPERTY
@given(actions=st.lists(ACTIONS, min_size=1, max_size=14))
async def test_never_a_second_bundle_unless_rejected(
    app: FastAPI, client: httpx.AsyncClient, actions: list[Action]
) -> None:
    # Examples share the database: what earlier ones left on its way is set aside, so the
    # worker's passes here only send this example's report.
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(ReportSubmission)
            .where(ReportSubmission.state.in_(("queued", "sent")))
            .values(state="failed")
        )
    org, patient, report = await reporting_patient(app, client)
    ids = {
        "patient": patient.id,
        "report": uuid.UUID(report["id"]),
        "headers": org.clinician.headers,
    }
    moment = T0
    async with cms_for(app, polls_before_result=1) as cms:
        for kind, value in [*actions, ("wait", 0)]:
            with frozen_at(moment):
                if kind == "submit":
                    answer = await client.post(
                        submit_url(patient.id, report["id"]), headers=org.clinician.headers
                    )
                    assert answer.status_code == 202, answer.text
                elif kind == "wait":
                    moment += timedelta(seconds=value)
                elif kind == "lose":
                    cms.transport.lose += 1
                elif kind == "fail":
                    cms.standin.failures.append(value)
                else:
                    cms.standin.results.append(value)
            with frozen_at(moment):
                await cms.work()
            await _check(app, client, cms, ids)
