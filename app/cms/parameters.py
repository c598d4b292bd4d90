"""The `$report-data` input: a `Parameters` resource wrapping a report's document Bundle.

Per the guide's access-report-data-in profile: `participantID` (the organization's ACCESS
participant id, system as in the guide's examples), `payerID` (shaped as the guide's examples:
CARIN BB `payerid` type; its value is a setting, CMS confirms it), `track` (the code of the
bundle's Composition's first section, as the profile's invariant requires), `reportType`
(ACCESSReportTypeCS) and `dataBundle`. Validated with the FHIR models before it is sent.
"""

from __future__ import annotations

from typing import Any, Final

import orjson
from fhir.resources.R4B.parameters import Parameters

PARTICIPANT_SYSTEM: Final = "https://dsacms.github.io/cmmi-access-model/participant-id"
PAYER_SYSTEM: Final = "urn:oid:2.16.840.1.113883.3.221.5"
PAYER_TYPE: Final = {
    "coding": [
        {
            "system": "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBIdentifierType",
            "code": "payerid",
            "display": "Payer ID",
        }
    ]
}


def report_data(
    bundle: dict[str, Any], *, participant_id: str, payer_id: str, report_type: dict[str, Any]
) -> bytes:
    """The Parameters to POST, as JSON bytes; `report_type` is an ACCESSReportTypeCS coding."""
    composition = bundle["entry"][0]["resource"]
    track = composition["section"][0]["code"]
    parameters = {
        "resourceType": "Parameters",
        "parameter": [
            {
                "name": "participantID",
                "valueIdentifier": {"system": PARTICIPANT_SYSTEM, "value": participant_id},
            },
            {
                "name": "payerID",
                "valueIdentifier": {"type": PAYER_TYPE, "system": PAYER_SYSTEM, "value": payer_id},
            },
            {"name": "track", "valueCodeableConcept": track},
            {"name": "reportType", "valueCodeableConcept": {"coding": [report_type]}},
            {"name": "dataBundle", "resource": bundle},
        ],
    }
    Parameters.model_validate(parameters)
    return orjson.dumps(parameters)
