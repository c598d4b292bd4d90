"""Patients: create, read, update, the clinician's panel, activation codes.

Invariants: patients are reached only through `reach` (out of reach: 404); every read or write
of a patient's data adds audit events to the same session; a patient's `height_cm` is also
stored as a dated height reading, which is what BMI uses.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.auth import credentials
from app.auth.principal import Principal
from app.auth.schemas import AccessCode
from app.clock import utcnow
from app.db import flush_or_conflict
from app.errors import Conflict, Forbidden
from app.outcomes import panel as outcomes_panel
from app.outcomes.panel import PanelOrder
from app.outcomes.touch import touch
from app.patients.models import Patient
from app.patients.schemas import (
    ActivationCode,
    NeedRead,
    NeedReason,
    PanelPeriod,
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
    touch(session, patient.id)
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
    touch(session, patient.id)
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
    track: str | None,
    status: str | None,
    need: str | None,
    order: PanelOrder,
    limit: int,
    cursor: str | None,
) -> tuple[list[PatientListItem], str | None]:
    """The clinician's panel from stored standings: by need score (then name) or newest
    first; `track`, `status` and `need` keep the patients whose shown care periods have that
    track, a measure in that status, or that reason for their need."""
    rows, next_cursor = await outcomes_panel.page(
        session,
        principal=principal,
        track=track,
        status=status,
        need=need,
        order=order,
        limit=limit,
        cursor=cursor,
    )
    audit_service.record_many(
        session,
        principal=principal,
        organization_id=principal.organization_id,
        patient_ids=[row.patient.id for row in rows],
        action="read",
        resource_type="patient",
    )
    return [_list_item(row) for row in rows], next_cursor


def _list_item(row: outcomes_panel.PanelRow) -> PatientListItem:
    st = row.standing
    days = row.days()
    return PatientListItem(
        **to_read(row.patient).model_dump(),
        outcome_status=st.outcome_status,
        open_urgent_alerts=st.open_urgent_alerts,
        open_warning_alerts=st.open_warning_alerts,
        need=NeedRead(score=st.need_score, reasons=[NeedReason(**r) for r in st.need]),
        tracks=list(dict.fromkeys(p["track"] for p in st.periods)),
        periods=[
            PanelPeriod(
                enrollment_id=p["enrollment_id"],
                track=p["track"],
                day=days[p["enrollment_id"]],
                status=p["status"],
            )
            for p in st.periods
        ],
        evaluated_at=st.evaluated_at,
    )


async def issue_access_code(
    session: AsyncSession, *, principal: Principal, patient: Patient, ttl_days: int
) -> AccessCode:
    """A fresh one-time code for a patient who lost access, activated or not (the previous
    code stops working); redeemed at `/v1/auth/activate`, which sets a new password."""
    activation = _new_activation(patient, ttl_days)
    _audit_activation(
        session, principal=principal, patient=patient, action="update", resource_id=patient.id
    )
    return AccessCode(code=activation.activation_code, expires_at=activation.activation_expires_at)


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
