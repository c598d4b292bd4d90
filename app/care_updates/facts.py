"""What a care-coordination update document is made of, read from the database.

Invariants: the care period is evaluated as a patient's progress is (`evaluate_subjects`, on
the patient's local today), so the document says what progress says; the alerts are those that
began while the period ran and have not been withdrawn by the service, newest first; the
latest values are shown with the readings and check-ins they are made of, built by the /fhir
builders (`app/fhir/observations.py`, `app/fhir/questionnaires.py`), live readings only.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.models import Alert
from app.care_updates import due
from app.care_updates.schemas import CareUpdateRead
from app.care_updates.sections import AlertLine, Facts
from app.checkins.models import Checkin
from app.clock import utcnow
from app.fhir import observations, questionnaires
from app.fhir.checkin_rows import CHECKIN_ROWS
from app.organizations.models import Organization
from app.outcomes import progress
from app.outcomes.evaluation import Subject, evaluate_subjects
from app.outcomes.rules import Ruleset
from app.outcomes.schemas import EnrollmentProgress
from app.patients.models import Enrollment, Patient
from app.readings import queries as readings_queries
from app.readings.models import Reading


def _line(alert: Alert) -> AlertLine:
    return AlertLine(alert.kind, alert.severity, alert.status, alert.first_at, alert.ended_at)


async def _alerts(
    session: AsyncSession, *, patient: Patient, enrollment: Enrollment
) -> list[AlertLine]:
    begins, ends = due.span(
        due.Period(
            enrollment.id,
            enrollment.track,
            enrollment.start_date,
            enrollment.end_date,
            enrollment.ended_at,
            referred=True,
        ),
        patient.timezone,
    )
    rows = await session.scalars(
        select(Alert)
        .where(
            Alert.patient_id == patient.id,
            Alert.first_at >= begins,
            Alert.first_at < ends,
            or_(Alert.status != "resolved", Alert.resolved_by.is_not(None)),
        )
        .order_by(Alert.first_at.desc(), Alert.id.desc())
    )
    return [_line(a) for a in rows]


def _ids(evaluated: EnrollmentProgress, source: str) -> list[uuid.UUID]:
    return [
        source_id
        for m in evaluated.measures
        if m.applicable and m.current is not None and m.current.source == source
        for source_id in m.current.source_ids
    ]


async def _evidence(
    session: AsyncSession, *, patient: Patient, evaluated: EnrollmentProgress
) -> list[dict[str, Any]]:
    """The Observations and QuestionnaireResponses of the latest values shown, oldest first."""
    found: list[dict[str, Any]] = []
    reading_ids = _ids(evaluated, "readings")
    if reading_ids:
        rows = await session.execute(
            select(*readings_queries.READ_COLUMNS)
            .where(
                Reading.patient_id == patient.id,
                Reading.id.in_(reading_ids),
                Reading.deleted_at.is_(None),
            )
            .order_by(Reading.effective_at, Reading.id)
        )
        found.extend(
            observations.to_observation(readings_queries.to_read(row), patient_id=patient.id)
            for row in rows
        )
    checkin_ids = _ids(evaluated, "checkins")
    if checkin_ids:
        rows = await session.execute(
            CHECKIN_ROWS.where(
                Checkin.patient_id == patient.id, Checkin.id.in_(checkin_ids)
            ).order_by(Checkin.completed_at, Checkin.id)
        )
        found.extend(
            questionnaires.to_questionnaire_response(
                questionnaires.CheckinRow(*row), patient_id=patient.id
            )
            for row in rows
        )
    return found


async def load(
    session: AsyncSession,
    *,
    patient: Patient,
    enrollment: Enrollment,
    update: CareUpdateRead,
    rules: Ruleset,
    base: str,
) -> Facts:
    """The facts of the update's document, as of now."""
    organization = await session.get(Organization, patient.organization_id)
    assert organization is not None  # every patient belongs to one
    (evaluated,) = await evaluate_subjects(
        session, rules=rules, subjects=[Subject(patient, enrollment)]
    )
    standing = progress.to_read(evaluated)
    alerts: Sequence[AlertLine] = await _alerts(session, patient=patient, enrollment=enrollment)
    trigger = None
    if update.alert_id is not None:
        alert = await session.get(Alert, update.alert_id)
        trigger = _line(alert) if alert is not None else None
    return Facts(
        update=update,
        patient=patient,
        organization_id=organization.id,
        organization_name=organization.name,
        organization_npi=organization.npi,
        enrollment=enrollment,
        progress=standing,
        alerts=alerts,
        trigger=trigger,
        evidence=await _evidence(session, patient=patient, evaluated=standing),
        now=utcnow(),
        base=base,
    )
