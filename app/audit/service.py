"""The audit trail. Invariant: every read or write of patient data adds its events to the same
session (so the same transaction) as the access itself; events are never updated or deleted.
Denied requests are recorded too, after their transaction is rolled back (`app/audit/denials.py`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Select, Uuid, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEvent
from app.audit.schemas import AuditEventRead
from app.auth.principal import Principal
from app.clock import utcnow
from app.db import UTCDateTime, database_new_id
from app.middleware import request_id_var
from app.pagination import Page, keyset_page
from app.patients.models import Patient

Action = Literal["read", "create", "update", "delete"]
Outcome = Literal["success", "denied"]


def record(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID,
    patient_id: uuid.UUID,
    action: Action,
    resource_type: str,
    resource_id: uuid.UUID | None = None,
    outcome: Outcome = "success",
) -> None:
    record_many(
        session,
        principal=principal,
        organization_id=organization_id,
        patient_ids=[patient_id],
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        outcome=outcome,
    )


def record_patient(
    session: AsyncSession,
    *,
    principal: Principal,
    patient: Patient,
    action: Action,
    resource_type: str,
    resource_id: uuid.UUID | None = None,
) -> None:
    """One event for an access to `patient`'s data."""
    record(
        session,
        principal=principal,
        organization_id=patient.organization_id,
        patient_id=patient.id,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
    )


@dataclass(frozen=True, slots=True)
class Trail:
    """Records accesses to one kind of resource; a service keeps one per resource type:
    `_audit = Trail("device")`, then `_audit(session, principal=..., patient=..., action=...)`."""

    resource_type: str

    def __call__(
        self,
        session: AsyncSession,
        *,
        principal: Principal,
        patient: Patient,
        action: Action,
        resource_id: uuid.UUID | None = None,
    ) -> None:
        record_patient(
            session,
            principal=principal,
            patient=patient,
            action=action,
            resource_type=self.resource_type,
            resource_id=resource_id,
        )


def record_many(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID,
    patient_ids: Iterable[uuid.UUID],
    action: Action,
    resource_type: str,
    resource_id: uuid.UUID | None = None,
    outcome: Outcome = "success",
) -> None:
    """One event per patient touched (a list read touches each patient it shows)."""
    at = utcnow()
    request_id = request_id_var.get()
    session.add_all(
        AuditEvent(
            at=at,
            organization_id=organization_id,
            patient_id=patient_id,
            actor_id=principal.id,
            actor_role=principal.role,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            request_id=request_id,
            outcome=outcome,
        )
        for patient_id in patient_ids
    )


async def record_selected(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID,
    patient_ids: Select[Any],
    action: Action,
    resource_type: str,
) -> None:
    """One event per patient the select of patient ids names, written by the database in one
    statement (an aggregate over thousands of patients audits each without a round trip)."""
    new_id = database_new_id(session)
    chosen = patient_ids.distinct().subquery()
    rows = select(
        new_id,
        literal(utcnow(), UTCDateTime()),
        literal(organization_id, Uuid()),
        chosen.c[0],
        literal(principal.id, Uuid()),
        literal(principal.role),
        literal(action),
        literal(resource_type),
        literal(request_id_var.get()),
        literal("success"),
    )
    await session.execute(
        insert(AuditEvent).from_select(
            [
                "id",
                "at",
                "organization_id",
                "patient_id",
                "actor_id",
                "actor_role",
                "action",
                "resource_type",
                "request_id",
                "outcome",
            ],
            rows,
        )
    )


def _events(patient_id: uuid.UUID) -> Select[AuditEvent]:
    return select(AuditEvent).where(AuditEvent.patient_id == patient_id)


async def access_log(
    session: AsyncSession,
    *,
    principal: Principal,
    patient: Patient,
    limit: int,
    cursor: str | None,
) -> Page[AuditEventRead]:
    """Who read or changed the patient's data, and when; newest first."""
    events, next_cursor = await keyset_page(
        session,
        statement=_events(patient.id),
        time_column=AuditEvent.at,
        id_column=AuditEvent.id,
        limit=limit,
        cursor=cursor,
    )
    # Reading the log is itself an access to the patient's record (added after the read,
    # so it shows up on the next page load, not in this one).
    record_patient(
        session, principal=principal, patient=patient, action="read", resource_type="access_log"
    )
    return Page(items=[AuditEventRead.model_validate(e) for e in events], next_cursor=next_cursor)
