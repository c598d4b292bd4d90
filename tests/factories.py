"""Plain async factories: rows written straight through the services, tokens minted directly."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.models import User
from app.auth.principal import Principal
from app.auth.tokens import TokenKeys, encode_access
from app.clock import utcnow
from app.devices import service as devices_service
from app.devices.models import Device
from app.devices.schemas import DeviceCreate, DeviceCreated
from app.organizations.models import Organization
from app.patients import enrollments as enrollments_service
from app.patients import reach
from app.patients import service as patients_service
from app.patients.models import Patient
from app.patients.schemas import EnrollmentCreate, PatientCreate


@dataclass
class Actor:
    principal: Principal
    keys: TokenKeys
    family_id: uuid.UUID | None = None  # a device: its secret's id, which its tokens carry

    @property
    def token(self) -> str:
        """A fresh access token, issued on the service's clock (tests move it across days)."""
        p = self.principal
        return encode_access(
            self.keys,
            subject=p.id,
            role=p.role,
            organization_id=p.organization_id,
            patient_id=p.patient_id,
            family_id=self.family_id,
        )

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def id(self) -> uuid.UUID:
        return self.principal.id


@dataclass
class PatientWorld:
    id: uuid.UUID
    activation_code: str
    user: Actor
    device: Actor
    device_client_id: str
    device_secret: str


@dataclass
class OrgWorld:
    id: uuid.UUID
    admin: Actor
    clinician: Actor
    patients: list[PatientWorld] = field(default_factory=list)


def _maker(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    return maker


@asynccontextmanager
async def writing(app: FastAPI) -> AsyncIterator[AsyncSession]:
    """A transaction as a request has one: before it commits, the stored standings of the
    patients its writes touched are re-evaluated (`app.state.before_commit`)."""
    async with _maker(app)() as session, session.begin():
        yield session
        for hook in app.state.before_commit:
            await hook(session)


def mint(app: FastAPI, principal: Principal, *, family_id: uuid.UUID | None = None) -> Actor:
    keys: TokenKeys = app.state.token_keys
    return Actor(principal=principal, keys=keys, family_id=family_id)


async def make_org(app: FastAPI, name: str = "Clinic") -> OrgWorld:
    suffix = uuid.uuid4().hex[:8]
    async with _maker(app)() as session, session.begin():
        organization = Organization(name=name)
        session.add(organization)
        await session.flush()
        users = [
            User(
                organization_id=organization.id,
                role=role,
                email=f"{role}-{suffix}@example.org",
                name=role.title(),
                password_hash=None,
            )
            for role in ("admin", "clinician")
        ]
        session.add_all(users)
        await session.flush()
    admin, clinician = (
        mint(app, Principal(id=u.id, role=u.role, organization_id=organization.id, email=u.email))  # type: ignore[arg-type]
        for u in users
    )
    return OrgWorld(id=organization.id, admin=admin, clinician=clinician)


async def make_patient(
    app: FastAPI,
    org: OrgWorld,
    *,
    timezone: str = "America/New_York",
    height_cm: float | None = 170.0,
    enroll: dict[str, Any] | None = None,
    device_kind: str = "bp_cuff",
    validated: bool = True,
) -> PatientWorld:
    staff = org.clinician.principal
    async with writing(app) as session:
        created = await patients_service.create(
            session,
            principal=staff,
            body=PatientCreate.model_validate(
                {
                    "given_name": "Pat",
                    "family_name": "Tester",
                    "birth_date": date(1955, 5, 17),
                    "sex": "female",
                    "timezone": timezone,
                    "height_cm": height_cm,
                }
            ),
            activation_ttl_days=7,
        )
        patient = await reach.get_reachable(session, principal=staff, ref=str(created.id))
        patient.activated_at = utcnow()
        user = User(organization_id=org.id, role="patient", patient_id=patient.id)
        session.add(user)
        if enroll is not None:
            await enrollments_service.enroll(
                session,
                principal=staff,
                patient=patient,
                rules=app.state.rules,
                body=EnrollmentCreate.model_validate(enroll),
            )
        device, _ = await devices_service.register(
            session,
            principal=staff,
            patient=patient,
            body=DeviceCreate.model_validate(
                {"kind": device_kind, "manufacturer": "Acme", "model": "X1", "validated": validated}
            ),
        )
        await session.flush()
        secret_id = await session.scalar(select(Device.secret_id).where(Device.id == device.id))
    assert isinstance(device, DeviceCreated)
    world = PatientWorld(
        id=patient.id,
        activation_code=created.activation_code,
        user=mint(
            app,
            Principal(id=user.id, role="patient", organization_id=org.id, patient_id=patient.id),
        ),
        device=mint(
            app,
            Principal(id=device.id, role="device", organization_id=org.id, patient_id=patient.id),
            family_id=secret_id,
        ),
        device_client_id=device.client_id,
        device_secret=device.client_secret,
    )
    org.patients.append(world)
    return world


async def device_actor(app: FastAPI, *, device_id: uuid.UUID | str) -> Actor:
    """A registered device as a caller: its tokens carry its current secret's id."""
    async with _maker(app)() as session:
        row = (
            await session.execute(
                select(Device, Patient.organization_id)
                .join(Patient, Patient.id == Device.patient_id)
                .where(Device.id == uuid.UUID(str(device_id)))
            )
        ).one()
    device, organization_id = row
    principal = Principal(
        id=device.id, role="device", organization_id=organization_id, patient_id=device.patient_id
    )
    return mint(app, principal, family_id=device.secret_id)
