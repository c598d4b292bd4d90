"""A patient's progress toward the outcome targets, as the API shows it (docs/api.md "Progress
toward outcome targets" and its refinement under "Care periods and the ACCESS reporting
calendar").

Invariants: one item per care period that still matters (not disenrolled, end-of-period window
not closed), judged on one day (default: the patient's local today); every answer names the
ruleset version that produced it; each value keeps the ids of the readings or check-ins it is
made of (lineage); the read is audited.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.auth.principal import Principal
from app.clock import local_today
from app.outcomes.evaluation import Evaluated, current_subjects, evaluate_subjects
from app.outcomes.observations import Value
from app.outcomes.rules import MeasureRule, Ruleset
from app.outcomes.schemas import (
    BaselineValue,
    CarePeriodRead,
    EnrollmentProgress,
    MeasuredValue,
    MeasureProgressRead,
    PatientProgress,
    WindowRef,
)
from app.outcomes.snapshot import Baseline
from app.patients.models import Patient

_audit = audit_service.Trail("progress")


def measured(value: Value, *, rule: MeasureRule) -> MeasuredValue:
    return MeasuredValue(
        value=value.value,
        at=value.at,
        n=value.n,
        source="checkins" if rule.from_checkins else "readings",
        source_ids=list(value.ids),
        diastolic=value.secondary,
        bmi=value.bmi,
        components=value.components or None,
    )


def _baseline(baseline: Baseline | None, *, rule: MeasureRule) -> BaselineValue | None:
    if baseline is None:
        return None
    return BaselineValue(
        **measured(baseline.value, rule=rule).model_dump(),
        from_report=baseline.from_report,
        on=baseline.on,
    )


def to_read(evaluated: Evaluated) -> EnrollmentProgress:
    standing = evaluated.standing
    period = standing.period
    next_window = standing.next_window
    return EnrollmentProgress(
        enrollment_id=evaluated.subject.enrollment.id,
        track=period.track,
        status=standing.status,
        control_group=period.control_group,
        care_period=CarePeriodRead(start=period.start, end=period.end, day=standing.day),
        attained=standing.attained,
        projected=standing.projected,
        next_window=(
            WindowRef(type=next_window.type, opens=next_window.opens, closes=next_window.closes)
            if next_window
            else None
        ),
        measures=[
            MeasureProgressRead(
                measure=m.rule.name,
                label=m.rule.label,
                applicable=m.applicable,
                status=m.status,
                baseline=_baseline(m.baseline, rule=m.rule),
                current=measured(m.current, rule=m.rule) if m.current else None,
                target=m.target,
                projected=m.projected,
                needed=m.needed,
            )
            for m in standing.measures
        ],
    )


async def patient_progress(
    session: AsyncSession,
    *,
    principal: Principal,
    patient: Patient,
    rules: Ruleset,
    as_of: date | None,
) -> PatientProgress:
    """Where the patient stands against each outcome target, per care period."""
    subjects = await current_subjects(session, patients=[patient], rules=rules)
    day = as_of or local_today(patient.timezone)
    evaluated = await evaluate_subjects(session, rules=rules, subjects=subjects, today=day)
    _audit(session, principal=principal, patient=patient, action="read")
    return PatientProgress(
        patient_id=patient.id,
        as_of=day,
        rules_version=rules.version,
        items=[to_read(e) for e in evaluated],
    )
