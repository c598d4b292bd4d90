"""`ReachablePatient` and friends: the patient named in the path, loaded through reach.

Reach is checked before role, so a patient outside the caller's reach is always 404 (never 403,
which would reveal that it exists).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from app.auth.dependencies import CurrentPrincipal, ensure_role
from app.auth.principal import PEOPLE, STAFF, Role
from app.db import SessionDep
from app.patients import reach
from app.patients.models import Patient

PatientRef = Annotated[
    str,
    Path(
        max_length=64,
        description="The patient's id, or `me` for the calling patient (or device's patient).",
    ),
]


class RequirePatient:
    """Loads the path's patient through reach (404), then checks the caller's role (403)."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(
        self, patient_id: PatientRef, principal: CurrentPrincipal, session: SessionDep
    ) -> Patient:
        patient = await reach.get_reachable(session, principal=principal, ref=patient_id)
        ensure_role(principal, roles=self.roles)
        return patient


# Staff and the patient themself; devices only write readings.
ReachablePatient = Annotated[Patient, Depends(RequirePatient(*PEOPLE))]
StaffPatient = Annotated[Patient, Depends(RequirePatient(*STAFF))]
# Reading ingest: people, and the patient's own devices (reach makes any other patient a 404).
IngestPatient = Annotated[Patient, Depends(RequirePatient(*PEOPLE, "device"))]
