"""Devices and their client credentials.

Invariants: the secret is returned once at registration (or rotation) and stored only as a
digest; a revoked device, or a replaced secret, can neither get a token nor use one it already
has (checked per request). One live registration per patient and physical device (kind,
manufacturer, model, serial; a unique index): registering it again returns it, without a
secret. Only staff make a device validated, recording who and when: a patient's own claim
never counts, so a device a patient registers starts unvalidated (docs/rules.md "Data rules").
A cuff always has a placement (`upper_arm` unless stated); other kinds never have one.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.auth import credentials
from app.auth.principal import STAFF, Principal
from app.clock import utcnow
from app.db import new_id, upsert_insert
from app.devices.models import Device
from app.devices.schemas import (
    DeviceCreate,
    DeviceCreated,
    DeviceList,
    DeviceRead,
    DeviceUpdate,
)
from app.errors import Conflict, FieldError, Invalid, NotFound
from app.patients.models import Patient

_audit = audit_service.Trail("device")


async def register(
    session: AsyncSession, *, principal: Principal, patient: Patient, body: DeviceCreate
) -> tuple[DeviceRead, bool]:
    """The registered device, and True with its new secret (`DeviceCreated`) when it is new;
    a physical device (kind, manufacturer, model, serial) already registered and not revoked
    is returned as it is, without a secret (rotate it to get a new one)."""
    secret = credentials.new_client_secret()
    device_id = new_id()
    # A patient's `validated: true` is ignored, not refused: the answer shows `validated: false`
    # and staff verify the device with PATCH (docs/api.md "Devices").
    validated = _validation(principal=principal, validated=body.validated)
    insert = upsert_insert(session)(Device).values(
        id=device_id,
        patient_id=patient.id,
        kind=body.kind,
        manufacturer=body.manufacturer,
        model=body.model,
        serial=body.serial,
        placement=body.placement,
        sampling_minutes=body.sampling_minutes,
        client_id=credentials.new_client_id(),
        secret_hash=credentials.digest(secret),
        secret_id=uuid.uuid4(),
        **validated,
    )
    # The live registration's unique index decides, not a read before the write: of two
    # registrations racing, one inserts and the other returns its device.
    created = (
        await session.execute(insert.on_conflict_do_nothing().returning(Device.id))
    ).scalar_one_or_none()
    if created is None:
        existing = await session.scalar(
            select(Device).where(
                Device.patient_id == patient.id,
                Device.kind == body.kind,
                Device.manufacturer == body.manufacturer,
                Device.model == body.model,
                Device.serial == body.serial,
                Device.revoked_at.is_(None),
            )
        )
        assert existing is not None  # only the live registration's index can conflict
        _audit(
            session, principal=principal, patient=patient, action="read", resource_id=existing.id
        )
        return DeviceRead.model_validate(existing), False
    device = await session.get(Device, device_id)
    assert device is not None
    _audit(session, principal=principal, patient=patient, action="create", resource_id=device_id)
    read = DeviceRead.model_validate(device).model_dump()
    return DeviceCreated(**read, client_secret=secret), True


async def rotate_secret(
    session: AsyncSession, *, principal: Principal, patient: Patient, device_id: uuid.UUID
) -> DeviceCreated:
    """A new client secret for the device; the old secret and every token it got stop at once."""
    device = await _patient_device(session, patient_id=patient.id, device_id=device_id)
    if device.revoked_at is not None:
        raise Conflict("This device was revoked; register it again to use it.")
    secret = credentials.new_client_secret()
    device.secret_hash = credentials.digest(secret)
    device.secret_id = uuid.uuid4()
    _audit(session, principal=principal, patient=patient, action="update", resource_id=device.id)
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


async def update(
    session: AsyncSession,
    *,
    principal: Principal,
    patient: Patient,
    device_id: uuid.UUID,
    body: DeviceUpdate,
) -> DeviceRead:
    """Staff verify a device (or withdraw its validation) and state a cuff's placement."""
    device = await _patient_device(session, patient_id=patient.id, device_id=device_id)
    if device.revoked_at is not None:
        raise Conflict("This device was revoked; register it again to use it.")
    if body.placement is not None:
        if device.kind != "bp_cuff":
            raise Invalid(
                "Only a blood-pressure cuff has a placement.",
                fields=[FieldError(path="placement", message="placement is only for bp_cuff")],
            )
        device.placement = body.placement
    for name, value in _validation(principal=principal, validated=body.validated).items():
        setattr(device, name, value)
    _audit(session, principal=principal, patient=patient, action="update", resource_id=device.id)
    return DeviceRead.model_validate(device)


def _validation(*, principal: Principal, validated: bool) -> dict[str, Any]:
    """Staff mark a device validated (recording who and when); no one else ever does."""
    if validated and principal.role in STAFF:
        return {"validated": True, "validated_at": utcnow(), "validated_by": principal.id}
    return {"validated": False, "validated_at": None, "validated_by": None}


async def _patient_device(
    session: AsyncSession, *, patient_id: uuid.UUID, device_id: uuid.UUID
) -> Device:
    device = await session.scalar(
        select(Device).where(Device.id == device_id, Device.patient_id == patient_id)
    )
    if device is None:
        raise NotFound("No such device.")
    return device


async def revoke(
    session: AsyncSession, *, principal: Principal, patient: Patient, device_id: uuid.UUID
) -> None:
    device = await _patient_device(session, patient_id=patient.id, device_id=device_id)
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
