"""Devices and their client credentials.

Invariants: the secret is returned once at registration and stored only as a digest; a revoked
device can neither get a token nor use one it already has (checked per request).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.auth import credentials
from app.auth.principal import Principal
from app.clock import utcnow
from app.devices.models import Device
from app.devices.schemas import DeviceCreate, DeviceCreated, DeviceList, DeviceRead
from app.errors import NotFound
from app.patients.models import Patient

_audit = audit_service.Trail("device")


async def register(
    session: AsyncSession, *, principal: Principal, patient: Patient, body: DeviceCreate
) -> DeviceCreated:
    secret = credentials.new_client_secret()
    device = Device(
        patient_id=patient.id,
        kind=body.kind,
        manufacturer=body.manufacturer,
        model=body.model,
        serial=body.serial,
        validated=body.validated,
        sampling_minutes=body.sampling_minutes,
        client_id=credentials.new_client_id(),
        secret_hash=credentials.digest(secret),
    )
    session.add(device)
    await session.flush()
    _audit(session, principal=principal, patient=patient, action="create", resource_id=device.id)
    return DeviceCreated(**DeviceRead.model_validate(device).model_dump(), client_secret=secret)


async def list_devices(
    session: AsyncSession, *, principal: Principal, patient: Patient
) -> DeviceList:
    """The patient's devices, newest first, revoked ones included."""
    rows = await session.scalars(
        select(Device).where(Device.patient_id == patient.id).order_by(Device.created_at.desc())
    )
    _audit(session, principal=principal, patient=patient, action="read")
    return DeviceList(items=[DeviceRead.model_validate(d) for d in rows])


async def revoke(
    session: AsyncSession, *, principal: Principal, patient: Patient, device_id: uuid.UUID
) -> None:
    device = await session.scalar(
        select(Device).where(Device.id == device_id, Device.patient_id == patient.id)
    )
    if device is None:
        raise NotFound("No such device.")
    if device.revoked_at is None:
        device.revoked_at = utcnow()
    _audit(session, principal=principal, patient=patient, action="delete", resource_id=device.id)


async def get_patient_device(
    session: AsyncSession, *, patient_id: uuid.UUID, device_id: uuid.UUID
) -> Device | None:
    """The patient's own, unrevoked device with this id."""
    return await session.scalar(
        select(Device).where(
            Device.id == device_id, Device.patient_id == patient_id, Device.revoked_at.is_(None)
        )
    )
