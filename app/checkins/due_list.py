"""What a patient should answer on their local today: the schedule's rules (`schedule.py`) over
the patient's care periods, scorable check-ins and open reporting windows.

Invariants:
- the reporting windows are the patient's stored `window_standings` rows (written in the
  transaction of every change to a window, a report included), read by patient and judged open
  on today's date here, so a row stored before a window opened still counts;
- each item names the version already used in its care period (the version is fixed within a
  period), else the catalog's;
- the read is audited in the same session.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import cast

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.auth.principal import Principal
from app.checkins import schedule
from app.checkins.instruments import CATALOG
from app.checkins.models import Checkin
from app.checkins.schemas import DueItem, DueList
from app.checkins.service import RESOURCE, care_periods
from app.clock import local_date, utcnow
from app.outcomes.models import WindowStanding
from app.outcomes.rules import ReportType, Ruleset
from app.patients.models import Patient

_audit = audit_service.Trail(RESOURCE)


async def _report_windows(
    session: AsyncSession,
    *,
    rules: Ruleset,
    patient_id: uuid.UUID,
    periods: list[schedule.CarePeriod],
    today: date,
) -> list[schedule.ReportWindow]:
    """The patient's reporting windows open on `today` without a complete report, with the
    check-ins each report needs."""
    by_id = {p.enrollment_id: p for p in periods}
    rows = await session.execute(
        select(
            WindowStanding.enrollment_id,
            WindowStanding.type,
            WindowStanding.opens,
            WindowStanding.closes,
        ).where(
            WindowStanding.patient_id == patient_id,
            WindowStanding.status != "reported",
            WindowStanding.opens <= today,
            WindowStanding.closes >= today,
        )
    )
    found: list[schedule.ReportWindow] = []
    for enrollment_id, kind, opens, closes in rows.all():
        period = by_id.get(enrollment_id)
        if period is None:
            continue
        report_type = cast("ReportType", kind)
        if report_type == "end_of_period":
            # Asked for from the validity's span before the regular end of the period, not
            # from the early-success day: patients are not asked every 15 days for half a
            # year; an early report is the care team's call, made with check-ins they ask for.
            regular = rules.calendar.date_of(period.start, rules.calendar.end_of_period_opens_day)
            opens = max(opens, regular - timedelta(days=rules.windows.observation_days - 1))
            if opens > today:
                continue
        instruments = schedule.report_instruments(rules, period=period, report_type=report_type)
        found.append(schedule.ReportWindow(enrollment_id, report_type, opens, closes, instruments))
    return found


async def due(
    session: AsyncSession,
    *,
    principal: Principal,
    patient: Patient,
    rules: Ruleset,
    now: datetime | None = None,
) -> DueList:
    """What the patient should answer on their local today (see `schedule` for the rules)."""
    today = local_date(now or utcnow(), zone=patient.timezone)
    periods = await care_periods(session, patient_id=patient.id)
    windows = await _report_windows(
        session, rules=rules, patient_id=patient.id, periods=periods, today=today
    )
    since = min((p.start for p in periods), default=today)
    done = (
        await session.execute(
            select(Checkin.instrument, Checkin.local_date).where(
                Checkin.patient_id == patient.id,
                Checkin.scorable.is_(True),
                or_(
                    and_(Checkin.instrument != "daily", Checkin.local_date >= since),
                    and_(Checkin.instrument == "daily", Checkin.local_date == today),
                ),
            )
        )
    ).all()
    items = schedule.due_on(
        today,
        periods=periods,
        history=[schedule.Done(i, d) for i, d in done],
        windows=windows,
        validity_days=rules.windows.observation_days,
    )
    pinned = await _pinned_versions(session, patient.id, periods)
    _audit(session, principal=principal, patient=patient, action="read")
    return DueList(
        today=today,
        timezone=patient.timezone,
        items=[
            DueItem.model_validate(
                {
                    "instrument": item.instrument,
                    "version": pinned.get(
                        (item.instrument, item.enrollment_id), CATALOG[item.instrument].version
                    ),
                    "title": CATALOG[item.instrument].title,
                    "due_since": item.due_since,
                    "overdue": item.overdue,
                    "reason": item.reason,
                    "enrollment_id": item.enrollment_id,
                }
            )
            for item in items
        ],
    )


async def _pinned_versions(
    session: AsyncSession, patient_id: uuid.UUID, periods: list[schedule.CarePeriod]
) -> dict[tuple[str, uuid.UUID | None], str]:
    """(instrument, enrollment) -> the version already used in that care period."""
    if not periods:
        return {}
    rows = await session.execute(
        select(Checkin.instrument, Checkin.enrollment_id, Checkin.version)
        .where(
            Checkin.patient_id == patient_id,
            Checkin.enrollment_id.in_([p.enrollment_id for p in periods]),
        )
        .distinct()
    )
    return {(code, enrollment_id): version for code, enrollment_id, version in rows.all()}
