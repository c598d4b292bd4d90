"""Organizations and their staff. Emails are unique across the service (they are login names)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import User
from app.auth.passwords import Passwords
from app.auth.principal import Principal
from app.db import flush_or_conflict
from app.organizations.models import Organization
from app.organizations.schemas import ClinicianCreate, StaffRead
from app.pagination import Page, keyset_page

EMAIL_TAKEN = "An account with this email already exists."


async def create_organization_with_admin(
    session: AsyncSession, *, passwords: Passwords, name: str, admin_email: str, password: str
) -> tuple[Organization, User]:
    organization = Organization(name=name)
    session.add(organization)
    await session.flush()
    admin = User(
        organization_id=organization.id,
        role="admin",
        email=admin_email.strip().lower(),
        name="Administrator",
        password_hash=await passwords.hash(password),
    )
    session.add(admin)
    await flush_or_conflict(session, detail=EMAIL_TAKEN)
    return organization, admin


async def create_clinician(
    session: AsyncSession, *, principal: Principal, passwords: Passwords, body: ClinicianCreate
) -> StaffRead:
    clinician = User(
        organization_id=principal.organization_id,
        role="clinician",
        email=body.email,
        name=body.name,
        password_hash=await passwords.hash(body.password),
    )
    session.add(clinician)
    await flush_or_conflict(session, detail=EMAIL_TAKEN)
    return StaffRead.model_validate(clinician)


async def list_staff(
    session: AsyncSession, *, principal: Principal, limit: int, cursor: str | None
) -> Page[StaffRead]:
    """The organization's staff accounts (clinicians and admins), newest first."""
    statement = select(User).where(
        User.organization_id == principal.organization_id, User.role.in_(("admin", "clinician"))
    )
    users, next_cursor = await keyset_page(
        session,
        statement=statement,
        time_column=User.created_at,
        id_column=User.id,
        limit=limit,
        cursor=cursor,
    )
    return Page(items=[StaffRead.model_validate(u) for u in users], next_cursor=next_cursor)
