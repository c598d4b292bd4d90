"""POST /fhir: how Observations become readings (codes, units, panels, devices, identifiers),
over HTTP and, for the mapping's own rules, as the plain function it is."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.fhir import observation_mapping
from app.readings import catalog
from tests.fhir.ingest_helpers import (
    EHR,
    LOINC,
    World,
    answered,
    blood_pressure,
    bundle,
    component,
    make_world,
    observation,
    post_fhir,
    reading_id,
    status_codes,
    steps,
)
from tests.readings.helpers import BASE_TIME, count_rows, list_all


@pytest.fixture
async def world(app: FastAPI) -> World:
    return await make_world(app)


# --- over HTTP -----------------------------------------------------------------------------------


async def test_units_are_converted_and_codes_kept(client: httpx.AsyncClient, world: World) -> None:
    p = world.patient.id
    posted = bundle(
        "batch",
        [
            observation(p, code="29463-7", value=154.3, unit="[lb_av]", minutes=1),
            observation(p, code="41653-7", value=5.5, unit="mmol/L", minutes=2),
            observation(p, code="4548-4", value=53, unit="mmol/mol", minutes=3),
            observation(p, code="8302-2", value=67, unit="[in_i]", minutes=4),
            observation(p, code="13457-7", value=2.5, unit="mmol/L", minutes=5),
            observation(p, code="8867-4", value=64, unit="/min", minutes=6),
            observation(p, code="98979-8", value=55, unit="mL/min/{1.73_m2}", minutes=7),
            observation(p, code="14959-1", value=25, unit="mg/g", minutes=8),
            steps(p, 4200, BASE_TIME, BASE_TIME + timedelta(hours=1)),
        ],
    )
    assert (
        status_codes(answered(await post_fhir(client, world.patient.user, posted), "batch"))
        == [201] * 9
    )
    read = {r["type"]: r for r in await list_all(client, world.patient.user, "me")}
    assert (read["weight"]["value"], read["weight"]["unit"]) == (69.99, "kg")
    assert read["glucose"]["value"] == 99.1
    assert (read["glucose"]["specimen"], read["glucose"]["code"]) == ("capillary", "41653-7")
    assert read["hba1c"]["value"] == 7.0
    assert read["height"]["value"] == 170.2
    assert (read["ldl"]["value"], read["ldl"]["method"], read["ldl"]["code"]) == (
        96.7,
        "calculated",
        "13457-7",
    )
    assert read["heart_rate"]["value"] == 64
    assert (read["egfr"]["value"], read["uacr"]["value"]) == (55, 25)
    assert read["steps"]["count"] == 4200
    assert read["steps"]["end_at"].startswith("2025-03-03T13:00:00")
    assert {r["source"]["kind"] for r in read.values()} == {"integration"}


@pytest.mark.parametrize("use_device_token", [True, False])
async def test_a_blood_pressure_panel_is_one_reading(
    client: httpx.AsyncClient, world: World, use_device_token: bool
) -> None:
    actor = world.patient.device if use_device_token else world.home.clinician
    posted = bundle("transaction", [blood_pressure(world.patient.id, 128, 82, pulse=70)])
    (response,) = answered(await post_fhir(client, actor, posted), "transaction")
    (reading,) = await list_all(client, world.patient.user, "me")
    assert reading["id"] == reading_id(response)
    assert (reading["type"], reading["code"]) == ("blood_pressure", "85354-9")
    assert (reading["systolic"], reading["diastolic"], reading["pulse"]) == (128, 82, 70)
    # Eligible only from the patient's validated upper-arm cuff sending itself, as on /v1.
    assert reading["eligible"] is use_device_token
    assert reading["source"]["kind"] == ("device" if use_device_token else "integration")


async def test_an_observation_read_back_and_posted_again_is_the_same_reading(
    client: httpx.AsyncClient, world: World
) -> None:
    posted = bundle(
        "batch",
        [
            blood_pressure(world.patient.id, 131, 84, pulse=66),
            observation(world.patient.id, code="2339-0", value=101, unit="mg/dL", minutes=1),
            steps(world.patient.id, 300, BASE_TIME, BASE_TIME + timedelta(minutes=30)),
        ],
    )
    first = answered(await post_fhir(client, world.patient.user, posted), "batch")
    found = await client.get(
        "/fhir/Observation",
        params={"patient": str(world.patient.id)},
        headers=world.patient.user.headers,
    )
    resources = [e["resource"] for e in found.json()["entry"]]
    # As this server writes them (identifier urn:uuid:<client_id>), they are the same readings.
    again = answered(
        await post_fhir(client, world.patient.user, bundle("batch", resources)), "batch"
    )
    assert status_codes(again) == [200] * 3
    assert {reading_id(r) for r in again} == {reading_id(r) for r in first}


async def test_a_device_reference_names_the_source(client: httpx.AsyncClient, world: World) -> None:
    devices = await client.get(
        f"/v1/patients/{world.patient.id}/devices", headers=world.patient.user.headers
    )
    device_id = devices.json()["items"][0]["id"]
    posted = bundle(
        "batch", [blood_pressure(world.patient.id, device={"reference": f"Device/{device_id}"})]
    )
    assert status_codes(
        answered(await post_fhir(client, world.home.clinician, posted), "batch")
    ) == [201]
    (reading,) = await list_all(client, world.patient.user, "me")
    # Named by staff, not sent by the cuff itself: stored, not eligible (docs/rules.md).
    assert reading["source"] == {"kind": "device", "device_id": device_id}
    assert reading["eligible"] is False


async def test_a_conditional_create_on_the_identifier_is_what_ingest_does(
    app: FastAPI, client: httpx.AsyncClient, world: World
) -> None:
    resource = observation(world.patient.id, identifier="abc|1")
    conditional = {
        "request": {
            "method": "POST",
            "url": "Observation",
            "ifNoneExist": "identifier=http%3A%2F%2Fehr.example.org%2Fobservations%7Cabc%7C1",
        },
        "resource": resource,
    }
    for expected in (201, 200):
        answer = answered(
            await post_fhir(client, world.patient.user, bundle("batch", [conditional])), "batch"
        )
        assert status_codes(answer) == [expected]
    assert await count_rows(app, world.patient.id) == 1


# --- the mapping, as a plain function ------------------------------------------------------------

PATIENT = uuid.UUID("0b7c8f3e-5a51-4c1e-9d2b-2f4f6b1a9c10")


def test_client_ids_never_change() -> None:
    # Stored readings were keyed by these: the derivation must never change (as identity.py).
    namespace = uuid.uuid5(
        uuid.NAMESPACE_URL, "http://access-rpm.example/fhir/Observation.identifier"
    )
    assert namespace == observation_mapping.IDENTIFIER_NAMESPACE
    assert observation_mapping.client_id(EHR, "obs-1") == uuid.UUID(
        "3c3ca175-e4b3-5db2-a55c-7716b9d337b9"
    )
    assert observation_mapping.client_id(EHR, "obs-1") == uuid.uuid5(namespace, f"{EHR}|obs-1")
    assert observation_mapping.client_id("urn:oid:1.2.3", "x" * 5000) == uuid.UUID(
        "42dfea08-5c6b-508a-9a1e-ee4393984938"
    )
    # The identifier this server writes for a client_id is that client_id.
    own = uuid.uuid4()
    assert observation_mapping.client_id("urn:ietf:rfc:3986", f"urn:uuid:{own}") == own
    assert observation_mapping.client_id(EHR, f"urn:uuid:{own}") != own
    assert observation_mapping.client_id("urn:ietf:rfc:3986", "urn:oid:1.2") == uuid.uuid5(
        namespace, "urn:ietf:rfc:3986|urn:oid:1.2"
    )


def test_every_code_maps_back_to_itself() -> None:
    codes = observation_mapping.CODES
    for code, (reading_type, implied) in codes.items():
        assert catalog.loinc_code(reading_type, implied) == code
    assert {spec.loinc for spec in catalog.READING_TYPES.values()} <= set(codes)
    assert codes["41653-7"] == ("glucose", {"specimen": "capillary"})
    assert codes["99504-3"] == ("glucose", {"specimen": "interstitial"})
    assert codes["2339-0"] == ("glucose", {})
    assert codes["13457-7"] == ("ldl", {"method": "calculated"})


def _changed(resource: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`resource` with `changes`, where None removes the element."""
    for name, value in changes.items():
        if value is None:
            resource.pop(name, None)
        else:
            resource[name] = value
    return resource


def _resource(**changes: Any) -> dict[str, Any]:
    return _changed(observation(PATIENT, identifier="m-1"), changes)


def _bp(*components: dict[str, Any], **changes: Any) -> dict[str, Any]:
    resource = blood_pressure(PATIENT, identifier="m-1")
    if components:
        resource["component"] = list(components)
    return _changed(resource, changes)


def test_what_an_observation_maps_to() -> None:
    mapped = observation_mapping.to_reading(
        _resource(
            identifier=[{"value": "no system"}, {"system": EHR, "value": "m-2"}],
            effectiveDateTime=None,
            effectiveInstant="2025-03-03T12:00:00Z",
            valueQuantity={"value": 150, "unit": "[lb_av]"},
        )
    )
    assert mapped.problems == []
    assert mapped.body == {
        "client_id": str(observation_mapping.client_id(EHR, "m-2")),
        "type": "weight",
        "effective_at": "2025-03-03T12:00:00Z",
        "value": 150,
        "unit": "[lb_av]",
        "source": {"kind": "integration"},
    }
    assert mapped.elements["client_id"] == "identifier[1]"
    assert mapped.elements["unit"] == "valueQuantity.unit"
    assert mapped.element("source.device_id") == ""


def test_a_missing_value_or_unit_is_left_to_v1s_validation() -> None:
    # /v1's validation says what is missing (`value`: required field is missing), at the
    # element the mapping names; a unit a type does not need may be left out, as on /v1.
    heart_rate = observation_mapping.to_reading(
        _resource(code={"coding": [{"system": LOINC, "code": "8867-4"}]}, valueQuantity={})
    )
    assert heart_rate.problems == []
    assert "value" not in heart_rate.body
    assert "unit" not in heart_rate.body
    assert heart_rate.element("value") == "valueQuantity.value"
    panel = observation_mapping.to_reading(
        _bp({**component("8480-6", 120), "valueQuantity": {"code": "mm[Hg]"}})
    )
    assert panel.problems == []
    assert "systolic" not in panel.body
    assert panel.element("systolic") == "component[0].valueQuantity.value"
    assert panel.element("diastolic") == "component"


# (case, the Observation, the element of the (first) problem, issue code)
REFUSED: list[tuple[str, dict[str, Any], str, str]] = [
    ("no time", _resource(effectiveDateTime=None), "effective", "required"),
    (
        "steps without an end",
        {
            **steps(PATIENT, 10, BASE_TIME, BASE_TIME),
            "effectivePeriod": {"start": "2025-03-03T12:00:00Z"},
        },
        "effectivePeriod",
        "required",
    ),
    (
        "steps in another unit",
        {**steps(PATIENT, 10, BASE_TIME, BASE_TIME), "valueQuantity": {"value": 10, "code": "/d"}},
        "valueQuantity.code",
        "code-invalid",
    ),
    (
        "a panel over a period",
        _bp(effectiveDateTime=None, effectivePeriod={"start": "2025-03-03T12:00:00Z"}),
        "effectivePeriod",
        "not-supported",
    ),
    ("a panel with a value", _bp(valueQuantity={"value": 120}), "valueQuantity", "not-supported"),
    (
        "a weight with components",
        _resource(component=[component("8480-6", 1)]),
        "component",
        "not-supported",
    ),
    (
        "an unknown component",
        _bp(component("8480-6", 120), component("8462-4", 80), component("8478-0", 93)),
        "component[2].code",
        "code-invalid",
    ),
    (
        "systolic twice",
        _bp(component("8480-6", 120), component("8480-6", 121), component("8462-4", 80)),
        "component[1].code",
        "duplicate",
    ),
    (
        "a component without a value",
        _bp({"code": {"coding": [{"system": LOINC, "code": "8480-6"}]}}, component("8462-4", 80)),
        "component[0]",
        "required",
    ),
    (
        "a device that is not a Device",
        _resource(device={"reference": "Practitioner/1"}),
        "device.reference",
        "value",
    ),
    (
        "two reading codes",
        _resource(code={"coding": [{"system": LOINC, "code": c} for c in ("29463-7", "8302-2")]}),
        "code",
        "code-invalid",
    ),
    (
        "an identifier system with a bar",
        _resource(identifier=[{"system": "urn:x|y", "value": "1"}]),
        "identifier[0].system",
        "value",
    ),
    (
        "a LOINC code in another system",
        _resource(code={"coding": [{"system": "http://snomed.info/sct", "code": "29463-7"}]}),
        "code",
        "code-invalid",
    ),
]


@pytest.mark.parametrize(
    ("case", "resource", "element", "code"), REFUSED, ids=[r[0] for r in REFUSED]
)
def test_what_is_refused(case: str, resource: dict[str, Any], element: str, code: str) -> None:
    first, *_ = observation_mapping.to_reading(resource).problems
    assert (first.element, first.code) == (element, code)
    assert first.message


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ({"reference": f"Patient/{PATIENT}"}, str(PATIENT)),
        ({"reference": "Patient/abc"}, "abc"),
        ({"reference": "http://elsewhere.example/fhir/Patient/abc"}, "subject.reference"),
        ({"reference": "Patient/abc/_history/1"}, "subject.reference"),
        ({"identifier": {"system": "x", "value": "y"}}, "subject"),
        (None, "subject"),
    ],
)
def test_the_subject(subject: dict[str, Any] | None, expected: str) -> None:
    found = observation_mapping.subject_id(_resource(subject=subject))
    if isinstance(found, observation_mapping.Problem):
        assert found.element == expected
    else:
        assert found == expected
