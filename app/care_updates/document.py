"""A care-coordination update as a FHIR R4 document Bundle; pure.

docs/api.md "Care-coordination updates":
- the Bundle (`type: document`, a new identifier and `timestamp` per rendering) holds the
  Composition first, then the Patient (`app/fhir/patients.py`), the author Organization, the
  recipient Practitioner (the referring clinician, by NPI when known) and the Observations and
  QuestionnaireResponses of the latest values the measures section shows;
- the Composition is `final`, typed LOINC 34133-9 "Summary of episode note" (the document type
  of C-CDA's Continuity of Care Document: a summary one clinician sends another so care stays
  continuous), identified by the update (`urn:uuid:<update id>`: each rendering is a version
  of that one document), its `event` the care period; its subject is the Patient, its author
  and custodian the organization; its sections are `sections.py`'s, each with a narrative;
- full URLs are RESTful (`<base>/<type>/<id>`) and references relative, as in the CMS ACCESS
  guide's example bundles, so each reference resolves to an entry;
- the Bundle is validated by the FHIR models (`fhir.resources`, its R4B package: the resources
  used are the same in R4 and R4B) before it is returned; one they refuse is a bug.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from fhir.resources.R4B.bundle import Bundle

from app.care_updates import sections
from app.care_updates.narrative import narrative, paragraph
from app.clock import local_date
from app.fhir import patients
from app.fhir.primitives import date_time
from app.fhir.report_codes import LOINC, NPI_SYSTEM, URI_SYSTEM

DOCUMENT_TYPE: Final = {"system": LOINC, "code": "34133-9", "display": "Summary of episode note"}
TITLES: Final = {
    "initiation": "Care-coordination update: start of care",
    "escalation": "Care-coordination update: escalation",
    "completion": "Care-coordination update: completion of care",
}


def practitioner_id(facts: sections.Facts) -> str | None:
    """The recipient's id in the document: one per care period (a referring clinician has no
    record of their own here); None without a referring clinician."""
    if not facts.enrollment.referring_clinician:
        return None
    return str(uuid.uuid5(facts.enrollment.id, "referring-clinician"))


def _practitioner(facts: sections.Facts, resource_id: str) -> dict[str, Any]:
    clinician = facts.enrollment.referring_clinician or {}
    practitioner: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": resource_id,
        # The name as typed, often with a title ("Dr. Rivera"): split into given and family
        # names (as a report's preparer is) the title would pass for a given name.
        "name": [{"text": clinician["name"]}],
    }
    if clinician.get("npi"):
        practitioner["identifier"] = [{"system": NPI_SYSTEM, "value": clinician["npi"]}]
    if clinician.get("direct_address"):
        # A Direct address is written as an email address (DirectTrust), so it is one.
        practitioner["telecom"] = [{"system": "email", "value": clinician["direct_address"]}]
    return practitioner


def _organization(facts: sections.Facts) -> dict[str, Any]:
    organization: dict[str, Any] = {
        "resourceType": "Organization",
        "id": str(facts.organization_id),
        "active": True,
        "name": facts.organization_name,
    }
    if facts.organization_npi:
        organization["identifier"] = [{"system": NPI_SYSTEM, "value": facts.organization_npi}]
    return organization


def _period(facts: sections.Facts) -> dict[str, str]:
    """The care period as the patient's local days: from its start to its last day, or to
    the day it was ended."""
    e = facts.enrollment
    end = e.end_date
    if e.ended_at is not None:
        end = min(end, local_date(e.ended_at, zone=facts.patient.timezone))
    return {"start": e.start_date.isoformat(), "end": max(end, e.start_date).isoformat()}


def _composition(facts: sections.Facts, recipient: str | None) -> dict[str, Any]:
    u = facts.update
    name = f"{facts.patient.given_name} {facts.patient.family_name}"
    title = TITLES[u.kind]
    return {
        "resourceType": "Composition",
        "id": str(u.id),
        "text": narrative(paragraph(f"{title} for {name}: {sections.reason(facts)}")),
        "identifier": {"system": URI_SYSTEM, "value": f"urn:uuid:{u.id}"},
        "status": "final",
        "type": {"coding": [DOCUMENT_TYPE], "text": "Care-coordination update"},
        "subject": {"reference": f"Patient/{facts.patient.id}"},
        "date": date_time(facts.now),
        "author": [{"reference": f"Organization/{facts.organization_id}"}],
        "title": title,
        "custodian": {"reference": f"Organization/{facts.organization_id}"},
        "event": [{"period": _period(facts)}],
        "section": [
            sections.period_section(facts),
            sections.measures_section(facts),
            sections.alerts_section(facts),
            sections.recipient_section(facts, recipient),
        ],
    }


def document(facts: sections.Facts) -> dict[str, Any]:
    """The update as a validated FHIR document Bundle (a dict, as it validated)."""
    recipient = practitioner_id(facts)
    resources = [
        _composition(facts, recipient),
        patients.to_patient(facts.patient),
        _organization(facts),
        *([_practitioner(facts, recipient)] if recipient else []),
        *facts.evidence,
    ]
    document_id = uuid.uuid4()
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(document_id),
        "identifier": {"system": URI_SYSTEM, "value": f"urn:uuid:{document_id}"},
        "type": "document",
        "timestamp": date_time(facts.now),
        "entry": [
            {"fullUrl": f"{facts.base}/{r['resourceType']}/{r['id']}", "resource": r}
            for r in resources
        ],
    }
    Bundle.model_validate(bundle)
    return bundle
