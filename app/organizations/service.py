"""Organizations and their staff.

Emails are unique across the service (they are login names), so a taken email must be refused;
the refusal says nothing of whose account has it or in which organization (docs/api.md, "Auth").
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import password_policy
from app.auth.models import User
from app.auth.passwords import Passwords
from app.auth.principal import Principal
from app.db import flush_or_conflict
from app.errors import FieldError, Invalid
from app.organizations.models import Organization
from app.organizations.schemas import (
    ClinicianCreate,
    OrganizationRead,
    OrganizationUpdate,
    StaffRead,
)
from app.pagination import Page, keyset_page

# The same words whether the email is a colleague's, a patient's or someone's elsewhere.
EMAIL_UNAVAILABLE = "This email cannot be used for a new account; choose another."


async def create_organization_with_admin(
    session: AsyncSession, *, passwords: Passwords, name: str, admin_email: str, password: str
) -> tuple[Organization, User]:
    organization = Organization(name=name)
    session.add(organization)
    await session.flush()
    email = admin_email.strip().lower()
    password_policy.ensure_fits_login(password, email=email)
    admin = User(
        organization_id=organization.id,
        role="admin",
        email=email,
        name="Administrator",
        password_hash=await passwords.hash(password),
    )
    session.add(admin)
    await flush_or_conflict(session, detail=EMAIL_UNAVAILABLE)
    return organization, admin


async def create_clinician(
    session: AsyncSession, *, principal: Principal, passwords: Passwords, body: ClinicianCreate
) -> StaffRead:
    password_policy.ensure_fits_login(body.password, email=body.email)
    clinician = User(
        organization_id=principal.organization_id,
        role="clinician",
        email=body.email,
        name=body.name,
        password_hash=await passwords.hash(body.password),
    )
    session.add(clinician)
    await flush_or_conflict(session, detail=EMAIL_UNAVAILABLE)
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


async def _own(session: AsyncSession, principal: Principal) -> Organization:
    organization = await session.get(Organization, principal.organization_id)
    assert organization is not None  # the principal was loaded with it
    return organization


async def get_settings(session: AsyncSession, *, principal: Principal) -> OrganizationRead:
    """The admin's organization: its name and what its reports to CMS name it by."""
    return OrganizationRead.model_validate(await _own(session, principal))


async def update_settings(
    session: AsyncSession, *, principal: Principal, body: OrganizationUpdate
) -> OrganizationRead:
    """Change the fields sent; null clears the participant id or the NPI (a name stays)."""
    if "name" in body.model_fields_set and body.name is None:
        message = "must be 1 to 200 characters long (got null)"
        raise Invalid(
            f"Invalid request: name {message}.", fields=[FieldError(path="name", message=message)]
        )
    organization = await _own(session, principal)
    for field in body.model_fields_set:
        setattr(organization, field, getattr(body, field))
    await session.flush()
    return OrganizationRead.model_validate(organization)
