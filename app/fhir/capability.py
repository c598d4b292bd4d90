"""The CapabilityStatement of `GET /fhir/metadata`: what this FHIR server does. Pure: no I/O.

Invariant: it lists exactly the interactions and search parameters the router serves
(`app/fhir/search.py` holds the parameter sets, a test compares them): the reads, the searches,
and the batch and transaction Bundles of Observation creates (`app/fhir/ingest.py`), so a
client that reads it never tries one that is refused.
"""

from __future__ import annotations

from typing import Any, Final

from app.fhir import observations, patients, questionnaires

FHIR_VERSION: Final = "4.0.1"
# The day this statement last changed.
DATE: Final = "2026-11-30"
_BEARER: Final = (
    "Bearer access tokens of this service (POST /v1/auth/token), as for /v1; a patient sees"
    " themself, staff their organization's patients; a device only posts Observations about"
    " its own patient, as it posts readings on /v1."
)
_BUNDLES: Final = (
    "A Bundle of Observations to create (POST Observation), at most 1000, each stored as a"
    " reading once per identifier: a resend is 200 OK with the stored one."
)


def _parameter(name: str, kind: str, documentation: str) -> dict[str, Any]:
    return {"name": name, "type": kind, "documentation": documentation}


def capability_statement(*, base_url: str, software_version: str) -> dict[str, Any]:
    """The statement, as a dict for the model to validate; `base_url` is the /fhir base."""
    count = _parameter("_count", "number", "Page size, 1 to 1000 (default 100).")
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": DATE,
        "publisher": "access-rpm",
        "kind": "instance",
        "software": {"name": "access-rpm", "version": software_version},
        "implementation": {
            "description": "access-rpm US Core API: reads, and Observations posted in batch"
            " or transaction Bundles",
            "url": base_url,
        },
        "fhirVersion": FHIR_VERSION,
        "format": ["json", "application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "security": {"description": _BEARER},
                "resource": [
                    {
                        "type": "Patient",
                        "supportedProfile": [patients.PROFILE],
                        "interaction": [{"code": "read"}],
                    },
                    {
                        "type": "Observation",
                        "supportedProfile": sorted(
                            {observations.profile(kind) for kind in observations.PROFILES}
                        ),
                        "interaction": [
                            {
                                "code": "create",
                                "documentation": "Only in a batch or transaction Bundle"
                                " (POST /fhir); the identifier makes a resend a repeat.",
                            },
                            {"code": "search-type"},
                        ],
                        "conditionalCreate": True,
                        "searchParam": [
                            _parameter("patient", "reference", "Required: Patient/<id> or <id>."),
                            _parameter(
                                "code",
                                "token",
                                "LOINC codes; a blood-pressure panel is also found by its"
                                " systolic (8480-6) and diastolic (8462-4) components.",
                            ),
                            _parameter(
                                "date",
                                "date",
                                "Repeatable; prefixes eq, ge, gt, le, lt; days in the"
                                " patient's time zone.",
                            ),
                            count,
                        ],
                    },
                    {
                        "type": "QuestionnaireResponse",
                        "supportedProfile": [questionnaires.PROFILE],
                        "interaction": [{"code": "search-type"}],
                        "searchParam": [
                            _parameter("patient", "reference", "Required: Patient/<id> or <id>."),
                            _parameter(
                                "questionnaire", "reference", "Questionnaire canonical URLs."
                            ),
                            count,
                        ],
                    },
                ],
                "interaction": [
                    {"code": "transaction", "documentation": _BUNDLES + " All or nothing."},
                    {"code": "batch", "documentation": _BUNDLES + " Each entry on its own."},
                ],
            }
        ],
    }
