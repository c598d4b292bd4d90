"""Submitting a report to CMS: HTTP only, one service call."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from app.auth.dependencies import CurrentPrincipal
from app.cms import submissions
from app.db import SessionDep
from app.errors import error_responses
from app.outcomes.schemas import ReportRead
from app.patients.dependencies import StaffPatient

router = APIRouter(tags=["outcomes"])


@router.post(
    "/v1/patients/{patient_id}/reports/{report_id}/submit",
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(404, 409),
)
async def submit_report(
    report_id: uuid.UUID,
    patient: StaffPatient,
    principal: CurrentPrincipal,
    session: SessionDep,
    response: Response,
) -> ReportRead:
    """Send the report to CMS (the worker sends it and follows CMS's answer: the report's
    `status` and `result_code`, and `report.status_changed` webhooks). Submitting again while
    it is on its way or accepted sends nothing more; 409 says everything that stops it."""
    report = await submissions.submit(
        session, principal=principal, patient=patient, report_id=report_id
    )
    response.headers["Content-Location"] = f"/v1/patients/{patient.id}/reports/{report.id}"
    return report
