"""Organizations and their staff.

Emails are unique across the service (they are login names), so a taken email must be refused;
the refusal says nothing of whose account has it or in which organization (docs/api.md, "Auth").
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import password_policy
from app.auth.models import User
from app.auth.passwords import Passwords
from app.auth.principal import Principal
from app.cms.secrets import SecretBox
from app.db import flush_or_conflict
from app.errors import FieldError, Invalid, NotFound
from app.organizations.models import Organization
from app.organizations.schemas import (
    ClinicianCreate,
    CmsReportingRead,
    CmsReportingUpdate,
    OrganizationRead,
    OrganizationUpdate,
    StaffRead,
    StaffUpdate,
)
from app.pagination import Page, keyset_page
from app.webhooks import targets

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
        npi=body.npi,
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


async def update_staff(
    session: AsyncSession, *, principal: Principal, user_id: uuid.UUID, body: StaffUpdate
) -> StaffRead:
    """Change a staff account's name or NPI (null clears the NPI; a name stays)."""
    user = await session.scalar(
        select(User).where(
            User.id == user_id,
            User.organization_id == principal.organization_id,
            User.role.in_(("admin", "clinician")),
        )
    )
    if user is None:
        raise NotFound("No such staff account in your organization.")
    if "name" in body.model_fields_set and body.name is None:
        _refuse_null_name()
    for field in body.model_fields_set:
        setattr(user, field, getattr(body, field))
    await session.flush()
    return StaffRead.model_validate(user)


def _refuse_null_name() -> None:
    message = "must be 1 to 100 characters long (got null)"
    raise Invalid(
        f"Invalid request: name {message}.", fields=[FieldError(path="name", message=message)]
    )


async def _own(session: AsyncSession, principal: Principal) -> Organization:
    organization = await session.get(Organization, principal.organization_id)
    assert organization is not None  # the principal was loaded with it
    return organization


def to_read(organization: Organization) -> OrganizationRead:
    cms = None
    if organization.cms_base_url is not None and organization.cms_client_id is not None:
        cms = CmsReportingRead(
            base_url=organization.cms_base_url,
            client_id=organization.cms_client_id,
            client_secret_set=organization.cms_client_secret is not None,
        )
    return OrganizationRead(
        id=organization.id,
        name=organization.name,
        access_participant_id=organization.access_participant_id,
        npi=organization.npi,
        cms_reporting=cms,
        created_at=organization.created_at,
    )


async def get_settings(session: AsyncSession, *, principal: Principal) -> OrganizationRead:
    """The admin's organization: its name, what its reports to CMS name it by, and where they
    are sent (never the client secret)."""
    return to_read(await _own(session, principal))


async def update_settings(
    session: AsyncSession,
    *,
    principal: Principal,
    body: OrganizationUpdate,
    box: SecretBox,
    production: bool,
) -> OrganizationRead:
    """Change the fields sent; null clears the participant id, the NPI or the CMS reporting
    settings (a name stays). A client secret is stored encrypted, and kept when not resent."""
    if "name" in body.model_fields_set and body.name is None:
        _refuse_null_name()
    organization = await _own(session, principal)
    for field in body.model_fields_set - {"cms_reporting"}:
        setattr(organization, field, getattr(body, field))
    if "cms_reporting" in body.model_fields_set:
        await _set_cms_reporting(organization, body.cms_reporting, box=box, production=production)
    await session.flush()
    return to_read(organization)


async def _set_cms_reporting(
    organization: Organization,
    settings: CmsReportingUpdate | None,
    *,
    box: SecretBox,
    production: bool,
) -> None:
    if settings is None:
        organization.cms_base_url = None
        organization.cms_client_id = None
        organization.cms_client_secret = None
        return
    try:
        targets.check_form(settings.base_url, production=production)
        await targets.check_addresses(settings.base_url, production=production)
    except targets.UnsafeTarget as exc:
        raise Invalid(
            f"Invalid request: cms_reporting.base_url {exc}.",
            fields=[FieldError(path="cms_reporting.base_url", message=str(exc))],
        ) from None
    if settings.client_secret is None and organization.cms_client_secret is None:
        message = "is required when the CMS reporting settings are first set"
        raise Invalid(
            f"Invalid request: cms_reporting.client_secret {message}.",
            fields=[FieldError(path="cms_reporting.client_secret", message=message)],
        )
    organization.cms_base_url = settings.base_url.rstrip("/")
    organization.cms_client_id = settings.client_id
    if settings.client_secret is not None:
        organization.cms_client_secret = box.seal(settings.client_secret.get_secret_value())
