"""Reports for CMS: prepared by staff for a window and a report date, then frozen.

Invariants (docs/api.md "Care periods and the ACCESS reporting calendar"):
- a report date is the patient's local day, never in the future, and inside its window
  (`calendar.window_for`: 422 `WindowNotOpen` / `WindowClosed` naming the window's dates);
- its values are chosen by the data rules on the report date (`snapshot.compose`) from the data
  stored then, and kept with the ids of what they used; nothing written later changes them;
- one report per (care period, type, report date): asking again answers the stored one (a retry
  never makes two); only an incomplete report still `prepared` is prepared again in place, so a
  gap filled the same day can be reported;
- a disenrolled period takes no new report (409); every read and write is audited.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.auth.principal import Principal
from app.clock import local_today
from app.db import upsert_insert
from app.errors import Conflict, FieldError, Invalid, NotFound
from app.outcomes.archive import frozen, reports_of
from app.outcomes.calendar import WindowProblem, window_for
from app.outcomes.evaluation import Subject
from app.outcomes.loading import load_points
from app.outcomes.models import Report
from app.outcomes.rules import Ruleset
from app.outcomes.schemas import ReportCreate, ReportedMeasure, ReportRead
from app.outcomes.snapshot import compose
from app.outcomes.standing import baselines_of
from app.outcomes.touch import touch
from app.pagination import Page, keyset_page
from app.patients import enrollments as enrollments_service
from app.patients.models import Enrollment, Patient
from app.webhooks import events as webhook_events

_audit = audit_service.Trail("report")


def to_read(report: Report) -> ReportRead:
    return ReportRead(
        id=report.id,
        patient_id=report.patient_id,
        enrollment_id=report.enrollment_id,
        track=report.track,
        type=report.type,
        report_date=report.report_date,
        complete=report.complete,
        missing=report.missing,
        measures=[ReportedMeasure.model_validate(m) for m in report.measures],
        attained=report.attained,
        status=report.status,
        result_code=report.result_code,
        result_message=report.result_message,
        rules_version=report.rules_version,
        created_at=report.created_at,
    )


def _window_error(problem: WindowProblem) -> Invalid:
    return Invalid(
        problem.detail,
        error=problem.error,
        fields=[FieldError(path="report_date", message=problem.detail)],
    )


async def prepare(
    session: AsyncSession,
    *,
    principal: Principal,
    patient: Patient,
    rules: Ruleset,
    body: ReportCreate,
) -> tuple[ReportRead, bool]:
    """Prepare (or answer the stored) report; the flag says whether it was made now."""
    enrollment = await enrollments_service.owned(
        session, patient=patient, enrollment_id=body.enrollment_id
    )
    if enrollment.ended_at is not None:
        raise Conflict("The care period was disenrolled; it takes no new report.")
    today = local_today(patient.timezone)
    report_date = body.report_date or today
    if report_date > today:
        message = f"report_date must not be after today ({today.isoformat()} for the patient)"
        raise Invalid(
            f"Invalid report: {message}.",
            fields=[FieldError(path="report_date", message=message)],
        )
    subject = Subject(patient, enrollment)
    period = subject.period()
    ids = [enrollment.id, *([enrollment.previous_id] if enrollment.previous_id else [])]
    reports = await reports_of(session, enrollment_ids=ids)
    own = reports[enrollment.id]
    window = window_for(
        period, rules=rules, reports=own, report_type=body.type, report_date=report_date
    )
    if isinstance(window, WindowProblem):
        raise _window_error(window)
    stored = await session.scalar(
        select(Report).where(
            Report.enrollment_id == enrollment.id,
            Report.type == body.type,
            Report.report_date == report_date,
        )
    )
    if stored is not None and (stored.complete or stored.status != "prepared"):
        _audit(session, principal=principal, patient=patient, action="read", resource_id=stored.id)
        return to_read(stored), False
    points = await load_points(session, rules=rules, enrollments=[enrollment], today=report_date)
    sources = points[enrollment.id]
    previous = reports[enrollment.previous_id] if enrollment.previous_id else []
    finals = [r for r in previous if r.type == "end_of_period" and r.complete]
    baselines = baselines_of(
        period,
        rules=rules,
        sources=sources,
        reports=[r for r in own if r.report_date <= report_date],
        inherited=max(finals, key=lambda r: r.report_date) if finals else None,
        today=report_date,
    )
    snapshot = compose(
        period,
        rules=rules,
        report_type=body.type,
        report_date=report_date,
        sources=sources,
        baselines=baselines,
    )
    values: dict[str, Any] = {
        "complete": snapshot.complete,
        "missing": list(snapshot.missing),
        "measures": frozen(snapshot),
        "attained": snapshot.attained,
        "rules_version": rules.version,
        "created_by": principal.id,
    }
    touch(session, patient.id)
    if stored is not None:
        for name, value in values.items():
            setattr(stored, name, value)
        await session.flush()
        _audit(
            session, principal=principal, patient=patient, action="update", resource_id=stored.id
        )
        return to_read(stored), False
    report_id = await _insert(session, patient=patient, enrollment=enrollment, body=body,
                              report_date=report_date, values=values)  # fmt: skip
    report = await session.get(Report, report_id)
    assert report is not None
    _audit(session, principal=principal, patient=patient, action="create", resource_id=report.id)
    await webhook_events.emit(
        session,
        organization_id=patient.organization_id,
        event="report.status_changed",
        data={
            "report_id": str(report.id),
            "patient_id": str(patient.id),
            "enrollment_id": str(enrollment.id),
            "type": report.type,
            "status": report.status,
        },
    )
    return to_read(report), True


async def _insert(
    session: AsyncSession,
    *,
    patient: Patient,
    enrollment: Enrollment,
    body: ReportCreate,
    report_date: date,
    values: dict[str, Any],
) -> uuid.UUID:
    """Insert the report unless a concurrent request just did; the id of the stored one."""
    report_id = uuid.uuid4()
    statement = (
        upsert_insert(session)(Report)
        .values(
            id=report_id,
            patient_id=patient.id,
            enrollment_id=enrollment.id,
            track=enrollment.track,
            type=body.type,
            report_date=report_date,
            status="prepared",
            **values,
        )
        .on_conflict_do_nothing()
        .returning(Report.id)
    )
    inserted: uuid.UUID | None = await session.scalar(statement)
    if inserted is not None:
        return inserted
    existing = await session.scalar(
        select(Report.id).where(
            Report.enrollment_id == enrollment.id,
            Report.type == body.type,
            Report.report_date == report_date,
        )
    )
    assert existing is not None
    return existing


async def list_reports(
    session: AsyncSession,
    *,
    principal: Principal,
    patient: Patient,
    limit: int,
    cursor: str | None,
) -> Page[ReportRead]:
    """The patient's reports, newest first."""
    reports, next_cursor = await keyset_page(
        session,
        statement=select(Report).where(Report.patient_id == patient.id),
        time_column=Report.created_at,
        id_column=Report.id,
        limit=limit,
        cursor=cursor,
    )
    _audit(session, principal=principal, patient=patient, action="read")
    return Page(items=[to_read(r) for r in reports], next_cursor=next_cursor)


async def get_report(
    session: AsyncSession, *, principal: Principal, patient: Patient, report_id: uuid.UUID
) -> ReportRead:
    report = await session.scalar(
        select(Report).where(Report.id == report_id, Report.patient_id == patient.id)
    )
    if report is None:
        raise NotFound("No such report.")
    _audit(session, principal=principal, patient=patient, action="read", resource_id=report.id)
    return to_read(report)
