"""A patient's progress toward the outcome targets, as the API shows it (docs/api.md "Progress
toward outcome targets").

Invariants: one item per active enrollment, evaluated on one report date (default: the
patient's local today); every answer names the ruleset version that produced it; each value
keeps the ids of the readings or check-ins it is made of (lineage); the read is audited.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.auth.principal import Principal
from app.clock import local_today
from app.outcomes.evaluation import Evaluated, active_subjects, evaluate_subjects
from app.outcomes.observations import Value
from app.outcomes.rules import MeasureRule, Ruleset
from app.outcomes.schemas import (
    CarePeriodRead,
    EnrollmentProgress,
    MeasuredValue,
    MeasureProgressRead,
    PatientProgress,
)
from app.patients.models import Patient


def _value(
    value: Value | None, *, rule: MeasureRule, height_cm: float | None
) -> MeasuredValue | None:
    if value is None:
        return None
    bmi = None
    if rule.name == "weight" and height_cm:
        bmi = round(value.value / (height_cm / 100) ** 2, 1)
    return MeasuredValue(
        value=value.value,
        at=value.at,
        n=value.n,
        source="checkins" if rule.from_checkins else "readings",
        source_ids=list(value.ids),
        diastolic=value.secondary,
        bmi=bmi,
        components=value.components or None,
    )


def to_read(evaluated: Evaluated, *, rules: Ruleset) -> EnrollmentProgress:
    subject = evaluated.subject
    period = subject.period()
    height = subject.patient.height_cm
    measures = []
    for p in evaluated.progress:
        rule = rules.measure(p.measure)
        measures.append(
            MeasureProgressRead(
                measure=p.measure,
                label=rule.label,
                applicable=p.applicable,
                status=p.status,
                baseline=_value(p.baseline, rule=rule, height_cm=height),
                current=_value(p.current, rule=rule, height_cm=height),
                target=p.target,
                projected=p.projected,
                needed=p.needed,
            )
        )
    return EnrollmentProgress(
        enrollment_id=subject.enrollment.id,
        track=subject.enrollment.track,
        care_period=CarePeriodRead(
            start=period.start, end=period.end, day=period.day(evaluated.as_of)
        ),
        attained=evaluated.attained,
        measures=measures,
    )


async def patient_progress(
    session: AsyncSession,
    *,
    principal: Principal,
    patient: Patient,
    rules: Ruleset,
    as_of: date | None,
) -> PatientProgress:
    """Where the patient stands against each outcome target, per active enrollment."""
    subjects = await active_subjects(session, patients=[patient])
    day = as_of or local_today(patient.timezone)
    evaluated = await evaluate_subjects(session, rules=rules, subjects=subjects, as_of=day)
    audit_service.record_patient(
        session,
        principal=principal,
        patient=patient,
        action="read",
        resource_type="progress",
    )
    return PatientProgress(
        patient_id=patient.id,
        as_of=day,
        rules_version=rules.version,
        items=[to_read(e, rules=rules) for e in evaluated],
    )
