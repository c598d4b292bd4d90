"""Care-coordination updates as staff see and send them (docs/api.md "Care-coordination
updates"): a care period's updates, one update's document, recording that it was sent.

Invariants:
- the updates are those `settle.py` keeps (this module never creates or deletes one); their
  status is judged on the instants their local days begin (`due.status`), so it agrees with the
  worklist at every moment;
- an update is reached through its patient (`ReachablePatient` guards: reach, then role) and
  its care period: another period's or patient's update is 404;
- recording a send is idempotent and exactly once: a conditional update sets `sent_at` and
  `sent_by` only while unset, so a retry or a concurrent request keeps the first; an update whose
  event has not happened yet cannot be sent (409);
- every read and write is audited in the request's transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.auth.principal import Principal
from app.care_updates import document as documents
from app.care_updates import due, facts
from app.care_updates.models import CareUpdate
from app.care_updates.schemas import CareUpdateList, CareUpdateRead
from app.clock import local_today, utcnow
from app.errors import Conflict, NotFound
from app.outcomes.rules import Ruleset
from app.patients import enrollments as enrollments_service
from app.patients.models import Enrollment, Patient
from app.patients.schemas import ReferringClinician

_audit = audit_service.Trail("care_update")
_audit_document = audit_service.Trail("care_update_document")


def to_read(row: CareUpdate) -> CareUpdateRead:
    return CareUpdateRead(
        id=row.id,
        patient_id=row.patient_id,
        enrollment_id=row.enrollment_id,
        track=row.track,
        kind=row.kind,
        event_at=row.event_at,
        event_on=row.event_on,
        due=row.due,
        status=due.status(
            now=utcnow(), opens_at=row.opens_at, overdue_at=row.overdue_at, sent_at=row.sent_at
        ),
        alert_id=row.alert_id,
        sent_at=row.sent_at,
        sent_by=row.sent_by,
    )


async def list_updates(
    session: AsyncSession, *, principal: Principal, patient: Patient, enrollment_id: uuid.UUID
) -> CareUpdateList:
    """The care period's updates, by due day."""
    enrollment = await enrollments_service.owned(
        session, patient=patient, enrollment_id=enrollment_id
    )
    rows = await session.scalars(
        select(CareUpdate)
        .where(CareUpdate.enrollment_id == enrollment.id)
        .order_by(CareUpdate.due, CareUpdate.event_at, CareUpdate.id)
    )
    _audit(session, principal=principal, patient=patient, action="read")
    clinician = enrollment.referring_clinician
    return CareUpdateList(
        patient_id=patient.id,
        enrollment_id=enrollment.id,
        today=local_today(patient.timezone),
        referring_clinician=ReferringClinician.model_validate(clinician) if clinician else None,
        items=[to_read(row) for row in rows],
    )


async def _owned(
    session: AsyncSession, *, patient: Patient, enrollment_id: uuid.UUID, update_id: uuid.UUID
) -> tuple[Enrollment, CareUpdate]:
    """The period and its update with this id (404 for any other)."""
    enrollment = await enrollments_service.owned(
        session, patient=patient, enrollment_id=enrollment_id
    )
    row = await session.scalar(
        select(CareUpdate)
        .where(CareUpdate.id == update_id, CareUpdate.enrollment_id == enrollment.id)
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise NotFound("No such care-coordination update.")
    return enrollment, row


async def mark_sent(
    session: AsyncSession,
    *,
    principal: Principal,
    patient: Patient,
    enrollment_id: uuid.UUID,
    update_id: uuid.UUID,
) -> CareUpdateRead:
    """Record that the update went to the referring clinician (idempotent: the first record
    stays)."""
    _, row = await _owned(
        session, patient=patient, enrollment_id=enrollment_id, update_id=update_id
    )
    now = utcnow()
    if row.sent_at is None and now < row.opens_at:
        raise Conflict(
            f"The {row.kind} update is needed from {row.event_on.isoformat()}; it cannot be sent"
            " before."
        )
    await session.execute(
        update(CareUpdate)
        .where(CareUpdate.id == row.id, CareUpdate.sent_at.is_(None))
        .values(sent_at=now, sent_by=principal.id)
        .execution_options(synchronize_session=False)
    )
    _, row = await _owned(
        session, patient=patient, enrollment_id=enrollment_id, update_id=update_id
    )
    _audit(session, principal=principal, patient=patient, action="update", resource_id=row.id)
    return to_read(row)


async def document(
    session: AsyncSession,
    *,
    principal: Principal,
    patient: Patient,
    enrollment_id: uuid.UUID,
    update_id: uuid.UUID,
    rules: Ruleset,
    base: str,
) -> dict[str, Any]:
    """The update as a FHIR document Bundle (validated), as of now."""
    enrollment, row = await _owned(
        session, patient=patient, enrollment_id=enrollment_id, update_id=update_id
    )
    found = await facts.load(
        session,
        patient=patient,
        enrollment=enrollment,
        update=to_read(row),
        rules=rules,
        base=base,
    )
    _audit_document(
        session, principal=principal, patient=patient, action="read", resource_id=row.id
    )
    return documents.document(found)
