from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.auth.dependencies import CurrentPrincipal
from app.db import SessionDep
from app.errors import error_responses
from app.pagination import Cursor, Limit
from app.patients.dependencies import IngestPatient, ReachablePatient
from app.readings import deletion as deletion_service
from app.readings import feed as feed_service
from app.readings import ingest as ingest_service
from app.readings import queries as queries_service
from app.readings.bounds import BOUND_PATTERN, parse_bound
from app.readings.reads import ChangesPage, ReadingPage
from app.readings.schemas import (
    BatchResult,
    DailyList,
    GlucoseMetricsRead,
    IngestResult,
    ReadingBatch,
    ReadingItem,
    ReadingType,
)
from app.schemas import JsonPattern, data_response, json_response

router = APIRouter(prefix="/v1/patients/{patient_id}/readings", tags=["readings"])

# Checked by parse_bound, with a sentence for a person rather than a regular expression.
BoundText = Annotated[str, JsonPattern(BOUND_PATTERN)]
FromQuery = Annotated[
    BoundText | None,
    Query(
        alias="from",
        max_length=40,
        description="First local day (YYYY-MM-DD, inclusive) or a timestamp with offset,"
        " 1900-2099.",
    ),
]
ToQuery = Annotated[
    BoundText | None,
    Query(
        alias="to",
        max_length=40,
        description="Last local day (YYYY-MM-DD, inclusive) or a timestamp with offset, 1900-2099.",
    ),
]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": IngestResult, "description": "A repeat: the stored reading's id."}},
)
async def create_reading(
    body: ReadingItem,
    patient: IngestPatient,
    principal: CurrentPrincipal,
    session: SessionDep,
    response: Response,
) -> IngestResult:
    """Store one reading: 201 created, or 200 with the stored id when it is a repeat."""
    result = await ingest_service.ingest_one(
        session, principal=principal, patient=patient, reading=body
    )
    if result.status == "duplicate":
        response.status_code = status.HTTP_200_OK
    return result


@router.post("/batch", response_model=BatchResult, response_model_exclude_none=True)
async def ingest_batch(
    body: ReadingBatch, patient: IngestPatient, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    """Store up to 1000 readings together; each item is created, duplicate or invalid."""
    results = await ingest_service.ingest(
        session, principal=principal, patient=patient, readings=body.readings
    )
    return json_response(BatchResult(results=results), exclude_none=True)


@router.get("", response_model=ReadingPage)
async def list_readings(
    patient: ReachablePatient,
    principal: CurrentPrincipal,
    session: SessionDep,
    type: Annotated[ReadingType | None, Query(description="Only this reading type.")] = None,
    from_: FromQuery = None,
    to: ToQuery = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Response:
    """The patient's readings, newest first, values in canonical units."""
    items, next_cursor = await queries_service.list_readings(
        session,
        principal=principal,
        patient=patient,
        reading_type=type,
        first=parse_bound(from_, name="from"),
        last=parse_bound(to, name="to"),
        limit=limit,
        cursor=cursor,
    )
    return data_response({"items": items, "next_cursor": next_cursor})


@router.get("/changes", response_model=ChangesPage)
async def reading_changes(
    patient: ReachablePatient,
    principal: CurrentPrincipal,
    session: SessionDep,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Response:
    """Every change after `cursor` in server order (deletes included), to mirror the readings."""
    page = await feed_service.changes(
        session, principal=principal, patient=patient, limit=limit, cursor=cursor
    )
    return data_response(page)


@router.get("/daily", response_model=DailyList)
async def daily_readings(
    patient: ReachablePatient,
    principal: CurrentPrincipal,
    session: SessionDep,
    type: Annotated[ReadingType, Query(description="The reading type.")],
    from_: FromQuery = None,
    to: ToQuery = None,
) -> Response:
    """Per local day (default the last 30): count, mean, min, max; blood pressure per component."""
    daily = await queries_service.daily(
        session,
        principal=principal,
        patient=patient,
        reading_type=type,
        first=parse_bound(from_, name="from"),
        last=parse_bound(to, name="to"),
    )
    return data_response(daily)


@router.get("/glucose-metrics")
async def glucose_metrics(
    patient: ReachablePatient,
    principal: CurrentPrincipal,
    session: SessionDep,
    from_: FromQuery = None,
    to: ToQuery = None,
) -> GlucoseMetricsRead:
    """CGM consensus metrics (time in range, GMI, CV) over local days (default the last 14)."""
    return await queries_service.glucose_metrics_for(
        session,
        principal=principal,
        patient=patient,
        first=parse_bound(from_, name="from"),
        last=parse_bound(to, name="to"),
    )


# `:uuid` routes only ids here, so DELETE on a sibling (`/batch`, `/daily`) is the 405 it is
# rather than a 422 for an id that was never meant; the schema's path stays `{reading_id}`.
@router.delete(
    "/{reading_id:uuid}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404)
)
async def delete_reading(
    reading_id: uuid.UUID,
    patient: ReachablePatient,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> Response:
    """Delete a reading (kept as a tombstone for the changes feed); repeating it is harmless."""
    await deletion_service.delete_reading(
        session, principal=principal, patient=patient, reading_id=reading_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
