"""Care-coordination updates of a care period (docs/api.md "Care-coordination updates")."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from app.auth.dependencies import CurrentPrincipal
from app.care_updates import html
from app.care_updates import service as care_updates_service
from app.care_updates.schemas import CareUpdateList, CareUpdateRead, DocumentFormat
from app.db import SessionDep
from app.errors import error_responses
from app.fhir.errors import FHIR_JSON, PREFIX, NotAcceptable
from app.outcomes.dependencies import RulesDep
from app.patients.dependencies import StaffPatient

router = APIRouter(prefix="/v1/patients", tags=["care updates"])
UPDATES = "/{patient_id}/enrollments/{enrollment_id}/care-updates"
HTML = "text/html"
_JSON_RANGES = frozenset({"application/json", "application/fhir+json", "application/*", "*/*"})
_HTML_RANGES = frozenset({HTML, "text/*"})


def _preference(accept: str, ranges: frozenset[str]) -> float:
    """The highest quality the Accept header gives any of `ranges` (0 when none)."""
    best = 0.0
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if media.lower() not in ranges:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        best = max(best, quality)
    return best


def document_format(request: Request, requested: DocumentFormat | None) -> Literal["json", "html"]:
    """`_format` when given (it overrides Accept, as in FHIR), else the Accept header's
    preference (JSON when there is none or they tie); 406 when it admits neither."""
    if requested is not None:
        return "html" if requested in ("html", HTML) else "json"
    accept = request.headers.get("accept")
    if not accept:
        return "json"
    as_html, as_json = _preference(accept, _HTML_RANGES), _preference(accept, _JSON_RANGES)
    if as_html == as_json == 0:
        raise NotAcceptable("This document is served as application/fhir+json or text/html.")
    return "html" if as_html > as_json else "json"


_DOCUMENT_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The update as a FHIR R4 document Bundle, or as a page to read.",
        "content": {
            FHIR_JSON: {
                "schema": {
                    "type": "object",
                    "required": ["resourceType"],
                    "properties": {"resourceType": {"type": "string", "enum": ["Bundle"]}},
                }
            },
            HTML: {"schema": {"type": "string"}},
        },
    },
    **error_responses(404, 406),
}


@router.get(UPDATES, responses=error_responses(404))
async def list_care_updates(
    enrollment_id: uuid.UUID,
    patient: StaffPatient,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> CareUpdateList:
    """The care period's care-coordination updates to its referring clinician, by due day."""
    return await care_updates_service.list_updates(
        session, principal=principal, patient=patient, enrollment_id=enrollment_id
    )


@router.get(UPDATES + "/{update_id}/document", response_class=Response, responses=_DOCUMENT_ANSWERS)
async def get_care_update_document(
    enrollment_id: uuid.UUID,
    update_id: uuid.UUID,
    request: Request,
    patient: StaffPatient,
    principal: CurrentPrincipal,
    session: SessionDep,
    rules: RulesDep,
    format_: Annotated[
        DocumentFormat | None,
        Query(
            alias="_format",
            description="html (or text/html) for the page; json (or application/json,"
            " application/fhir+json) for the Bundle. Overrides Accept.",
        ),
    ] = None,
) -> Response:
    """The update as a FHIR R4 document Bundle, or as HTML for the clinician to read."""
    chosen = document_format(request, format_)
    bundle = await care_updates_service.document(
        session,
        principal=principal,
        patient=patient,
        enrollment_id=enrollment_id,
        update_id=update_id,
        rules=rules,
        base=str(request.base_url).rstrip("/") + PREFIX,
    )
    if chosen == "html":
        return Response(
            html.render(bundle),
            media_type=f"{HTML}; charset=utf-8",
            headers={
                "Content-Security-Policy": html.CONTENT_SECURITY_POLICY,
                "X-Content-Type-Options": "nosniff",
            },
        )
    return Response(orjson.dumps(bundle), media_type=FHIR_JSON)


@router.post(UPDATES + "/{update_id}/sent", responses=error_responses(404, 409))
async def mark_care_update_sent(
    enrollment_id: uuid.UUID,
    update_id: uuid.UUID,
    patient: StaffPatient,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> CareUpdateRead:
    """Record that the update went to the referring clinician; again changes nothing."""
    return await care_updates_service.mark_sent(
        session,
        principal=principal,
        patient=patient,
        enrollment_id=enrollment_id,
        update_id=update_id,
    )
