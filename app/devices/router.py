from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse

from app.auth.dependencies import CurrentPrincipal
from app.db import SessionDep
from app.devices import service as devices_service
from app.devices.schemas import DeviceCreate, DeviceCreated, DeviceList, DeviceRead, DeviceUpdate
from app.errors import error_responses
from app.patients.dependencies import ReachablePatient, StaffPatient

router = APIRouter(prefix="/v1/patients/{patient_id}/devices", tags=["devices"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DeviceCreated,
    responses={
        200: {
            "model": DeviceRead,
            "description": "Already registered (same kind, manufacturer, model and serial, not"
            " revoked): that device, without a secret.",
        }
    },
)
async def register_device(
    body: DeviceCreate, patient: ReachablePatient, principal: CurrentPrincipal, session: SessionDep
) -> DeviceRead | JSONResponse:
    """Register a device; its client secret is in this response only. The same physical
    device again answers 200 with the registration it has."""
    device, created = await devices_service.register(
        session, principal=principal, patient=patient, body=body
    )
    if created:
        return device
    return JSONResponse(device.model_dump(mode="json"), status_code=status.HTTP_200_OK)


@router.post("/{device_id}/secret", responses=error_responses(409))
async def rotate_device_secret(
    device_id: uuid.UUID,
    patient: ReachablePatient,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> DeviceCreated:
    """Replace the device's client secret; the old one and its tokens stop at once. The new
    secret is in this response only."""
    return await devices_service.rotate_secret(
        session, principal=principal, patient=patient, device_id=device_id
    )


@router.get("")
async def list_devices(
    patient: ReachablePatient, principal: CurrentPrincipal, session: SessionDep
) -> DeviceList:
    """The patient's devices, including revoked ones."""
    return await devices_service.list_devices(session, principal=principal, patient=patient)


@router.patch("/{device_id}", responses=error_responses(409))
async def update_device(
    device_id: uuid.UUID,
    body: DeviceUpdate,
    patient: StaffPatient,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> DeviceRead:
    """Staff verify a device (validated, with who and when) and a cuff's placement."""
    return await devices_service.update(
        session, principal=principal, patient=patient, device_id=device_id, body=body
    )


@router.delete("/{device_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_device(
    device_id: uuid.UUID,
    patient: ReachablePatient,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> Response:
    """Revoke a device's credentials; its tokens stop working at once."""
    await devices_service.revoke(session, principal=principal, patient=patient, device_id=device_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
