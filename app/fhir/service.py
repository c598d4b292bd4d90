"""The FHIR reads: a patient, a search of their readings, a search of their check-ins.

Invariants:
- the patient is loaded through reach (`app.patients.reach`), then the role is checked: a
  patient sees themself, staff their organization's patients, a device nothing (403); a
  patient out of reach is 404 whatever the role, and a 403 or 404 leaves a `denied` audit
  event (`app.audit.denials`), as on `/v1`'s patient routes;
- every read is audited in the request's session (so its transaction): `fhir_patient`,
  `fhir_observation`, `fhir_questionnaire_response`;
- searches page by keyset (`app.pagination.keyset_page`): newest first by (time, id), one
  query per page, never OFFSET; a `_cursor` the server did not issue is 422 naming it;
- only live readings are found (tombstones never are); every resource returned is built and
  validated by the FHIR R4 models of `fhir.resources` (its R4B package: the resources served
  here are the same in R4 and R4B); single resources are serialized by them, searchsets as the
  dict that validated (`app/fhir/bundles.py` says why).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.patient import Patient as FhirPatient
from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.audit.denials import Denial, parse_uuid
from app.auth.dependencies import ensure_role
from app.auth.principal import PEOPLE, Principal
from app.checkins.models import Checkin
from app.db import on_error
from app.errors import FieldError, Invalid
from app.fhir import bundles, capability, observations, patients, questionnaires
from app.fhir.checkin_rows import CHECKIN_ROWS
from app.fhir.search import PAGE_CURSOR, DateParam
from app.pagination import decode_keyset, keyset_page
from app.patients import reach
from app.patients.models import Enrollment, Patient
from app.readings import queries as readings_queries
from app.readings.models import Reading

_audit_patient = audit_service.Trail("fhir_patient")
_audit_observations = audit_service.Trail("fhir_observation")
_audit_responses = audit_service.Trail("fhir_questionnaire_response")
_ROLES = frozenset(PEOPLE)
_MAX_CURSOR = 2048


def metadata(*, base_url: str, software_version: str) -> CapabilityStatement:
    """The CapabilityStatement (not patient data: nothing to audit)."""
    return CapabilityStatement.model_validate(
        capability.capability_statement(base_url=base_url, software_version=software_version)
    )


async def reached_patient(
    session: AsyncSession, *, principal: Principal, ref: str, operation: str
) -> Patient:
    """The patient `ref` names, through reach (404) and then role (403), as `/v1` does."""
    denial = Denial(
        principal=principal,
        method="GET",
        operation=operation,
        requested=principal.patient_id if ref == reach.ME else parse_uuid(ref),
    )
    on_error(session, denial)
    patient = await reach.get_reachable(session, principal=principal, ref=ref)
    denial.reached(organization_id=patient.organization_id, patient_id=patient.id)
    ensure_role(principal, roles=_ROLES)
    return patient


async def read_patient(session: AsyncSession, *, principal: Principal, ref: str) -> FhirPatient:
    patient = await reached_patient(
        session, principal=principal, ref=ref, operation="fhir_read_patient"
    )
    _audit_patient(
        session, principal=principal, patient=patient, action="read", resource_id=patient.id
    )
    return FhirPatient.model_validate(patients.to_patient(patient))


def _checked_cursor(cursor: str | None) -> None:
    """422 naming `_cursor` for one the server did not issue (app/pagination.py's rule)."""
    if cursor is None:
        return
    try:
        if len(cursor) > _MAX_CURSOR:
            raise Invalid("cursor too long")
        decode_keyset(cursor)
    except Invalid:
        raise Invalid(
            "The _cursor is not one this server issued: start again from the first page.",
            fields=[FieldError(path=PAGE_CURSOR, message="invalid cursor")],
        ) from None


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _date_conditions(
    column: Any, dates: Sequence[DateParam], zone: ZoneInfo
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    for param in dates:
        lower, upper = param.bounds(zone)
        if lower is not None:
            conditions.append(column >= lower)
        if upper is not None:
            conditions.append(column < upper)
    return conditions


def _code_condition(codes: frozenset[str]) -> ColumnElement[bool]:
    matches: list[ColumnElement[bool]] = [Reading.code.in_(sorted(codes))]
    if codes & observations.BLOOD_PRESSURE_COMPONENT_CODES:
        matches.append(Reading.type == "blood_pressure")
    return or_(*matches)


async def search_observations(
    session: AsyncSession,
    *,
    principal: Principal,
    patient_ref: str,
    codes: frozenset[str] | None,
    dates: Sequence[DateParam],
    count: int,
    cursor: str | None,
    links: bundles.Links,
) -> dict[str, Any]:
    """The patient's live readings as Observations, newest first, a page at a time."""
    _checked_cursor(cursor)
    patient = await reached_patient(
        session, principal=principal, ref=patient_ref, operation="fhir_search_observation"
    )
    conditions = [
        Reading.patient_id == patient.id,
        Reading.deleted_at.is_(None),
        *_date_conditions(Reading.effective_at, dates, _zone(patient.timezone)),
    ]
    if codes is not None:
        conditions.append(_code_condition(codes))
    rows: list[Any]
    rows, next_cursor = await keyset_page(
        session,
        statement=select(*readings_queries.READ_COLUMNS).where(*conditions),
        time_column=Reading.effective_at,
        id_column=Reading.id,
        limit=count,
        cursor=cursor,
        plain_rows=True,
    )
    _audit_observations(session, principal=principal, patient=patient, action="read")
    resources = [
        observations.to_observation(readings_queries.to_read(row), patient_id=patient.id)
        for row in rows
    ]
    return bundles.searchset("Observation", resources, links=links, next_cursor=next_cursor)


def _questionnaire_condition(url: str, version: str | None) -> ColumnElement[bool]:
    """The check-ins whose response names the questionnaire `url` (and `version`)."""
    questionnaire = questionnaires.BY_URL.get(url)
    if questionnaire is None:
        return false()
    parts: list[ColumnElement[bool]] = [Checkin.instrument == questionnaire.instrument]
    if version is not None:
        parts.append(Checkin.version == version)
    variants = questionnaires.track_variants(questionnaire.instrument)
    if questionnaire.track is not None:
        parts.append(Enrollment.track == questionnaire.track)
    elif variants:
        parts.append(or_(Enrollment.track.is_(None), Enrollment.track.not_in(variants)))
    return and_(*parts)


async def search_questionnaire_responses(
    session: AsyncSession,
    *,
    principal: Principal,
    patient_ref: str,
    canonicals: Sequence[tuple[str, str | None]] | None,
    count: int,
    cursor: str | None,
    links: bundles.Links,
) -> dict[str, Any]:
    """The patient's check-ins as QuestionnaireResponses, newest completed first."""
    _checked_cursor(cursor)
    patient = await reached_patient(
        session,
        principal=principal,
        ref=patient_ref,
        operation="fhir_search_questionnaire_response",
    )
    statement = CHECKIN_ROWS.where(Checkin.patient_id == patient.id)
    if canonicals is not None:
        statement = statement.where(
            or_(*(_questionnaire_condition(url, version) for url, version in canonicals))
        )
    rows: list[Any]
    rows, next_cursor = await keyset_page(
        session,
        statement=statement,
        time_column=Checkin.completed_at,
        id_column=Checkin.id,
        limit=count,
        cursor=cursor,
        plain_rows=True,
    )
    _audit_responses(session, principal=principal, patient=patient, action="read")
    resources = [
        questionnaires.to_questionnaire_response(
            questionnaires.CheckinRow(*row), patient_id=patient.id
        )
        for row in rows
    ]
    return bundles.searchset(
        "QuestionnaireResponse", resources, links=links, next_cursor=next_cursor
    )
