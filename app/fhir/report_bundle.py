"""A report as the CMS ACCESS document Bundle (docs/api.md "Report bundles").

Invariants:
- only a report that can be sent to CMS has a bundle: a complete report, of a patient with an
  MBI, in an organization with its ACCESS participant id, prepared by a clinician with an NPI
  and a name; otherwise a 409 `NotSubmittable` names everything missing at once (`fields`);
- the bundle is a `document` (profile access-data-reporting-bundle): first the Composition
  (access-data-reporting-composition, one track section: `report_sections.py`), then the
  Patient, the Practitioner who prepared the report, the Organization, then the resources the
  report used, in its sub-sections' order. Every entry's fullUrl is `urn:uuid:<its id>` and every
  reference between entries is one of them, so each reference of the Composition resolves
  inside the bundle (the guide's bundle invariant);
- it holds what the report used and nothing later: the readings and check-ins its `source_ids`
  name (the report is frozen: a reading deleted since it was prepared is still what it used),
  and the BMI it shows, derived from the weight and the height it used (`derivedFrom` both);
- the same report and identifier give the same JSON: the bundle's timestamp and the
  Composition's date are the report's creation time, and the BMI's id is made from the ids of
  its weight and height;
- validated by the FHIR models (their R4B package, as the /fhir API) before it is returned;
  the route's read is audited (`report_bundle`) in the request's transaction.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, Final

from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.auth.models import User
from app.auth.principal import Principal
from app.checkins.models import Checkin
from app.errors import Conflict, FieldError, NotFound
from app.fhir import observations, patients, questionnaires, report_parties
from app.fhir.checkin_rows import CHECKIN_ROWS
from app.fhir.primitives import date_time
from app.fhir.report_codes import (
    BUNDLE_PROFILE,
    COMPOSITION_PROFILE,
    DOCUMENT_TYPE,
    URI_SYSTEM,
    report_type_coding,
    track_coding,
)
from app.fhir.report_sections import HEIGHT, RESOURCE_ORDER, narrative, paragraph, track_section
from app.organizations.models import Organization
from app.outcomes.models import Report
from app.patients.models import Patient
from app.readings import queries as readings_queries
from app.readings.models import Reading

# The codings the $report-data Parameters name the track and report type by (`report_codes`).
__all__ = [
    "NotSubmittable",
    "document",
    "problems",
    "read_report_bundle",
    "report_bundle",
    "report_type_coding",
    "track_coding",
]

_audit = audit_service.Trail("report_bundle")
BMI: Final = "bmi"
_BMI_PROFILE: Final = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-bmi|6.1.0"


class NotSubmittable(Conflict):
    """The report cannot be sent to CMS as it stands; `fields` name each thing missing."""

    error = "NotSubmittable"

    def __init__(self, found: Sequence[FieldError]) -> None:
        reasons = "; ".join(p.message for p in found)
        super().__init__(f"The report cannot be sent to CMS: {reasons}.", fields=found)


def problems(
    *,
    report: Report,
    patient: Patient,
    organization: Organization,
    preparer: User | None,
) -> list[FieldError]:
    """Everything that keeps the report from being sent, in the order the bundle needs it."""
    found: list[FieldError] = []
    if not report.complete:
        missing = ", ".join(report.missing) or "a value"
        found.append(
            FieldError(
                path="report.complete",
                message=f"the report is incomplete (missing {missing}); an incomplete report"
                " cannot be submitted",
            )
        )
    if not patient.mbi:
        found.append(
            FieldError(
                path="patient.mbi",
                message="the patient has no MBI (Medicare Beneficiary Identifier)",
            )
        )
    if not organization.access_participant_id:
        found.append(
            FieldError(
                path="organization.access_participant_id",
                message="the organization has no ACCESS participant id",
            )
        )
    who = "the clinician who prepared the report"
    if preparer is not None and preparer.name:
        who = f"{who} ({preparer.name})"
    if preparer is None or not preparer.npi:
        found.append(FieldError(path="preparer.npi", message=f"{who} has no NPI"))
    if preparer is None or not (preparer.name or "").strip():
        found.append(FieldError(path="preparer.name", message=f"{who} has no name"))
    return found


def _urn(resource_id: uuid.UUID | str) -> str:
    return f"urn:uuid:{resource_id}"


def _refer(resource: dict[str, Any], patient_url: str) -> dict[str, Any]:
    """The resource with its patient references pointing at the bundle's Patient entry."""
    for key in ("subject", "source", "author"):
        if key in resource:
            resource[key] = {"reference": patient_url}
    return resource


def _bmi(
    weight: Mapping[str, Any], height_id: uuid.UUID, *, bmi: float, patient_url: str
) -> dict[str, Any]:
    """The BMI the report shows, as a US Core BMI Observation derived from its weight and
    height (the Observations `weight` and the height of `height_id` in the bundle)."""
    return {
        "resourceType": "Observation",
        "id": str(uuid.uuid5(uuid.UUID(weight["id"]), f"bmi/{height_id}")),
        "meta": {"profile": [_BMI_PROFILE]},
        "status": "final",
        "category": weight["category"],
        "code": {
            "coding": [{"system": observations.LOINC, "code": "39156-5"}],
            "text": "Body mass index",
        },
        "subject": {"reference": patient_url},
        "effectiveDateTime": weight["effectiveDateTime"],
        "valueQuantity": {
            "value": bmi,
            "unit": "kg/m2",
            "system": observations.UCUM,
            "code": "kg/m2",
        },
        "derivedFrom": [{"reference": _urn(weight["id"])}, {"reference": _urn(height_id)}],
    }


def document(
    *,
    report: Report,
    patient: Patient,
    organization: Organization,
    preparer: User,
    readings: Mapping[uuid.UUID, dict[str, Any]],
    checkins: Mapping[uuid.UUID, questionnaires.CheckinRow],
    identifier: uuid.UUID,
) -> dict[str, Any]:
    """The bundle of a submittable report from what it used (pure; `readings` in /v1's read
    shape, keyed by id, and the check-ins, hold every id the report names)."""
    patient_url = _urn(patient.id)
    data: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for measure in report.measures:
        for raw in measure["source_ids"]:
            source = uuid.UUID(raw)
            if source in readings:
                reading = readings[source]
                resource = observations.to_observation(reading, patient_id=patient.id)
                data[reading["type"]].append(_refer(resource, patient_url))
            else:
                row = checkins[source]
                resource = questionnaires.to_questionnaire_response(row, patient_id=patient.id)
                data[row.instrument].append(_refer(resource, patient_url))
        if measure.get("bmi") is not None and measure.get("height_id") and data["weight"]:
            height_id = uuid.UUID(measure["height_id"])
            height = observations.to_observation(readings[height_id], patient_id=patient.id)
            data[HEIGHT].append(_refer(height, patient_url))
            data[BMI].append(
                _bmi(data["weight"][-1], height_id, bmi=measure["bmi"], patient_url=patient_url)
            )
    practitioner = report_parties.to_practitioner(preparer)
    custodian = report_parties.to_organization(organization)
    section = track_section(
        track=report.track,
        report_type=report.type,
        report_date=report.report_date,
        measures=report.measures,
        entries={key: [_urn(r["id"]) for r in found] for key, found in data.items()},
    )
    title = f"ACCESS {report.track} Track Data Report"
    kind = report_type_coding(report.type)
    composition = {
        "resourceType": "Composition",
        "id": str(report.id),
        "meta": {"profile": [COMPOSITION_PROFILE]},
        "text": narrative(
            f"<h3>{title}</h3>",
            paragraph(f"{kind['display']}, report date {report.report_date.isoformat()}."),
            paragraph(f"Patient: {patient.given_name} {patient.family_name} (MBI: {patient.mbi})."),
            paragraph(f"Author: {practitioner['name'][0]['text']}."),
        ),
        "status": "final",
        "type": {"coding": [DOCUMENT_TYPE]},
        # The guide's examples name the report type only in the $report-data Parameters; the
        # document names it too, so it says what it reports when read alone.
        "category": [{"coding": [kind]}],
        "subject": {"reference": patient_url},
        "date": date_time(report.created_at),
        "author": [{"reference": _urn(preparer.id)}],
        "title": title,
        "custodian": {"reference": _urn(organization.id)},
        "section": [section],
    }
    resources = [
        composition,
        patients.to_patient(patient),
        practitioner,
        custodian,
        *(resource for key in RESOURCE_ORDER for resource in data.get(key, ())),
    ]
    return {
        "resourceType": "Bundle",
        "meta": {"profile": [BUNDLE_PROFILE]},
        "identifier": {"system": URI_SYSTEM, "value": _urn(identifier)},
        "type": "document",
        "timestamp": date_time(report.created_at),
        "entry": [{"fullUrl": _urn(r["id"]), "resource": r} for r in resources],
    }


def _source_ids(report: Report) -> set[uuid.UUID]:
    ids = {uuid.UUID(raw) for m in report.measures for raw in m["source_ids"]}
    ids |= {uuid.UUID(m["height_id"]) for m in report.measures if m.get("height_id")}
    return ids


async def _sources(
    session: AsyncSession, *, report: Report
) -> tuple[dict[uuid.UUID, dict[str, Any]], dict[uuid.UUID, questionnaires.CheckinRow]]:
    """The readings and check-ins the report names (tombstoned readings too: it is frozen)."""
    ids = sorted(_source_ids(report))
    if not ids:
        return {}, {}
    reading_rows = await session.execute(
        select(*readings_queries.READ_COLUMNS).where(
            Reading.patient_id == report.patient_id, Reading.id.in_(ids)
        )
    )
    readings = {row[0]: readings_queries.to_read(row) for row in reading_rows}
    checkin_rows = await session.execute(
        CHECKIN_ROWS.where(Checkin.patient_id == report.patient_id, Checkin.id.in_(ids))
    )
    checkins = {row[0]: questionnaires.CheckinRow(*row) for row in checkin_rows}
    return readings, checkins


async def report_bundle(
    session: AsyncSession, *, report: Report, identifier: str | None = None
) -> dict[str, Any]:
    """The report as the CMS ACCESS document Bundle, validated, as a JSON-ready dict.

    `identifier` is the bundle's identifier, a UUID (`urn:uuid:` is written before it; one
    already written is taken too); default: the report's id. 409 `NotSubmittable` naming
    everything missing when the report cannot be sent."""
    bundle_id = report.id if identifier is None else uuid.UUID(identifier.removeprefix("urn:uuid:"))
    patient = await session.get(Patient, report.patient_id)
    assert patient is not None  # a report's patient is its foreign key (cascading delete)
    organization = await session.get(Organization, patient.organization_id)
    assert organization is not None
    preparer = await session.get(User, report.created_by) if report.created_by else None
    found = problems(report=report, patient=patient, organization=organization, preparer=preparer)
    readings, checkins = await _sources(session, report=report)
    gone = sorted(str(i) for i in _source_ids(report) - readings.keys() - checkins.keys())
    if gone:
        found.append(
            FieldError(
                path="report.source_ids",
                message=f"what the report used is no longer stored ({', '.join(gone)})",
            )
        )
    if found:
        raise NotSubmittable(found)
    assert preparer is not None
    bundle = document(
        report=report,
        patient=patient,
        organization=organization,
        preparer=preparer,
        readings=readings,
        checkins=checkins,
        identifier=bundle_id,
    )
    Bundle.model_validate(bundle)
    return bundle


async def read_report_bundle(
    session: AsyncSession, *, principal: Principal, patient: Patient, report_id: uuid.UUID
) -> dict[str, Any]:
    """`GET .../reports/{report_id}/bundle`: the patient's report as its bundle, audited."""
    report = await session.scalar(
        select(Report).where(Report.id == report_id, Report.patient_id == patient.id)
    )
    if report is None:
        raise NotFound("No such report.")
    bundle = await report_bundle(session, report=report)
    _audit(session, principal=principal, patient=patient, action="read", resource_id=report.id)
    return bundle
