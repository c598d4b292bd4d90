"""Who a report names: its author (a US Core Practitioner) and custodian (a US Core
Organization), as the CMS ACCESS guide's example bundles have them. Pure: no I/O.

Invariants (docs/api.md "Report bundles"):
- the Practitioner is the clinician who prepared the report, identified by their NPI (system
  `http://hl7.org/fhir/sid/us-npi`) and named by their name: US Core asks for a family name, so
  the last word of the name is the family name and the words before it the given names, the
  whole name kept as `text`;
- the Organization is identified by its ACCESS participant id in the guide's participant-id
  system first, exactly as the example, then by its NPI when it has one; it is `active`;
- the caller checks that the NPI, the name and the participant id exist (`report_bundle`
  refuses the report otherwise, naming what is missing): these functions assume them.
"""

from __future__ import annotations

from typing import Any, Final

from app.auth.models import User
from app.fhir.report_codes import NPI_SYSTEM, PARTICIPANT_ID_SYSTEM
from app.organizations.models import Organization

_US_CORE: Final = "http://hl7.org/fhir/us/core/StructureDefinition/"
PRACTITIONER_PROFILE: Final = _US_CORE + "us-core-practitioner|6.1.0"
ORGANIZATION_PROFILE: Final = _US_CORE + "us-core-organization|6.1.0"


def human_name(full: str) -> dict[str, Any]:
    """A person's one-string name as a FHIR HumanName: `text`, the last word as `family`, the
    words before it as `given` ("Jane Q. Smith" -> family Smith, given Jane, Q.)."""
    words = full.split()
    name: dict[str, Any] = {"text": " ".join(words), "family": words[-1]}
    if len(words) > 1:
        name["given"] = words[:-1]
    return name


def to_practitioner(user: User) -> dict[str, Any]:
    """The report's author: the preparing clinician, by NPI and name."""
    if not user.npi or not user.name or not user.name.strip():
        raise ValueError("a report's Practitioner needs the preparer's NPI and name")
    return {
        "resourceType": "Practitioner",
        "id": str(user.id),
        "meta": {"profile": [PRACTITIONER_PROFILE]},
        "identifier": [{"system": NPI_SYSTEM, "value": user.npi}],
        "name": [human_name(user.name)],
    }


def to_organization(organization: Organization) -> dict[str, Any]:
    """The report's custodian: the participant, by ACCESS participant id (and NPI)."""
    if not organization.access_participant_id:
        raise ValueError("a report's Organization needs the ACCESS participant id")
    identifiers = [{"system": PARTICIPANT_ID_SYSTEM, "value": organization.access_participant_id}]
    if organization.npi:
        identifiers.append({"system": NPI_SYSTEM, "value": organization.npi})
    return {
        "resourceType": "Organization",
        "id": str(organization.id),
        "meta": {"profile": [ORGANIZATION_PROFILE]},
        "identifier": identifiers,
        "active": True,
        "name": organization.name,
    }
