"""Entries POST /fhir refuses, each with the answer it gets: the table the batch and
transaction tests of tests/fhir/test_ingest.py run."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from tests.fhir.ingest_helpers import World, blood_pressure, entry, observation

Build = Callable[[World], Any]


def _without(name: str, **more: Any) -> Build:
    def build(w: World) -> dict[str, Any]:
        resource = observation(w.patient.id, **more)
        del resource[name]
        return resource

    return build


# (case, the entry, its status, the element its outcome names, issue code)
BAD_ENTRIES: list[tuple[str, Build, int, str, str]] = [
    (
        "unknown code",
        lambda w: observation(w.patient.id, code="1234-5"),
        422,
        "resource.code",
        "code-invalid",
    ),
    (
        "unknown unit",
        lambda w: observation(w.patient.id, unit="g"),
        422,
        "resource.valueQuantity.code",
        "value",
    ),
    (
        "value out of range",
        lambda w: observation(w.patient.id, value=401),
        422,
        "resource.valueQuantity.value",
        "value",
    ),
    (
        "out of range in another unit",
        lambda w: observation(w.patient.id, code="2339-0", value=56, unit="mmol/L"),
        422,
        "resource.valueQuantity.value",
        "value",
    ),
    ("missing identifier", _without("identifier"), 422, "resource.identifier", "required"),
    ("missing subject", _without("subject"), 422, "resource.subject", "required"),
    (
        "subject not a Patient",
        lambda w: observation(w.patient.id, subject={"reference": "Group/1"}),
        422,
        "resource.subject.reference",
        "value",
    ),
    (
        "another patient",
        lambda w: observation(w.neighbour.id),
        404,
        "resource.subject.reference",
        "not-found",
    ),
    (
        "another organization's patient",
        lambda w: observation(w.stranger.id),
        404,
        "resource.subject.reference",
        "not-found",
    ),
    (
        "no such patient",
        lambda w: observation("not-a-uuid"),
        404,
        "resource.subject.reference",
        "not-found",
    ),
    (
        "wrong method",
        lambda w: entry(observation(w.patient.id), method="PUT"),
        405,
        "request.method",
        "not-supported",
    ),
    (
        "wrong url",
        lambda w: entry(observation(w.patient.id), url="Patient"),
        400,
        "request.url",
        "not-supported",
    ),
    (
        "wrong resourceType",
        lambda w: entry({"resourceType": "Patient", "id": "x"}),
        400,
        "resource",
        "not-supported",
    ),
    (
        "no resource",
        lambda w: {"request": {"method": "POST", "url": "Observation"}},
        400,
        "resource",
        "required",
    ),
    ("no request", lambda w: {"resource": observation(w.patient.id)}, 400, "request", "required"),
    ("not an object", lambda w: 7, 400, "", "structure"),
    (
        "not valid FHIR",
        lambda w: observation(w.patient.id, value="heavy"),
        400,
        "resource.valueQuantity.value",
        "structure",
    ),
    (
        "a time without its offset",
        lambda w: observation(w.patient.id, effectiveDateTime="2025-03-03T12:00:00"),
        400,
        "resource.effectiveDateTime",
        "structure",
    ),
    (
        "a day, not a time",
        lambda w: observation(w.patient.id, effectiveDateTime="2025-03-03"),
        422,
        "resource.effectiveDateTime",
        "value",
    ),
    (
        "in the future",
        lambda w: observation(w.patient.id, effectiveDateTime="2099-01-01T00:00:00Z"),
        422,
        "resource.effectiveDateTime",
        "value",
    ),
    (
        "not final",
        lambda w: observation(w.patient.id, status="preliminary"),
        422,
        "resource.status",
        "business-rule",
    ),
    (
        "a comparator",
        lambda w: observation(
            w.patient.id, valueQuantity={"value": 400, "comparator": ">", "code": "kg"}
        ),
        422,
        "resource.valueQuantity.comparator",
        "value",
    ),
    (
        "not UCUM",
        lambda w: observation(
            w.patient.id, valueQuantity={"value": 70, "system": "http://x.example", "code": "kg"}
        ),
        422,
        "resource.valueQuantity.system",
        "code-invalid",
    ),
    (
        "no value",
        _without("valueQuantity"),
        422,
        "resource.valueQuantity",
        "required",
    ),
    (
        "a modifier extension",
        lambda w: observation(
            w.patient.id, modifierExtension=[{"url": "http://x.example/e", "valueBoolean": True}]
        ),
        422,
        "resource.modifierExtension",
        "not-supported",
    ),
    (
        "blood pressure without diastolic",
        lambda w: blood_pressure(
            w.patient.id, component=blood_pressure(w.patient.id)["component"][:1]
        ),
        422,
        "resource.component",
        "value",
    ),
    (
        "diastolic above systolic",
        lambda w: blood_pressure(w.patient.id, 90, 95),
        422,
        "resource.component[1].valueQuantity.value",
        "value",
    ),
    (
        "blood pressure in kPa",
        lambda w: blood_pressure(
            w.patient.id,
            component=[
                *blood_pressure(w.patient.id)["component"][:1],
                {
                    **blood_pressure(w.patient.id)["component"][1],
                    "valueQuantity": {"value": 10, "code": "kPa"},
                },
            ],
        ),
        422,
        "resource.component[1].valueQuantity.code",
        "code-invalid",
    ),
    (
        "steps at an instant",
        lambda w: observation(w.patient.id, code="41950-7", value=10, unit="{steps}"),
        422,
        "resource.effectiveDateTime",
        "not-supported",
    ),
    (
        "a device not the patient's",
        lambda w: observation(w.patient.id, device={"reference": f"Device/{uuid.uuid4()}"}),
        422,
        "resource.device",
        "value",
    ),
    (
        "a condition other than the identifier",
        lambda w: {
            "request": {"method": "POST", "url": "Observation", "ifNoneExist": "code=29463-7"},
            "resource": observation(w.patient.id),
        },
        400,
        "request.ifNoneExist",
        "not-supported",
    ),
    (
        "a malformed entry",
        lambda w: {**entry(observation(w.patient.id)), "fullUrl": 5},
        400,
        "fullUrl",
        "structure",
    ),
    (
        "a contained resource the models cannot read",
        lambda w: observation(w.patient.id, contained=[{"resourceType": None}]),
        400,
        "resource",
        "structure",
    ),
    (
        "a weight as text",
        lambda w: _without("valueQuantity", valueString="70 kg")(w),
        422,
        "resource.valueString",
        "not-supported",
    ),
]
