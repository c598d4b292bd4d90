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
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts import queries as alerts_queries
from app.alerts import service as alerts_service
from app.alerts import standing as alert_rules
from app.care_updates import settle as care_updates
from app.clock import utcnow
from app.db import Base, upsert_insert
from app.outcomes import need as need_rules
from app.outcomes.evaluation import Evaluated, Subject, evaluate_subjects
from app.outcomes.models import PatientStanding, PeriodStanding, WindowStanding
from app.outcomes.rules import Ruleset
from app.outcomes.stored_rows import (
    EPOCH,
    alert_periods,
    patient_values,
    period_values,
    shown,
    window_values,
)
from app.outcomes.touch import take_touched
from app.outcomes.values import HEIGHT
from app.patients.models import Enrollment, Patient


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
    """Re-evaluate the patients' care periods, bring their date-driven alerts and their
    care-coordination updates in line, and rewrite their stored rows."""
    ids = sorted(set(patient_ids))
    if not ids:
        return
    await session.flush()
    await _lock(session, ids)
    found = await _evaluation(session, rules=rules, patient_ids=ids)
    await sync_alerts(session, rules=rules, patient_ids=ids, found=found)
    await care_updates.settle(session, rules=rules, patients=list(found.patients.values()))
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
