from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from app.auth.dependencies import CurrentAdmin, PasswordsDep, SettingsDep
from app.cms.dependencies import SecretBoxDep
from app.db import SessionDep
from app.errors import error_responses
from app.organizations import service as organizations_service
from app.organizations.schemas import (
    ClinicianCreate,
    OrganizationRead,
    OrganizationUpdate,
    StaffRead,
    StaffUpdate,
)
from app.pagination import Cursor, Limit, Page

router = APIRouter(prefix="/v1/clinicians", tags=["organization"])
settings_router = APIRouter(prefix="/v1/organization", tags=["organization"])


@settings_router.get("")
async def get_organization(principal: CurrentAdmin, session: SessionDep) -> OrganizationRead:
    """Your organization's settings."""
    return await organizations_service.get_settings(session, principal=principal)


@settings_router.patch("")
async def update_organization(
    body: OrganizationUpdate,
    principal: CurrentAdmin,
    session: SessionDep,
    box: SecretBoxDep,
    settings: SettingsDep,
) -> OrganizationRead:
    """Change your organization's settings; only the fields sent change. The CMS client secret
    is write-only: stored encrypted, never returned."""
    return await organizations_service.update_settings(
        session,
        principal=principal,
        body=body,
        box=box,
        production=settings.env == "production",
    )


@router.post("", status_code=status.HTTP_201_CREATED, responses=error_responses(409))
async def create_clinician(
    body: ClinicianCreate, principal: CurrentAdmin, session: SessionDep, passwords: PasswordsDep
) -> StaffRead:
    """Create a clinician account in the admin's organization."""
    return await organizations_service.create_clinician(
        session, principal=principal, passwords=passwords, body=body
    )


@router.patch("/{user_id}", responses=error_responses(404))
async def update_clinician(
    user_id: uuid.UUID, body: StaffUpdate, principal: CurrentAdmin, session: SessionDep
) -> StaffRead:
    """Change a staff account's name or NPI (the NPI names them in the reports they prepare)."""
    return await organizations_service.update_staff(
        session, principal=principal, user_id=user_id, body=body
    )


@router.get("")
async def list_clinicians(
    principal: CurrentAdmin, session: SessionDep, limit: Limit = 100, cursor: Cursor = None
) -> Page[StaffRead]:
    """The organization's staff accounts (clinicians and admins), newest first."""
    return await organizations_service.list_staff(
        session, principal=principal, limit=limit, cursor=cursor
    )
