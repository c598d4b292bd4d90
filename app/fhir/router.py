"""The FHIR R4 API under /fhir (`application/fhir+json`), docs/api.md "FHIR R4": the US Core
reads, and Observations posted in a batch or transaction Bundle.

Same bearer tokens and reach as /v1; errors are OperationOutcomes (`app/fhir/errors.py`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response

from app.auth.dependencies import CurrentPrincipal
from app.db import SessionDep
from app.fhir import ingest as fhir_ingest
from app.fhir import search
from app.fhir import service as fhir_service
from app.fhir.bundles import Links
from app.fhir.errors import (
    FHIR_JSON,
    NO_STORE,
    PREFIX,
    NotAcceptable,
    bundle_response,
    fhir_response,
)
from app.fhir.ingest_schema import POSTED_BUNDLE
from app.fhir.transactions import MEDIA_TYPES
from app.schemas import JsonPattern

# The media ranges a client may accept for an answer in JSON (FHIR R4 http.html#mime-type).
_ACCEPTABLE = frozenset(
    {"*/*", "application/*", "application/json", "application/fhir+json", "application/json+fhir"}
)


def _resource_schema(*types: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["resourceType"],
        "properties": {"resourceType": {"type": "string", "enum": list(types)}},
    }


def _answers(
    resource_type: str, *errors: int, description: str | None = None
) -> dict[int | str, dict[str, Any]]:
    """The route's answers for OpenAPI: the resource, and OperationOutcomes for `errors`."""
    answers: dict[int | str, dict[str, Any]] = {
        200: {
            "description": description or f"A FHIR {resource_type}.",
            "content": {FHIR_JSON: {"schema": _resource_schema(resource_type)}},
        }
    }
    # 422 on every route, as FastAPI would otherwise declare its own body for it.
    for status in sorted({406, 422, *errors}):
        answers[status] = {
            "description": "An OperationOutcome saying what went wrong.",
            "content": {FHIR_JSON: {"schema": _resource_schema("OperationOutcome")}},
        }
    return answers


class FhirJSONResponse(Response):
    media_type = FHIR_JSON


FormatQuery = Annotated[
    Literal["json", "application/json", "application/fhir+json"] | None,
    Query(alias=search.FORMAT, description="Answer format: JSON only."),
]


def negotiate(request: Request, format_: FormatQuery = None) -> None:
    """406 unless the client takes JSON: `_format` (which overrides Accept, as FHIR has it),
    else the Accept header."""
    accept = request.headers.get("accept")
    if format_ is not None or not accept:
        return
    ranges = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    if not ranges & _ACCEPTABLE:
        raise NotAcceptable("This server answers in application/fhir+json only.")


router = APIRouter(
    prefix=PREFIX,
    tags=["fhir"],
    dependencies=[Depends(negotiate)],
    default_response_class=FhirJSONResponse,
)

PatientQuery = Annotated[
    str,
    JsonPattern(search.PATIENT_PATTERN),
    Query(description="The patient: `<id>` or `Patient/<id>`."),
]
CountQuery = Annotated[
    int,
    Query(
        alias=search.COUNT,
        ge=1,
        le=search.MAX_COUNT,
        description="Page size (default 100, at most 1000); the `next` link has the rest.",
    ),
]


def _names(request: Request) -> list[str]:
    return [name for name, _ in request.query_params.multi_items()]


def _links(request: Request) -> Links:
    return Links(base=str(request.base_url).rstrip("/") + PREFIX, url=request.url)


@router.get("/metadata", responses=_answers("CapabilityStatement", 400))
async def fhir_metadata(request: Request) -> Response:
    """The CapabilityStatement of this FHIR server; no token needed."""
    search.check_parameters(_names(request), known=search.READ_PARAMETERS)
    base = str(request.base_url).rstrip("/") + PREFIX
    return fhir_response(fhir_service.metadata(base_url=base, software_version=request.app.version))


@router.get("/Patient/{id}", responses=_answers("Patient", 400, 401, 403, 404))
async def fhir_read_patient(
    id: Annotated[str, Path(max_length=64, pattern=f"^{search.FHIR_ID}$")],
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> Response:
    """A US Core Patient, with the MBI identifier when the patient has one."""
    search.check_parameters(_names(request), known=search.READ_PARAMETERS)
    patient = await fhir_service.read_patient(session, principal=principal, ref=id)
    return fhir_response(patient)


@router.get("/Observation", responses=_answers("Bundle", 400, 401, 403, 404))
async def fhir_search_observation(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    patient: PatientQuery,
    code: Annotated[
        Annotated[str, JsonPattern(search.CODE_PATTERN)] | None,
        Query(description="LOINC codes, `code` or `http://loinc.org|code`, comma-separated."),
    ] = None,
    date: Annotated[
        list[Annotated[str, JsonPattern(search.DATE_PATTERN)]] | None,
        Query(
            description="When it was measured, with a prefix eq, ge, gt, le or lt; repeatable"
            " (`date=ge2026-01-01&date=le2026-02-01`); days in the patient's time zone."
        ),
    ] = None,
    count: CountQuery = search.DEFAULT_COUNT,
) -> Response:
    """The patient's readings as a searchset Bundle of US Core Observations, newest first."""
    search.check_parameters(_names(request), known=search.OBSERVATION_PARAMETERS)
    bundle = await fhir_service.search_observations(
        session,
        principal=principal,
        patient_ref=search.patient_id(patient),
        codes=search.loinc_codes(code) if code is not None else None,
        dates=search.dates(date or ()),
        count=count,
        cursor=request.query_params.get(search.PAGE_CURSOR),
        links=_links(request),
    )
    return bundle_response(bundle)


@router.get("/QuestionnaireResponse", responses=_answers("Bundle", 400, 401, 403, 404))
async def fhir_search_questionnaire_response(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    patient: PatientQuery,
    questionnaire: Annotated[
        Annotated[str, JsonPattern(search.QUESTIONNAIRE_PATTERN)] | None,
        Query(
            description="Questionnaire canonical URLs (`url` or `url|version`), comma-separated."
        ),
    ] = None,
    count: CountQuery = search.DEFAULT_COUNT,
) -> Response:
    """The patient's check-ins as a searchset Bundle of QuestionnaireResponses, newest first."""
    search.check_parameters(_names(request), known=search.QUESTIONNAIRE_RESPONSE_PARAMETERS)
    bundle = await fhir_service.search_questionnaire_responses(
        session,
        principal=principal,
        patient_ref=search.patient_id(patient),
        canonicals=search.canonicals(questionnaire) if questionnaire is not None else None,
        count=count,
        cursor=request.query_params.get(search.PAGE_CURSOR),
        links=_links(request),
    )
    return bundle_response(bundle)


@router.post(
    "",
    responses=_answers(
        "Bundle",
        400,
        401,
        403,
        404,
        415,
        description="The batch-response or transaction-response: an entry per entry posted.",
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {media: {"schema": POSTED_BUNDLE} for media in MEDIA_TYPES},
        }
    },
)
async def fhir_transaction(
    request: Request, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    """Store the Observations of a batch or transaction Bundle as readings, each once."""
    search.check_parameters(_names(request), known=search.READ_PARAMETERS)
    answer = await fhir_ingest.post_bundle(
        session,
        principal=principal,
        body=await request.body(),
        content_type=request.headers.get("content-type"),
    )
    return Response(
        orjson.dumps(answer.body),
        status_code=answer.status_code,
        media_type=FHIR_JSON,
        headers=NO_STORE,
    )
