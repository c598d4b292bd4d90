"""Submitting a report to CMS, the request's half: `POST .../reports/{id}/submit` queues it and
the worker sends it (`app/cms/sending.py`), docs/api.md "Submitting reports to CMS".

Invariants:
- exactly once: a report has at most one submission in flight or accepted. Submitting again
  while one is queued, sent or accepted queues nothing; a submission that could not be sent or
  polled in time is taken up again where it stopped (same bundle identifier, so CMS sees the
  same submission); only after CMS rejected one is a new attempt (a new bundle) made;
- what stops a report from being sent is said at once, all of it, as a 409: an incomplete
  report, no CMS reporting settings, and whatever the bundle lacks (the patient's MBI, the
  participant id, the preparer's NPI);
- the report's status becomes `submitted` in the same transaction, with its
  `report.status_changed` webhook and the audit event.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.auth.principal import Principal
from app.clock import utcnow
from app.cms.models import ReportSubmission
from app.errors import FieldError, NotFound
from app.fhir.report_bundle import NotSubmittable, report_bundle
from app.organizations.models import Organization
from app.outcomes.models import Report
from app.outcomes.reports import to_read
from app.outcomes.schemas import ReportRead
from app.patients.models import Patient
from app.webhooks import events as webhook_events

_audit = audit_service.Trail("report")


async def submit(
    session: AsyncSession, *, principal: Principal, patient: Patient, report_id: uuid.UUID
) -> ReportRead:
    """Queue the report for CMS unless it is already on its way or accepted."""
    report = await session.scalar(
        select(Report)
        .where(Report.id == report_id, Report.patient_id == patient.id)
        .with_for_update()
    )
    if report is None:
        raise NotFound("No such report.")
    latest = await session.scalar(
        select(ReportSubmission)
        .where(ReportSubmission.report_id == report.id)
        .order_by(ReportSubmission.attempt.desc())
        .limit(1)
    )
    if latest is not None and (
        latest.state in ("queued", "sent") or latest.result_code == "success"
    ):
        _audit(session, principal=principal, patient=patient, action="read", resource_id=report.id)
        return to_read(report)  # on its way, or accepted: nothing more to send
    await _check_sendable(session, report=report, patient=patient)
    now = utcnow()
    if latest is not None and latest.state == "failed":
        _resume(latest, now=now)
    else:
        session.add(
            ReportSubmission(
                report_id=report.id,
                patient_id=patient.id,
                organization_id=patient.organization_id,
                attempt=(latest.attempt + 1) if latest is not None else 1,
                state="queued",
                next_attempt_at=now,
                queued_at=now,
                tries=0,
                created_by=principal.id,
            )
        )
    await set_status(session, report=report, status="submitted", code=None, message=None)
    await session.flush()
    _audit(session, principal=principal, patient=patient, action="update", resource_id=report.id)
    return to_read(report)


def _resume(submission: ReportSubmission, *, now: datetime) -> None:
    """Take a failed submission up where it stopped: poll again if CMS took it, else send it
    again with the same bundle identifier."""
    submission.state = "sent" if submission.status_url is not None else "queued"
    submission.tries = 0
    submission.next_attempt_at = now
    submission.finished_at = None
    if submission.status_url is None:
        submission.queued_at = now
    else:
        submission.sent_at = now


async def _check_sendable(session: AsyncSession, *, report: Report, patient: Patient) -> None:
    """409 `NotSubmittable` naming everything that stops the report: what its bundle lacks
    (`report_bundle` says), and the organization's CMS reporting settings."""
    found: list[FieldError] = []
    try:
        await report_bundle(session, report=report)
    except NotSubmittable as exc:
        found.extend(exc.fields or ())
    organization = await session.get(Organization, patient.organization_id)
    assert organization is not None
    if organization.cms_base_url is None or organization.cms_client_secret is None:
        found.append(
            FieldError(
                path="organization.cms_reporting",
                message="the organization has no CMS reporting settings (cms_reporting)",
            )
        )
    if found:
        raise NotSubmittable(found)


async def set_status(
    session: AsyncSession, *, report: Report, status: str, code: str | None, message: str | None
) -> None:
    """Move the report's status (and CMS's result), with its webhook."""
    report.status = status
    report.result_code = code
    report.result_message = message
    patient_organization = await session.scalar(
        select(Patient.organization_id).where(Patient.id == report.patient_id)
    )
    assert patient_organization is not None
    await webhook_events.emit(
        session,
        organization_id=patient_organization,
        event="report.status_changed",
        data={
            "report_id": str(report.id),
            "patient_id": str(report.patient_id),
            "enrollment_id": str(report.enrollment_id),
            "type": report.type,
            "status": status,
            **({"result_code": code} if code is not None else {}),
        },
    )
