"""The reporting calendar as the API shows it: per patient, and the organization's worklist.

Invariants: windows and their needs come from `evaluation` (so they agree with progress and
with a report prepared today); a patient's windows are judged on the patient's local today;
disenrolled periods have no windows; the worklist reads the stored windows (`stored.py`) of
the organization's shown periods that are open, due soon or missed, and the care-coordination
updates not sent in the same statuses (`app/care_updates/worklist.py`), merged in one order:
the day they close, then patient, period, type and the update's id, so pages are stable; a page
is two indexed queries of at most `limit` + 1 rows each, and every patient shown is audited.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.auth.principal import Principal
from app.care_updates import worklist as care_updates_worklist
from app.clock import local_today
from app.outcomes.evaluation import Evaluated, current_subjects, evaluate_subjects
from app.outcomes.models import WindowStanding
from app.outcomes.rules import REPORT_TYPES, Ruleset, Track
from app.outcomes.schemas import (
    PatientReporting,
    PeriodReporting,
    WindowRead,
    WindowStatus,
    WorklistItem,
)
from app.outcomes.standing import WindowNeeds
from app.pagination import Page, decode_cursor, encode_cursor, invalid_cursor
from app.patients.models import Patient

_audit = audit_service.Trail("reporting")
WORKLIST_STATUSES: tuple[WindowStatus, ...] = ("open", "due_soon", "missed")


def _window(needs: WindowNeeds) -> WindowRead:
    state = needs.state
    return WindowRead(
        type=state.window.type,
        opens=state.window.opens,
        closes=state.window.closes,
        status=state.status,
        report_id=state.report.id if state.report else None,
        needed=needs.needed,
    )


def _period(evaluated: Evaluated) -> PeriodReporting:
    standing = evaluated.standing
    return PeriodReporting(
        enrollment_id=evaluated.subject.enrollment.id,
        track=standing.period.track,
        status=standing.status,
        control_group=standing.period.control_group,
        day=standing.day,
        windows=[_window(w) for w in standing.windows],
    )


async def patient_reporting(
    session: AsyncSession, *, principal: Principal, patient: Patient, rules: Ruleset
) -> PatientReporting:
    """Every reporting window of the patient's care periods, with what each still needs."""
    subjects = await current_subjects(session, patients=[patient], rules=rules)
    evaluated = await evaluate_subjects(session, rules=rules, subjects=subjects)
    _audit(session, principal=principal, patient=patient, action="read")
    return PatientReporting(
        patient_id=patient.id,
        today=local_today(patient.timezone),
        rules_version=rules.version,
        items=[_period(e) for e in evaluated],
    )


def _after(cursor: str) -> care_updates_worklist.Key:
    """The key a worklist cursor holds: a closing day, a patient, a period, a type and, for a
    care-coordination update, its id (a cursor of four values is an earlier window's)."""
    values = decode_cursor(cursor)
    if len(values) == 4:
        values.append("")
    if len(values) != 5:
        raise invalid_cursor()
    closes, patient_id, enrollment_id, kind, ref = values
    try:
        after = (
            date.fromisoformat(closes),
            uuid.UUID(patient_id),
            uuid.UUID(enrollment_id),
            kind,
            str(uuid.UUID(ref)) if kind == care_updates_worklist.TYPE else ref,
        )
    except ValueError:
        raise invalid_cursor() from None
    window = kind in REPORT_TYPES and ref == ""
    if not (window or kind == care_updates_worklist.TYPE) or len(closes) != len("YYYY-MM-DD"):
        raise invalid_cursor()
    return after


async def _windows(
    session: AsyncSession,
    *,
    principal: Principal,
    track: Track | None,
    statuses: tuple[WindowStatus, ...],
    after: care_updates_worklist.Key | None,
    limit: int,
) -> list[WorklistItem]:
    """Up to `limit` stored windows of the organization in `statuses`, after `after`."""
    w = WindowStanding
    statement = (
        select(w, Patient.given_name, Patient.family_name)
        .join(Patient, Patient.id == w.patient_id)
        .where(w.organization_id == principal.organization_id, w.status.in_(statuses))
    )
    if track is not None:
        statement = statement.where(w.track == track)
    if after is not None:
        # A window's key has no id: after an update's key, its type decides on its own.
        closes, patient_id, enrollment_id, report_type, _ = after
        statement = statement.where(
            tuple_(w.closes, w.patient_id, w.enrollment_id, w.type)
            > tuple_(closes, patient_id, enrollment_id, report_type)
        )
    statement = statement.order_by(w.closes, w.patient_id, w.enrollment_id, w.type)
    rows = (await session.execute(statement.limit(limit))).all()
    return [
        WorklistItem(
            patient_id=row.patient_id,
            patient_name=f"{given} {family}",
            enrollment_id=row.enrollment_id,
            track=row.track,
            type=row.type,
            opens=row.opens,
            closes=row.closes,
            status=row.status,
            report_id=row.report_id,
            needed=row.needed,
        )
        for row, given, family in rows
    ]


async def worklist(
    session: AsyncSession,
    *,
    principal: Principal,
    track: Track | None,
    status: WindowStatus | None,
    limit: int,
    cursor: str | None,
) -> Page[WorklistItem]:
    """The organization's reporting windows and care-coordination updates to act on, soonest
    closing first, from stored rows: a page costs the same in any organization size."""
    after = _after(cursor) if cursor is not None else None
    statuses = (status,) if status else WORKLIST_STATUSES
    windows = await _windows(
        session, principal=principal, track=track, statuses=statuses, after=after, limit=limit + 1
    )
    updates = await care_updates_worklist.page(
        session,
        organization_id=principal.organization_id,
        track=track,
        statuses=statuses,
        after=after,
        limit=limit + 1,
    )
    items = sorted([*windows, *updates], key=care_updates_worklist.key)[: limit + 1]
    page = items[:limit]
    audit_service.record_many(
        session,
        principal=principal,
        organization_id=principal.organization_id,
        patient_ids=sorted({i.patient_id for i in page}),
        action="read",
        resource_type="reporting",
    )
    more = len(items) > limit
    last = care_updates_worklist.key(page[-1]) if more else None
    return Page(items=page, next_cursor=encode_cursor(last) if last else None)
