"""Readings as US Core Observations: LOINC codes, UCUM units, the blood-pressure panel.

Pure: no I/O. A reading comes in as it reads back on `/v1` (`app.readings.queries.to_read`),
values in canonical units, and leaves as a dict for the FHIR model to validate.

Invariants:
- the code is the reading's stored LOINC code (glucose by specimen, LDL by method) and every
  quantity carries its canonical UCUM unit as both `unit` and `code`
  (`app/readings/catalog.py`; docs/rules.md "Codes and units");
- blood pressure is the panel 85354-9 with no value of its own and a component per measured
  part: systolic 8480-6, diastolic 8462-4 and, when sent, pulse 8867-4 (US Core Blood Pressure);
- a steps reading is counted over its interval (`effectivePeriod`), every other reading at its
  instant (`effectiveDateTime`), with the offset it was sent with; `issued` is when it arrived;
- profiles and categories follow the CMS ACCESS guide's example bundles (US Core 6.1.0):
  vital signs for blood pressure, heart rate, weight, height and waist, laboratory results for
  glucose and labs, a simple observation in the activity category for steps;
- a reading sent with a `client_id` has it as its identifier (`urn:uuid:`), the key by which a
  client recognises its own readings.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from app.fhir.primitives import date_time
from app.readings import catalog

LOINC: Final = "http://loinc.org"
UCUM: Final = "http://unitsofmeasure.org"
CATEGORY_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/observation-category"
URI_SYSTEM: Final = "urn:ietf:rfc:3986"
_US_CORE: Final = "http://hl7.org/fhir/us/core/StructureDefinition/"
_LAB_TYPES: Final = (
    "glucose",
    "hba1c",
    "ldl",
    "total_cholesterol",
    "hdl",
    "triglycerides",
    "egfr",
    "uacr",
)
PROFILES: Final[dict[str, str]] = {
    "blood_pressure": "us-core-blood-pressure",
    "heart_rate": "us-core-heart-rate",
    "weight": "us-core-body-weight",
    "height": "us-core-body-height",
    "waist": "us-core-simple-observation",
    "steps": "us-core-simple-observation",
    **dict.fromkeys(_LAB_TYPES, "us-core-observation-clinical-result"),
}
_CATEGORY_NAMES: Final = {
    "vital-signs": "Vital Signs",
    "laboratory": "Laboratory",
    "activity": "Activity",
}
CATEGORIES: Final[dict[str, str]] = {
    **dict.fromkeys(("blood_pressure", "heart_rate", "weight", "height", "waist"), "vital-signs"),
    **dict.fromkeys(_LAB_TYPES, "laboratory"),
    "steps": "activity",
}
# The components that make `code=` find a blood-pressure panel (US Core searches by them).
BLOOD_PRESSURE_COMPONENT_CODES: Final = frozenset(
    catalog.component_loinc("blood_pressure", name) for name in catalog.BLOOD_PRESSURE_COMPONENTS
)


def profile(reading_type: str) -> str:
    return f"{_US_CORE}{PROFILES[reading_type]}|6.1.0"


def _category(reading_type: str) -> list[dict[str, Any]]:
    code = CATEGORIES[reading_type]
    return [
        {"coding": [{"system": CATEGORY_SYSTEM, "code": code, "display": _CATEGORY_NAMES[code]}]}
    ]


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _loinc(code: str, text: str) -> dict[str, Any]:
    return {"coding": [{"system": LOINC, "code": code}], "text": text}


def to_observation(reading: dict[str, Any], *, patient_id: uuid.UUID) -> dict[str, Any]:
    """A reading (in `/v1`'s read shape) as a US Core Observation dict."""
    kind: str = reading["type"]
    spec = catalog.READING_TYPES[kind]
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": str(reading["id"]),
        "meta": {"profile": [profile(kind)]},
        "status": "final",
        "category": _category(kind),
        "code": _loinc(reading["code"], spec.label),
        "subject": {"reference": f"Patient/{patient_id}"},
    }
    if reading["client_id"] is not None:
        observation["identifier"] = [
            {"system": URI_SYSTEM, "value": f"urn:uuid:{reading['client_id']}"}
        ]
    if "end_at" in reading:
        observation["effectivePeriod"] = {
            "start": date_time(reading["effective_at"]),
            "end": date_time(reading["end_at"]),
        }
    else:
        observation["effectiveDateTime"] = date_time(reading["effective_at"])
    observation["issued"] = date_time(reading["received_at"])
    if kind == "blood_pressure":
        observation["component"] = [
            {
                "code": _loinc(field.loinc or spec.loinc, field.label),
                "valueQuantity": _quantity(reading[field.name], field.unit),
            }
            for field in spec.numeric
            if reading.get(field.name) is not None
        ]
    else:
        field = spec.numeric[0]
        observation["valueQuantity"] = _quantity(reading[field.name], field.unit)
    return observation
