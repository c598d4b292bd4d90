"""Denied requests on patient routes (`/v1/patients/{patient_id}/...`) leave an audit event.

Invariants:
- Every 403 or 404 answered to a signed-in caller on a patient route is recorded with outcome
  `denied`; 401s have no actor and are not recorded.
- The event outlives the failed request: the request's own changes are rolled back, then the
  event is committed on its own (`app.db.on_error`, run by `get_session`).
- A patient in reach (a role refused, or a missing record under a reachable patient) gets the
  event under their own id: it shows in their access log, with the route's operation id as
  `resource_type` and the id the path named below the patient as `resource_id`.
- A patient out of reach or unknown has no patient to attach the event to (and telling which
  would reveal whether the record exists): the event carries the caller's organization,
  `patient_id` `NO_PATIENT` (the nil UUID), `resource_type` "patient" and the requested id as
  `resource_id` (null when the path did not name a UUID, such as staff asking for `me`). It is
  in no patient's access log.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.auth.principal import Principal
from app.errors import AppError

NO_PATIENT: Final = uuid.UUID(int=0)
DENIED_STATUSES: Final = frozenset({403, 404})
# audit_events.resource_type is a String(32).
_RESOURCE_TYPE_LENGTH: Final = 32
_ACTIONS: Final[dict[str, audit_service.Action]] = {
    "GET": "read",
    "HEAD": "read",
    "POST": "create",
    "PUT": "update",
    "PATCH": "update",
    "DELETE": "delete",
}


def parse_uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


@dataclass(slots=True)
class Denial:
    """What to record should the request on a patient route end in 403 or 404."""

    principal: Principal
    method: str
    operation: str
    requested: uuid.UUID | None
    resource_id: uuid.UUID | None = None
    organization_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None

    def reached(self, *, organization_id: uuid.UUID, patient_id: uuid.UUID) -> None:
        """The patient was in reach: a later denial is recorded under them (plain ids are kept,
        since the rollback before recording expires the loaded row)."""
        self.organization_id = organization_id
        self.patient_id = patient_id

    def __call__(self, session: AsyncSession, error: AppError) -> None:
        if error.status_code not in DENIED_STATUSES:
            return
        action = _ACTIONS.get(self.method, "read")
        if self.organization_id is None or self.patient_id is None:
            audit_service.record(
                session,
                principal=self.principal,
                organization_id=self.principal.organization_id,
                patient_id=NO_PATIENT,
                action=action,
                resource_type="patient",
                resource_id=self.requested,
                outcome="denied",
            )
            return
        audit_service.record(
            session,
            principal=self.principal,
            organization_id=self.organization_id,
            patient_id=self.patient_id,
            action=action,
            resource_type=self.operation[:_RESOURCE_TYPE_LENGTH],
            resource_id=self.resource_id,
            outcome="denied",
        )
