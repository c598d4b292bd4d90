"""A patient as a US Core Patient. Pure: no I/O.

Invariants:
- US Core asks for at least one identifier: every patient has this service's id as a
  `urn:uuid:` identifier, and a patient with an MBI also has it, in the CMS MBI naming system
  with the v2-0203 type `MC`, as the CMS ACCESS guide's example Patient does;
- sex maps to `gender` one to one (female, male, other, unknown are FHIR's administrative
  genders).
"""

from __future__ import annotations

from typing import Any, Final

from app.patients.models import Patient

PROFILE: Final = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient|6.1.0"
MBI_SYSTEM: Final = "http://terminology.hl7.org/NamingSystem/cmsMBI"
IDENTIFIER_TYPES: Final = "http://terminology.hl7.org/CodeSystem/v2-0203"
URI_SYSTEM: Final = "urn:ietf:rfc:3986"


def to_patient(patient: Patient) -> dict[str, Any]:
    identifiers: list[dict[str, Any]] = [{"system": URI_SYSTEM, "value": f"urn:uuid:{patient.id}"}]
    if patient.mbi:
        identifiers.append(
            {
                "type": {
                    "coding": [
                        {
                            "system": IDENTIFIER_TYPES,
                            "code": "MC",
                            "display": "Patient's Medicare number",
                        }
                    ]
                },
                "system": MBI_SYSTEM,
                "value": patient.mbi,
            }
        )
    return {
        "resourceType": "Patient",
        "id": str(patient.id),
        "meta": {"profile": [PROFILE]},
        "identifier": identifiers,
        "name": [{"family": patient.family_name, "given": [patient.given_name]}],
        "gender": patient.sex,
        "birthDate": patient.birth_date.isoformat(),
    }
