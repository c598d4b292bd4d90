"""The report bundle route: a report as the CMS ACCESS document Bundle; HTTP only.

Staff only (clinician, admin): the bundle is what is sent to CMS, the MBI with it. A patient
out of reach is 404 whatever the role, then a patient or device is 403 (`StaffPatient`);
errors are `/v1`'s `{error, detail, fields?}` (the route lives under /v1).
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from app.auth.dependencies import CurrentPrincipal
from app.db import SessionDep
from app.errors import error_responses
from app.fhir import report_bundle
from app.fhir.errors import FHIR_JSON, bundle_response
from app.patients.dependencies import StaffPatient

router = APIRouter(tags=["fhir"])

_BUNDLE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report as a FHIR document Bundle (CMS ACCESS data-reporting bundle).",
        "content": {
            FHIR_JSON: {
                "schema": {
                    "type": "object",
                    "required": ["resourceType", "type"],
                    "properties": {
                        "resourceType": {"type": "string", "enum": ["Bundle"]},
                        "type": {"type": "string", "enum": ["document"]},
                    },
                }
            }
        },
    },
    **error_responses(404, 409),
}


@router.get(
    "/v1/patients/{patient_id}/reports/{report_id}/bundle",
    responses=_BUNDLE,
    # No media type of its own: the 200 is documented as application/fhir+json (above), the
    # errors as /v1's application/json.
    response_class=Response,
)
async def get_report_bundle(
    report_id: uuid.UUID,
    patient: StaffPatient,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> Response:
    """The report as the CMS ACCESS document Bundle; 409 names what keeps it from CMS."""
    bundle = await report_bundle.read_report_bundle(
        session, principal=principal, patient=patient, report_id=report_id
    )
    return bundle_response(bundle)
