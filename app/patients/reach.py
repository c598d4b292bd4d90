"""Reach: which patients a caller may see, decided in this one place.

Invariants: a patient sees themself, a device its patient, staff their organization; anything
else is 404 (never 403, which would reveal that the record exists). No other service is
imported here, so every package may ask it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.errors import NotFound
from app.patients.models import Patient

ME = "me"


def bound_patient(principal: Principal) -> uuid.UUID | None:
    """The one patient a patient or device may see; None for staff (their organization)."""
    return principal.patient_id if principal.role in ("patient", "device") else None


def reachable_patients(principal: Principal) -> Select[Patient]:
    """The one definition of which patients a caller may see."""
    statement = select(Patient)
    own = bound_patient(principal)
    if own is not None:
        return statement.where(Patient.id == own)
    return statement.where(Patient.organization_id == principal.organization_id)


async def get_reachable(session: AsyncSession, *, principal: Principal, ref: str) -> Patient:
    """The patient named by `ref` (a UUID or `me`) if the caller may see it, else 404."""
    if ref == ME:
        patient_id = principal.patient_id
    else:
        try:
            patient_id = uuid.UUID(ref)
        except ValueError:
            patient_id = None
    patient = None
    own = bound_patient(principal)
    if own is not None:
        # Reach is exactly their own patient, already loaded with the principal: no query.
        patient = await session.get(Patient, own) if patient_id == own else None
    elif patient_id is not None:
        patient = await session.scalar(
            reachable_patients(principal).where(Patient.id == patient_id)
        )
    if patient is None:
        raise NotFound("No such patient.")
    return patient
