"""Each care period's standing kept in the database, so the population views read rows instead
of evaluating every period on every request (docs/architecture.md "Stored standing").

Invariants:
- rows are written only by `refresh`, from `evaluation.evaluate_subjects` (the code a patient's
  progress uses) on each patient's local today, so a stored row equals a fresh evaluation of the
  day it names;
- `refresh` runs in the transaction of every write that changes a standing (services `touch`
  the patient; `refresh_touched` runs before the commit), and, for what the date alone changes,
  in the worker once `due_at` has passed (`worker.py`);
- `due_at` is the patient's next local midnight while any of their periods can still change
  with the date (an open or coming window, data ageing out, the care-period day); a period whose
  end-of-period window has closed changes again only when it leaves the views; a patient with
  nothing left to change is never due; it is never later than the next day on which the date
  alone opens or ends a `no_data` or `report_due` alert (`alerts.standing.next_change`);
- `refresh` opens and ends those alerts (`alerts.service.sync_standing`) in its transaction,
  from the same evaluation, before the need score counts the open alerts;
- the patient's row is locked (created if missing) before anything is read, so two
  transactions refreshing one patient run one after the other and the later sees the earlier's
  data; every patient has a row, disenrolled periods have none.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts import queries as alerts_queries
from app.alerts import service as alerts_service
from app.alerts import standing as alert_rules
from app.clock import utcnow
from app.db import Base, upsert_insert
from app.outcomes import need as need_rules
from app.outcomes.evaluation import Evaluated, Subject, evaluate_subjects
from app.outcomes.models import PatientStanding, PeriodStanding, WindowStanding
from app.outcomes.rules import Ruleset
from app.outcomes.snapshot import required
from app.outcomes.standing import Standing
from app.outcomes.targets import least_advanced
from app.outcomes.touch import take_touched
from app.outcomes.values import HEIGHT
from app.patients.models import Enrollment, Patient

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # a placeholder row is due at once


def keys(values: Collection[str]) -> str:
    """A filter key: ",a,b," (sorted), so `LIKE '%,a,%'` finds a value on any database."""
    return "," + "".join(f"{v}," for v in sorted(values)) if values else ","


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _detail(standing: Standing) -> dict[str, Any]:
    nxt = standing.next_window
    state = next((w.state for w in standing.windows if nxt and w.state.window == nxt), None)
    return {
        "statuses": sorted(standing.statuses),
        "measures": [
            {
                "measure": m.rule.name,
                "applicable": m.applicable,
                "status": m.status,
                "baseline": m.baseline.value.value if m.baseline else None,
                "current": m.current.value if m.current else None,
                "projected": m.projected,
            }
            for m in standing.measures
        ],
        "next_window": None
        if nxt is None or state is None
        else {
            "type": nxt.type,
            "opens": nxt.opens.isoformat(),
            "closes": nxt.closes.isoformat(),
            "status": state.status,
        },
    }


def complete(standing: Standing, *, rules: Ruleset) -> tuple[bool, bool]:
    """Whether every baseline the baseline report needs is known, and whether every applicable
    target measure has a current value by the data rules."""
    known = {m.rule.name for m in standing.measures if m.baseline is not None}
    needed = {r.name for r in required(standing.period, rules=rules, report_type="baseline")}
    current = all(
        m.current is not None for m in standing.measures if m.applicable and m.rule.kind == "target"
    )
    return needed <= known, current


def shown(standing: Standing, *, rules: Ruleset) -> bool:
    """Whether the period shows in the panel and the worklist on its day."""
    return standing.today <= rules.calendar.shown_until(standing.period.start)


def period_values(e: Evaluated, *, rules: Ruleset, last_data_on: date | None) -> dict[str, Any]:
    """The stored row of one evaluated (not disenrolled) care period."""
    standing, enrollment = e.standing, e.subject.enrollment
    end = standing.end_of_period
    assert end is not None  # disenrolled periods are not stored
    baseline_complete, current_complete = complete(standing, rules=rules)
    reported = end.status == "reported"
    return {
        "enrollment_id": enrollment.id,
        "patient_id": e.subject.patient.id,
        "organization_id": e.subject.patient.organization_id,
        "track": standing.period.track,
        "period_kind": standing.period.kind,
        "start_date": standing.period.start,
        "control_group": standing.period.control_group,
        "evaluated_on": standing.today,
        "shown": shown(standing, rules=rules),
        "status": standing.status,
        "outcome_status": least_advanced(standing.statuses),
        "attained": standing.attained,
        "projected": standing.projected,
        "end_closed": reported or standing.today > end.window.closes,
        "end_reported": reported,
        "baseline_complete": baseline_complete,
        "current_complete": current_complete,
        "last_data_on": last_data_on,
        "detail": _detail(standing),
    }


def window_values(e: Evaluated) -> list[dict[str, Any]]:
    """The stored worklist rows of one shown care period: each of its windows."""
    patient = e.subject.patient
    return [
        {
            "enrollment_id": e.subject.enrollment.id,
            "type": w.state.window.type,
            "opens": w.state.window.opens,
            "patient_id": patient.id,
            "organization_id": patient.organization_id,
            "track": e.standing.period.track,
            "closes": w.state.window.closes,
            "status": w.state.status,
            "report_id": w.state.report.id if w.state.report else None,
            "needed": list(w.needed),
        }
        for w in e.standing.windows
    ]


def changes_on(standing: Standing, *, rules: Ruleset) -> date | None:
    """The next local day on which the date alone may change the period's standing."""
    end = standing.end_of_period
    if end is None:
        return None
    if standing.today > end.window.closes:
        last_shown = rules.calendar.shown_until(standing.period.start)
        return last_shown + timedelta(days=1) if standing.today <= last_shown else None
    return standing.today + timedelta(days=1)


def _local_midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def alert_periods(evaluated: Sequence[tuple[Evaluated, date | None]]) -> list[alert_rules.Period]:
    """The periods as the date-driven alert rules read them."""
    return [
        alert_rules.Period(e.subject.enrollment.id, e.standing, e.sources) for e, _ in evaluated
    ]


def patient_values(
    patient: Patient,
    evaluated: Sequence[tuple[Evaluated, date | None]],
    *,
    rules: Ruleset,
    open_alerts: dict[str, int],
    now: datetime,
) -> dict[str, Any]:
    """The panel row of a patient: their shown periods summed up, need, and when it is due."""
    current = [(e, last) for e, last in evaluated if shown(e.standing, rules=rules)]
    statuses = {s for e, _ in current for s in e.standing.statuses}
    need = need_rules.need_of(
        [(e.standing, last) for e, last in current], rules=rules, open_alerts=open_alerts
    )
    due_days = [d for e, _ in evaluated if (d := changes_on(e.standing, rules=rules))]
    if alert_day := alert_rules.next_change(alert_periods(evaluated), rules=rules):
        due_days.append(alert_day)
    return {
        "patient_id": patient.id,
        "organization_id": patient.organization_id,
        "family_key": patient.family_name.lower(),
        "given_key": patient.given_name.lower(),
        "evaluated_at": now,
        "due_at": _local_midnight(min(due_days), patient.timezone) if due_days else None,
        "outcome_status": least_advanced(statuses),
        "tracks": keys({e.standing.period.track for e, _ in current}),
        "statuses": keys(statuses),
        "need_codes": keys({r.code for r in need.reasons}),
        "need_score": need.score,
        "need_rank": -need.score,
        "need": [
            {"code": r.code, "points": r.points, "text": r.text, "track": r.track}
            for r in need.reasons
        ],
        "open_urgent_alerts": open_alerts.get("urgent", 0),
        "open_warning_alerts": open_alerts.get("warning", 0),
        "periods": [
            {
                "enrollment_id": str(e.subject.enrollment.id),
                "track": e.standing.period.track,
                "start_date": e.standing.period.start.isoformat(),
                "status": e.standing.status,
            }
            for e, _ in current
        ],
        "rules_version": rules.version,
    }


async def add_placeholders(session: AsyncSession, *, patient_ids: Sequence[uuid.UUID]) -> None:
    """Give the patients without a row one, due at once (the worker evaluates it)."""
    if not patient_ids:
        return
    placeholder: list[dict[str, Any]] = [
        {
            "patient_id": pid,
            "organization_id": organization_id,
            "family_key": "",
            "given_key": "",
            "evaluated_at": EPOCH,
            "due_at": EPOCH,
            "outcome_status": None,
            "tracks": ",",
            "statuses": ",",
            "need_codes": ",",
            "need_score": 0,
            "need_rank": 0,
            "need": [],
            "open_urgent_alerts": 0,
            "open_warning_alerts": 0,
            "periods": [],
            "rules_version": "",
        }
        for pid, organization_id in await session.execute(
            select(Patient.id, Patient.organization_id).where(
                Patient.id.in_(patient_ids),
                Patient.id.not_in(
                    select(PatientStanding.patient_id).where(
                        PatientStanding.patient_id.in_(patient_ids)
                    )
                ),
            )
        )
    ]
    if placeholder:
        await session.execute(
            upsert_insert(session)(PatientStanding).on_conflict_do_nothing(), placeholder
        )


async def _lock(session: AsyncSession, patient_ids: Sequence[uuid.UUID]) -> None:
    """Create missing patient rows, then lock the rows in id order."""
    await add_placeholders(session, patient_ids=patient_ids)
    await session.execute(
        select(PatientStanding.patient_id)
        .where(PatientStanding.patient_id.in_(patient_ids))
        .order_by(PatientStanding.patient_id)
        .with_for_update()
    )


def _table(model: type[Base]) -> Table:
    return cast("Table", model.__table__)


@dataclass(frozen=True, slots=True)
class Rows:
    """What `refresh` writes for some patients: their periods', windows' and panel rows."""

    periods: list[dict[str, Any]]
    windows: list[dict[str, Any]]
    patients: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class _Evaluation:
    patients: dict[uuid.UUID, Patient]
    by_patient: dict[uuid.UUID, list[tuple[Evaluated, date | None]]]


async def _evaluation(
    session: AsyncSession, *, rules: Ruleset, patient_ids: Sequence[uuid.UUID]
) -> _Evaluation:
    patients = {
        p.id: p
        for p in await session.scalars(
            select(Patient)
            .where(Patient.id.in_(patient_ids))
            .execution_options(populate_existing=True)
        )
    }
    enrollments = await session.scalars(
        select(Enrollment)
        .where(Enrollment.patient_id.in_(patient_ids), Enrollment.ended_at.is_(None))
        .order_by(Enrollment.start_date, Enrollment.id)
        .execution_options(populate_existing=True)
    )
    subjects = [Subject(patients[e.patient_id], e) for e in enrollments]
    evaluated = await evaluate_subjects(session, rules=rules, subjects=subjects)
    by_patient: dict[uuid.UUID, list[tuple[Evaluated, date | None]]] = defaultdict(list)
    for e in evaluated:
        last = need_rules.last_data_day(e.standing.period, rules=rules, sources=e.sources)
        by_patient[e.subject.patient.id].append((e, last))
    return _Evaluation(patients, by_patient)


async def _rows(
    session: AsyncSession, *, rules: Ruleset, patient_ids: Sequence[uuid.UUID], found: _Evaluation
) -> Rows:
    alerts = await alerts_queries.open_counts(session, patient_ids=patient_ids)
    rows = Rows([], [], [])
    for pid in patient_ids:
        for e, last in found.by_patient.get(pid, []):
            rows.periods.append(period_values(e, rules=rules, last_data_on=last))
            if shown(e.standing, rules=rules):
                rows.windows.extend(window_values(e))
    now = utcnow()
    rows.patients.extend(
        patient_values(
            found.patients[pid],
            found.by_patient.get(pid, []),
            rules=rules,
            open_alerts=alerts.get(pid, {}),
            now=now,
        )
        for pid in patient_ids
        if pid in found.patients
    )
    return rows


async def evaluate(
    session: AsyncSession, *, rules: Ruleset, patient_ids: Sequence[uuid.UUID]
) -> Rows:
    """The rows the patients' standings are on their local today; nothing is written."""
    found = await _evaluation(session, rules=rules, patient_ids=patient_ids)
    return await _rows(session, rules=rules, patient_ids=patient_ids, found=found)


async def sync_alerts(
    session: AsyncSession, *, rules: Ruleset, patient_ids: Sequence[uuid.UUID], found: _Evaluation
) -> None:
    """Open and end the patients' date-driven alerts (`no_data`, `report_due`) to match their
    evaluated periods."""
    since = utcnow() - timedelta(days=rules.recent_days)
    ongoing, resolved = await alerts_service.standing_alerts(
        session, patient_ids=patient_ids, since=since
    )
    for pid in patient_ids:
        patient = found.patients.get(pid)
        if patient is None:
            continue
        zone = patient.timezone
        wanted = alert_rules.wanted(
            alert_periods(found.by_patient.get(pid, [])),
            rules=rules,
            zone=zone,
            resolved_on=alerts_service.resolved_days(resolved.get(pid, {}), zone),
        )
        await alerts_service.sync_standing(
            session,
            patient=patient,
            wanted=wanted,
            ongoing=ongoing.get(pid, []),
            resolved=resolved.get(pid, {}),
        )


async def refresh(
    session: AsyncSession, *, rules: Ruleset, patient_ids: Collection[uuid.UUID]
) -> None:
    """Re-evaluate the patients' care periods, bring their date-driven alerts in line, and
    rewrite their stored rows."""
    ids = sorted(set(patient_ids))
    if not ids:
        return
    await session.flush()
    await _lock(session, ids)
    found = await _evaluation(session, rules=rules, patient_ids=ids)
    await sync_alerts(session, rules=rules, patient_ids=ids, found=found)
    rows = await _rows(session, rules=rules, patient_ids=ids, found=found)
    await session.execute(delete(WindowStanding).where(WindowStanding.patient_id.in_(ids)))
    await session.execute(delete(PeriodStanding).where(PeriodStanding.patient_id.in_(ids)))
    # Core statements on the tables: one multi-row INSERT per few hundred rows, where the ORM's
    # bulk path sent a statement per row (the worker's pass is mostly these writes otherwise).
    if rows.periods:
        await session.execute(insert(_table(PeriodStanding)), rows.periods)
    if rows.windows:
        await session.execute(insert(_table(WindowStanding)), rows.windows)
    if rows.patients:
        statement = upsert_insert(session)(_table(PatientStanding))
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[PatientStanding.patient_id],
                set_={c: statement.excluded[c] for c in rows.patients[0] if c != "patient_id"},
            ),
            rows.patients,
        )


def _read_types(rules: Ruleset) -> set[str]:
    """The reading types some rule reads: the measures' sources, and height (BMI)."""
    return {source for m in rules.measures for source in m.sources} | {HEIGHT}


async def refresh_touched(session: AsyncSession, *, rules: Ruleset) -> None:
    """Refresh the patients this session's writes touched (before its commit)."""
    touched = take_touched(session, read=_read_types(rules))
    if touched:
        await refresh(session, rules=rules, patient_ids=touched)
