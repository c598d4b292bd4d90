"""Patients: create, read, update, the clinician's panel, activation codes.

Invariants: patients are reached only through `reach` (out of reach: 404); every read or write
of a patient's data adds audit events to the same session; a patient's `height_cm` is also
stored as a dated height reading, which is what BMI uses.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.auth import credentials
from app.auth.principal import Principal
from app.clock import utc_today, utcnow
from app.db import flush_or_conflict
from app.errors import Conflict, Forbidden
from app.outcomes import panel as outcomes_panel
from app.outcomes.rules import Ruleset
from app.pagination import decode_cursor, encode_cursor, invalid_cursor, keyset_page
from app.patients.models import Enrollment, Patient
from app.patients.reach import reachable_patients
from app.patients.schemas import (
    ActivationCode,
    PatientCreate,
    PatientCreated,
    PatientListItem,
    PatientRead,
    PatientUpdate,
    SocialRisk,
)
from app.readings import ingest as readings_ingest

_audit_patient = audit_service.Trail("patient")
_audit_activation = audit_service.Trail("activation_code")
# What patients may change themselves; identity, MBI and social-risk flags are staff-managed.
PATIENT_EDITABLE = frozenset({"timezone", "height_cm"})


def to_read(patient: Patient) -> PatientRead:
    return PatientRead(
        id=patient.id,
        organization_id=patient.organization_id,
        given_name=patient.given_name,
        family_name=patient.family_name,
        birth_date=patient.birth_date,
        sex=patient.sex,
        timezone=patient.timezone,
        mbi=patient.mbi,
        height_cm=patient.height_cm,
        social_risk=SocialRisk(
            dual_eligible=patient.dual_eligible,
            rural=patient.rural,
            limited_digital_access=patient.limited_digital_access,
        ),
        activated=patient.activated_at is not None,
        created_at=patient.created_at,
        updated_at=patient.updated_at,
    )


def _new_activation(patient: Patient, ttl_days: int) -> ActivationCode:
    code = credentials.new_activation_code()
    patient.activation_code_hash = credentials.digest(code)
    patient.activation_expires_at = utcnow() + timedelta(days=ttl_days)
    return ActivationCode(activation_code=code, activation_expires_at=patient.activation_expires_at)


async def create(
    session: AsyncSession, *, principal: Principal, body: PatientCreate, activation_ttl_days: int
) -> PatientCreated:
    risk = body.social_risk or SocialRisk()
    patient = Patient(
        organization_id=principal.organization_id,
        given_name=body.given_name,
        family_name=body.family_name,
        birth_date=body.birth_date,
        sex=body.sex,
        timezone=body.timezone,
        mbi=body.mbi,
        height_cm=body.height_cm,
        dual_eligible=risk.dual_eligible,
        rural=risk.rural,
        limited_digital_access=risk.limited_digital_access,
    )
    activation = _new_activation(patient, activation_ttl_days)
    session.add(patient)
    await flush_or_conflict(session, detail="A patient with this MBI already exists.")
    _audit_patient(
        session, principal=principal, patient=patient, action="create", resource_id=patient.id
    )
    if body.height_cm is not None:
        # The column keeps the latest height; BMI uses a dated reading (docs/rules.md "Data
        # rules").
        await readings_ingest.record_height(
            session, principal=principal, patient=patient, height_cm=body.height_cm
        )
    return PatientCreated(**to_read(patient).model_dump(), **activation.model_dump())


async def read(session: AsyncSession, *, principal: Principal, patient: Patient) -> PatientRead:
    _audit_patient(
        session, principal=principal, patient=patient, action="read", resource_id=patient.id
    )
    return to_read(patient)


async def update_patient(
    session: AsyncSession, *, principal: Principal, patient: Patient, body: PatientUpdate
) -> PatientRead:
    changes = body.model_dump(exclude_unset=True)
    if principal.role == "patient" and not set(changes) <= PATIENT_EDITABLE:
        locked = ", ".join(sorted(set(changes) - PATIENT_EDITABLE))
        raise Forbidden(f"Only your care team can change: {locked}.")
    # Social-risk flags are columns of their own; only the flags sent change.
    changes.update(changes.pop("social_risk", None) or {})
    for name, value in changes.items():
        setattr(patient, name, value)
    patient.updated_at = utcnow()
    await flush_or_conflict(session, detail="A patient with this MBI already exists.")
    _audit_patient(
        session, principal=principal, patient=patient, action="update", resource_id=patient.id
    )
    if changes.get("height_cm") is not None:
        # As in `create`: the dated reading is what BMI uses.
        await readings_ingest.record_height(
            session, principal=principal, patient=patient, height_cm=changes["height_cm"]
        )
    return to_read(patient)


async def list_patients(
    session: AsyncSession,
    *,
    principal: Principal,
    rules: Ruleset,
    track: str | None,
    status: str | None,
    order: str,
    limit: int,
    cursor: str | None,
) -> tuple[list[PatientListItem], str | None]:
    """The clinician's panel: by need (open urgent alerts, off track, insufficient data, the
    rest; then by name) or newest first; `status` keeps patients with a measure in it."""
    statement = reachable_patients(principal)
    if track is not None:
        statement = statement.where(
            Patient.id.in_(
                select(Enrollment.patient_id).where(
                    Enrollment.track == track,
                    Enrollment.ended_at.is_(None),
                    # Periods still shown (`outcomes.evaluation.current_subjects`), a day's margin
                    # for time zones.
                    Enrollment.end_date
                    >= utc_today() - timedelta(days=rules.calendar.shown_after_end_days + 1),
                )
            )
        )
    if order == "newest" and status is None:
        patients, next_cursor = await keyset_page(
            session,
            statement=statement,
            time_column=Patient.created_at,
            id_column=Patient.id,
            limit=limit,
            cursor=cursor,
        )
        entries = await outcomes_panel.panel(session, rules=rules, patients=patients, track=track)
    else:
        everyone = list(await session.scalars(statement))
        entries = await outcomes_panel.panel(session, rules=rules, patients=everyone, track=track)
        if status is not None:
            everyone = [p for p in everyone if status in entries[p.id].statuses]
        patients, next_cursor = _page_by_need(everyone, entries, order, limit, cursor)
    audit_service.record_many(
        session,
        principal=principal,
        organization_id=principal.organization_id,
        patient_ids=[p.id for p in patients],
        action="read",
        resource_type="patient",
    )
    return [
        PatientListItem(
            **to_read(p).model_dump(),
            outcome_status=entries[p.id].status,
            open_urgent_alerts=entries[p.id].open_urgent_alerts,
        )
        for p in patients
    ], next_cursor


def _page_by_need(
    patients: list[Patient],
    entries: dict[uuid.UUID, outcomes_panel.PanelEntry],
    order: str,
    limit: int,
    cursor: str | None,
) -> tuple[list[Patient], str | None]:
    """A page of the panel sorted in memory (the sort key is computed, not a column)."""

    def key(p: Patient) -> tuple[str, ...]:
        if order == "newest":
            return (f"{9e12 - p.created_at.timestamp():016.3f}", str(p.id))
        return (
            str(entries[p.id].need),
            p.family_name.lower(),
            p.given_name.lower(),
            str(p.id),
        )

    ordered = sorted(patients, key=key)
    if cursor is not None:
        after = tuple(decode_cursor(cursor, length=2 if order == "newest" else 4))
        try:  # a key this server wrote ends with the patient's id
            uuid.UUID(after[-1])
        except ValueError:
            raise invalid_cursor() from None
        ordered = [p for p in ordered if key(p) > after]
    page = ordered[:limit]
    more = len(ordered) > limit
    return page, encode_cursor(list(key(page[-1]))) if more and page else None


async def reissue_activation(
    session: AsyncSession, *, principal: Principal, patient: Patient, activation_ttl_days: int
) -> ActivationCode:
    if patient.activated_at is not None:
        raise Conflict("The patient has already activated their account.")
    activation = _new_activation(patient, activation_ttl_days)
    _audit_activation(
        session, principal=principal, patient=patient, action="update", resource_id=patient.id
    )
    return activation
