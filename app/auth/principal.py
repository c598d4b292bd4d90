"""Who is calling, as plain data: no web framework or SQL here, so any service may import it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

Role = Literal["admin", "clinician", "patient", "device"]
STAFF: tuple[Role, ...] = ("clinician", "admin")
PEOPLE: tuple[Role, ...] = ("clinician", "admin", "patient")


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a user (admin, clinician, patient) or a device."""

    id: uuid.UUID
    role: Role
    organization_id: uuid.UUID
    patient_id: uuid.UUID | None = None
    email: str | None = None
    login: str | None = None  # people only: the name they sign in with
    session_id: uuid.UUID | None = None  # people: the sign-in (refresh family) of the token
