"""`ReachablePatient` and friends: the patient named in the path, loaded through reach.

Reach is checked before role, so a patient outside the caller's reach is always 404 (never 403,
which would reveal that it exists). A 403 or 404 on these routes leaves an audit event with
outcome `denied` (`app/audit/denials.py`), committed although the request fails.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from app.audit.denials import Denial, parse_uuid
from app.auth.dependencies import CurrentPrincipal, ensure_role
from app.auth.principal import PEOPLE, STAFF, Role
from app.db import SessionDep, on_error
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
        self,
        request: Request,
        patient_id: PatientRef,
        principal: CurrentPrincipal,
        session: SessionDep,
    ) -> Patient:
        denial = Denial(
            principal=principal,
            method=request.method,
            operation=getattr(request.scope.get("route"), "name", "unknown"),
            requested=principal.patient_id if patient_id == reach.ME else parse_uuid(patient_id),
            # The record the path names below the patient (a device, reading, report ...).
            resource_id=next(
                (
                    parsed
                    for name, value in request.path_params.items()
                    if name != "patient_id" and (parsed := parse_uuid(value)) is not None
                ),
                None,
            ),
        )
        on_error(session, denial)
        patient = await reach.get_reachable(session, principal=principal, ref=patient_id)
        denial.reached(organization_id=patient.organization_id, patient_id=patient.id)
        ensure_role(principal, roles=self.roles)
        return patient


# Staff and the patient themself; devices only write readings.
ReachablePatient = Annotated[Patient, Depends(RequirePatient(*PEOPLE))]
StaffPatient = Annotated[Patient, Depends(RequirePatient(*STAFF))]
# Reading ingest: people, and the patient's own devices (reach makes any other patient a 404).
IngestPatient = Annotated[Patient, Depends(RequirePatient(*PEOPLE, "device"))]
