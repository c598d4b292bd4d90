"""Sending reports to CMS and polling their results: the worker's half of submissions.

Invariants (docs/api.md "Submitting reports to CMS"):
- a submission is claimed in a short transaction (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so two
  workers never take the same one) that counts the call and leases it for `LEASE`; the call to
  CMS runs outside any transaction; its outcome is written in another, only by the claim that
  still holds it. A worker killed mid-call leaves the lease to run out and the call is made
  again;
- every send of a submission carries the same bundle identifier (`urn:uuid:` + its id), so a
  send repeated after a timeout is the same submission to CMS, never a second bundle;
- sends are retried with backoff (`FIRST_RETRY` doubling to `LONGEST_WAIT`) for `SEND_FOR`
  after the report was submitted, polls (`FIRST_POLL` doubling) for `POLL_FOR` after CMS took
  it; then the submission is `failed` and the report says why (submitting again resumes it);
- CMS's result moves the report to `accepted` (success) or `rejected` (any other code) with its
  words, and every status change emits `report.status_changed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit import service as audit_service
from app.auth.models import User
from app.auth.principal import Principal
from app.clock import utcnow
from app.cms import parameters
from app.cms.client import (
    Accepted,
    CmsClient,
    Credentials,
    PollAnswer,
    Result,
    Retry,
    SendAnswer,
)
from app.cms.models import ReportSubmission
from app.cms.secrets import SecretBox, UnreadableSecret
from app.cms.submissions import set_status
from app.errors import Conflict
from app.fhir.report_bundle import report_bundle
from app.fhir.report_codes import report_type_coding
from app.logs import describe
from app.organizations.models import Organization
from app.outcomes.models import Report
from app.webhooks import targets

LEASE = timedelta(minutes=2)
FIRST_RETRY = timedelta(seconds=30)
FIRST_POLL = timedelta(seconds=10)
LONGEST_WAIT = timedelta(hours=1)
SEND_FOR = timedelta(hours=24)
POLL_FOR = timedelta(days=7)
POLL_SECONDS = 5.0  # how often the worker looks for submissions due

log = logging.getLogger("access_rpm.cms")


@dataclass(frozen=True, slots=True)
class Claimed:
    submission_id: uuid.UUID
    report_id: uuid.UUID
    state: str
    tries: int
    status_url: str | None
    organization_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class NotSendable:
    """The report can no longer be sent as it stands (its bundle lacks something now)."""

    reason: str


Answer = SendAnswer | PollAnswer | NotSendable


@dataclass(frozen=True, slots=True)
class Sender:
    """What a pass needs: the database, an HTTP client for CMS, the secrets' keys."""

    maker: async_sessionmaker[AsyncSession]
    client: CmsClient
    box: SecretBox
    payer_id: str
    production: bool


def wait_after(tries: int, first: timedelta) -> timedelta:
    """`first`, doubling with each call made, at most `LONGEST_WAIT` (the doublings are capped
    first: a week of hourly polls would overflow a timedelta)."""
    wait: timedelta = min(first * 2 ** min(max(tries - 1, 0), 20), LONGEST_WAIT)
    return wait


async def claim(maker: async_sessionmaker[AsyncSession], *, batch: int) -> list[Claimed]:
    """Take up to `batch` submissions due now, counting the call and leasing each."""
    now = utcnow()
    async with maker() as session, session.begin():
        rows = list(
            await session.scalars(
                select(ReportSubmission)
                .where(
                    ReportSubmission.state.in_(("queued", "sent")),
                    ReportSubmission.next_attempt_at <= now,
                )
                .order_by(ReportSubmission.next_attempt_at, ReportSubmission.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        )
        for row in rows:
            row.tries += 1
            row.next_attempt_at = now + LEASE
        return [
            Claimed(
                submission_id=r.id,
                report_id=r.report_id,
                state=r.state,
                tries=r.tries,
                status_url=r.status_url,
                organization_id=r.organization_id,
            )
            for r in rows
        ]


async def call(sender: Sender, claimed: Claimed) -> Answer:
    """Send or poll one claimed submission; never raises for CMS's or the network's failures."""
    async with sender.maker() as session:
        organization = await session.get(Organization, claimed.organization_id)
        assert organization is not None
        if organization.cms_base_url is None or organization.cms_client_id is None:
            return Retry("the organization has no CMS reporting settings")
        if organization.cms_client_secret is None or organization.access_participant_id is None:
            return Retry("the organization's CMS settings lack a secret or participant id")
        try:
            secret = sender.box.open(organization.cms_client_secret)
        except UnreadableSecret as exc:
            return Retry(str(exc))
        credentials = Credentials(organization.cms_base_url, organization.cms_client_id, secret)
        try:
            await targets.check_addresses(credentials.base_url, production=sender.production)
        except targets.UnsafeTarget as exc:
            return Retry(f"refused: the CMS base URL {exc}")
        if claimed.state == "sent" and claimed.status_url is not None:
            return await sender.client.poll(credentials, status_url=claimed.status_url)
        report = await session.get(Report, claimed.report_id)
        assert report is not None
        try:
            bundle = await report_bundle(
                session, report=report, identifier=f"urn:uuid:{claimed.submission_id}"
            )
        except Conflict as exc:
            return NotSendable(exc.detail)
        body = parameters.report_data(
            bundle,
            participant_id=organization.access_participant_id,
            payer_id=sender.payer_id,
            report_type=report_type_coding(report.type),
        )
    return await sender.client.send(
        credentials, entity_id=organization.access_participant_id, body=body
    )


async def record(maker: async_sessionmaker[AsyncSession], claimed: Claimed, answer: Answer) -> None:
    """Write what the call found, if this claim still holds the submission."""
    now = utcnow()
    async with maker() as session, session.begin():
        submission = await session.scalar(
            select(ReportSubmission)
            .where(
                ReportSubmission.id == claimed.submission_id,
                ReportSubmission.tries == claimed.tries,
                ReportSubmission.state == claimed.state,
            )
            .with_for_update()
        )
        if submission is None:
            return  # the lease ran out and another claim took it: its outcome counts
        report = await session.get(Report, submission.report_id)
        assert report is not None
        if isinstance(answer, Accepted):
            submission.state, submission.status_url = "sent", answer.status_url
            submission.sent_at, submission.tries, submission.last_error = now, 0, None
            submission.next_attempt_at = now + FIRST_POLL
            await _audit_disclosure(session, submission)
        elif isinstance(answer, Result):
            submission.state, submission.finished_at = "done", now
            submission.result_code, submission.result_message = answer.code, answer.message
            status = "accepted" if answer.code == "success" else "rejected"
            await set_status(
                session, report=report, status=status, code=answer.code, message=answer.message
            )
        elif isinstance(answer, NotSendable):
            await _fail(session, submission, report, f"Not sent to CMS: {answer.reason}")
        else:
            # Still processing is not an error, but a week of it is given up like one.
            error = answer.error if isinstance(answer, Retry) else None
            _retry_or_fail_later(submission, error, now=now)
            if submission.state == "failed":
                submission.last_error = submission.last_error or "CMS was still processing it"
                await _fail(session, submission, report, _failure_words(submission))


def _retry_or_fail_later(submission: ReportSubmission, error: str | None, *, now: datetime) -> None:
    submission.last_error = error[:500] if error is not None else None
    sending = submission.state == "queued"
    first = FIRST_RETRY if sending else FIRST_POLL
    since = submission.queued_at if sending else (submission.sent_at or submission.queued_at)
    retry_at = now + wait_after(submission.tries, first)
    if retry_at > since + (SEND_FOR if sending else POLL_FOR):
        submission.state = "failed"
    else:
        submission.next_attempt_at = retry_at


def _failure_words(submission: ReportSubmission) -> str:
    if submission.status_url is None:
        return f"Not sent to CMS within {SEND_FOR}: {submission.last_error}"
    return f"CMS gave no result within {POLL_FOR.days} days: {submission.last_error}"


async def _fail(
    session: AsyncSession, submission: ReportSubmission, report: Report, message: str
) -> None:
    """Give up for now: a report CMS never took is `prepared` again; one CMS took stays
    `submitted`; either says why, and submitting it again resumes."""
    submission.state, submission.finished_at = "failed", utcnow()
    submission.last_error = message[:500]
    status = "submitted" if submission.status_url is not None else "prepared"
    await set_status(session, report=report, status=status, code=None, message=message)


async def _audit_disclosure(session: AsyncSession, submission: ReportSubmission) -> None:
    """The report's data left for CMS: recorded as done by whoever submitted it."""
    if submission.created_by is None:
        return
    user = await session.get(User, submission.created_by)
    if user is None:
        return
    audit_service.record(
        session,
        principal=Principal(id=user.id, role=user.role, organization_id=user.organization_id),  # type: ignore[arg-type]
        organization_id=submission.organization_id,
        patient_id=submission.patient_id,
        action="create",
        resource_type="cms_submission",
        resource_id=submission.id,
    )


async def _call_safely(sender: Sender, claimed: Claimed) -> Answer:
    """A call whose unexpected failure (a bug, the database) is retried like CMS's own."""
    try:
        return await call(sender, claimed)
    except Exception as exc:
        log.error("CMS submission call failed: %s", describe(exc))
        return Retry(f"this service failed preparing the call ({type(exc).__name__})")


async def send_due(sender: Sender, *, batch: int = 20) -> int:
    """Make every call due now, `batch` at a time in parallel; returns how many."""
    made = 0
    while claimed := await claim(sender.maker, batch=batch):
        answers = await asyncio.gather(*(_call_safely(sender, c) for c in claimed))
        for c, answer in zip(claimed, answers, strict=True):
            await record(sender.maker, c, answer)
        made += len(claimed)
    return made


async def run_forever(
    maker: async_sessionmaker[AsyncSession],
    *,
    box: SecretBox,
    payer_id: str,
    production: bool,
    stop: asyncio.Event,
) -> None:
    """Pass after pass until `stop` is set; an error is logged (types and frames only)."""
    async with httpx.AsyncClient(follow_redirects=False) as http:
        sender = Sender(maker, CmsClient(http), box, payer_id, production)
        while not stop.is_set():
            try:
                await send_due(sender)
            except Exception as exc:
                log.error("CMS submission pass failed: %s", describe(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=POLL_SECONDS)
