"""Where a reading comes from: its source kind, its device, and whether its BP counts.

Invariants:
- A device token is always its own device: whatever source the body declares, readings sent
  with a device's credentials are source "device" with that device.
- Any other caller declares the source; none means "manual". A declared device must be one of
  the patient's registered, unrevoked devices, else the item is invalid (never a 4xx for the
  whole batch).
- Blood pressure is eligible only from a staff-validated upper-arm cuff sending with its own
  credentials (docs/rules.md "Data rules"); relayed, manual, wrist-cuff or unvalidated-cuff BP
  is kept and shown, but not eligible. Eligibility is decided when a reading is stored: readings
  stored before staff validated the cuff stay not eligible.
- Each distinct source is resolved once per batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.devices import service as devices_service
from app.devices.models import Device
from app.errors import FieldError
from app.patients.models import Patient
from app.readings.schemas import InvalidReading, ReadingModel


@dataclass(frozen=True, slots=True)
class ResolvedSource:
    """Where a batch's readings come from (not the body's `source`: what it resolves to)."""

    kind: str
    device_id: uuid.UUID | None = None
    device_kind: str | None = None
    # docs/rules.md "Data rules": BP counts only from a validated upper-arm cuff transmitting
    # automatically and verifiably, i.e. sent with that device's own credentials. Manual (or
    # relayed) BP is kept and shown, but not eligible.
    bp_eligible: bool = False


MANUAL = ResolvedSource("manual")


def makes_eligible_bp(device: Device) -> bool:
    """docs/rules.md "Data rules": a cuff validated by staff, worn on the upper arm."""
    return device.kind == "bp_cuff" and device.validated and device.placement == "upper_arm"


class Provenance:
    """Resolves each item's source and device: a device token is always its own device."""

    def __init__(self, principal: Principal, *, devices: dict[uuid.UUID, Device]) -> None:
        self.devices = devices
        self.own: ResolvedSource | None = None
        if principal.role == "device":
            device = devices[principal.id]
            self.own = ResolvedSource(
                "device",
                device.id,
                device.kind,
                bp_eligible=makes_eligible_bp(device),
            )
        self.declared: dict[tuple[str, uuid.UUID | None], ResolvedSource] = {}

    def resolve(self, model: ReadingModel) -> ResolvedSource | FieldError:
        if self.own is not None:
            return self.own
        source = model.source
        if source is None:
            return MANUAL
        if source.device_id is None and source.kind == "device":
            return FieldError(
                path="source.device_id",
                message="source.device_id is required when source.kind is device",
            )
        key = (source.kind, source.device_id)
        if key not in self.declared:
            device = self.devices.get(source.device_id) if source.device_id else None
            if source.device_id is not None and device is None:
                return FieldError(
                    path="source.device_id",
                    message=f"device {source.device_id} is not one of the patient's registered,"
                    " unrevoked devices",
                )
            self.declared[key] = ResolvedSource(
                source.kind, source.device_id, device.kind if device else None
            )
        return self.declared[key]


async def load_devices(
    session: AsyncSession,
    *,
    principal: Principal,
    patient: Patient,
    items: Sequence[ReadingModel | InvalidReading],
) -> dict[uuid.UUID, Device]:
    """The devices a batch may name: the sending device itself, or the patient's declared ones."""
    if principal.role == "device":
        device = await session.get(Device, principal.id)
        assert device is not None  # get_principal checked it exists, unrevoked, this patient's
        return {device.id: device}
    wanted = {
        item.source.device_id
        for item in items
        if not isinstance(item, InvalidReading) and item.source and item.source.device_id
    }
    found: dict[uuid.UUID, Device] = {}
    for device_id in wanted:
        device = await devices_service.get_patient_device(
            session, patient_id=patient.id, device_id=device_id
        )
        if device is not None:
            found[device_id] = device
    return found
