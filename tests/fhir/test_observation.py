"""GET /fhir/Observation: readings as US Core Observations, searched by code and date, paged."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import OrgWorld, PatientWorld
from tests.fhir.helpers import (
    audit_events,
    bundle_of,
    fhir_get,
    names,
    next_link,
    outcome_of,
    resources,
)
from tests.readings.helpers import bp, glucose, make_reading_patient, post_batch
from tests.world import org

__all__ = ["org"]

UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
# 07:00 in New York (the patients' zone) on 3 to 7 March 2025.
MORNINGS = [datetime(2025, 3, 3, 12, 0, tzinfo=UTC) + timedelta(days=n) for n in range(5)]


@pytest.fixture
async def patient(app: FastAPI, org: OrgWorld) -> PatientWorld:
    return await make_reading_patient(app, org)


async def _store(
    client: httpx.AsyncClient, patient: PatientWorld, readings: list[dict[str, Any]]
) -> list[str]:
    response = await post_batch(client, patient.user, patient.id, readings)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert all(r["status"] == "created" for r in results), results
    return [str(r["id"]) for r in results]


async def _search(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld, **params: Any
) -> list[dict[str, Any]]:
    query = {"patient": str(patient.id), **params}
    return resources(bundle_of(await fhir_get(client, "/fhir/Observation", org.clinician, query)))


def _by_code(found: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["code"]["coding"][0]["code"]: r for r in found}


async def test_readings_as_us_core_observations(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    client_id = str(uuid.uuid4())
    start = datetime(2025, 3, 3, 7, 30, tzinfo=UTC)
    await _store(
        client,
        patient,
        [
            bp(131, 84, pulse=70, client_id=client_id, effective_at="2025-03-03T07:00:00-05:00"),
            glucose(5.5, unit="mmol/L", specimen="capillary"),
            {"type": "weight", "value": 180, "unit": "[lb_av]", "effective_at": start.isoformat()},
            {
                "type": "steps",
                "count": 4200,
                "effective_at": start.isoformat(),
                "end_at": (start + timedelta(hours=1)).isoformat(),
            },
            {"type": "ldl", "value": 2.5, "unit": "mmol/L", "method": "calculated",
             "effective_at": start.isoformat()},
        ],
    )  # fmt: skip
    response = await fhir_get(
        client, "/fhir/Observation", org.clinician, {"patient": str(patient.id)}
    )
    bundle = bundle_of(response)
    found = _by_code(resources(bundle))
    assert set(found) == {"85354-9", "41653-7", "29463-7", "41950-7", "13457-7"}
    for entry in bundle["entry"]:
        assert entry["fullUrl"] == f"http://test/fhir/Observation/{entry['resource']['id']}"
        assert entry["search"] == {"mode": "match"}

    pressure = found["85354-9"]
    assert pressure["meta"]["profile"] == [
        "http://hl7.org/fhir/us/core/StructureDefinition/us-core-blood-pressure|6.1.0"
    ]
    assert pressure["category"][0]["coding"][0]["code"] == "vital-signs"
    assert pressure["subject"] == {"reference": f"Patient/{patient.id}"}
    assert pressure["effectiveDateTime"] == "2025-03-03T07:00:00-05:00"  # as sent
    assert pressure["identifier"] == [
        {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{client_id}"}
    ]
    assert "valueQuantity" not in pressure
    assert [
        (c["code"]["coding"][0]["code"], c["valueQuantity"]["value"], c["valueQuantity"]["code"])
        for c in pressure["component"]
    ] == [("8480-6", 131, "mm[Hg]"), ("8462-4", 84, "mm[Hg]"), ("8867-4", 70, "/min")]
    assert all(c["valueQuantity"]["system"] == UCUM for c in pressure["component"])

    sugar = found["41653-7"]["valueQuantity"]
    assert (sugar["unit"], sugar["code"], sugar["system"]) == ("mg/dL", "mg/dL", UCUM)
    assert sugar["value"] == pytest.approx(99.1, abs=0.1)
    assert found["41653-7"]["category"][0]["coding"][0]["code"] == "laboratory"
    weight = found["29463-7"]["valueQuantity"]
    assert (weight["code"], weight["value"]) == ("kg", pytest.approx(81.65, abs=0.01))
    steps = found["41950-7"]
    assert steps["valueQuantity"]["code"] == "{steps}"
    assert set(steps["effectivePeriod"]) == {"start", "end"}
    assert "effectiveDateTime" not in steps
    assert found["13457-7"]["valueQuantity"]["code"] == "mg/dL"
    assert await audit_events(app, patient_id=patient.id, resource_type="fhir_observation") == 1


CODES: list[tuple[str, set[str]]] = [
    ("85354-9", {"blood_pressure"}),
    ("8480-6", {"blood_pressure"}),  # systolic: the panels that hold it
    ("http://loinc.org|8462-4", {"blood_pressure"}),
    ("29463-7,41653-7", {"weight", "glucose"}),
    ("41653-7", {"glucose"}),
    ("2339-0", set()),  # a capillary glucose is 41653-7, not venous 2339-0
    ("http://snomed.info/sct|8480-6", set()),  # another system's code
]


@pytest.mark.parametrize(("code", "types"), CODES)
async def test_code_search(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld, code: str, types: set[str]
) -> None:
    at = MORNINGS[0].isoformat()
    await _store(
        client,
        patient,
        [
            bp(effective_at=at),
            glucose(100, specimen="capillary", effective_at=at),
            {"type": "weight", "value": 80, "unit": "kg", "effective_at": at},
        ],
    )
    found = await _search(client, org, patient, code=code)
    labels = {"85354-9": "blood_pressure", "41653-7": "glucose", "29463-7": "weight"}
    assert {labels[r["code"]["coding"][0]["code"]] for r in found} == types


DATES: list[tuple[list[str], list[int]]] = [
    (["2025-03-05"], [2]),
    (["eq2025-03-05"], [2]),
    (["ge2025-03-05"], [2, 3, 4]),
    (["gt2025-03-05"], [3, 4]),
    (["le2025-03-05"], [0, 1, 2]),
    (["lt2025-03-05"], [0, 1]),
    (["ge2025-03-04", "le2025-03-06"], [1, 2, 3]),
    (["2025-03"], [0, 1, 2, 3, 4]),
    (["2025"], [0, 1, 2, 3, 4]),
    (["2024"], []),
    (["ge2025-03-05T07:00:00-05:00"], [2, 3, 4]),
    (["gt2025-03-05T07:00:00-05:00"], [3, 4]),  # after that second
    (["lt2025-03-05T12:00Z"], [0, 1]),
    (["eq2025-03-05T12:00Z"], [2]),  # within that minute
    (["le2025-03-05T11:59:59Z"], [0, 1]),
]


@pytest.mark.parametrize(("dates", "days"), DATES)
async def test_date_prefixes(
    client: httpx.AsyncClient,
    org: OrgWorld,
    patient: PatientWorld,
    dates: list[str],
    days: list[int],
) -> None:
    ids = await _store(client, patient, [bp(effective_at=m.isoformat()) for m in MORNINGS])
    found = await _search(client, org, patient, date=dates)
    assert [r["id"] for r in found] == [ids[d] for d in reversed(days)]  # newest first


async def test_a_date_is_the_patients_local_day(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    # 22:00 in New York on 5 March is 03:00 UTC on the 6th.
    (late,) = await _store(client, patient, [bp(effective_at="2025-03-06T03:00:00Z")])
    assert [r["id"] for r in await _search(client, org, patient, date="2025-03-05")] == [late]
    assert await _search(client, org, patient, date="2025-03-06") == []


async def test_paging_follows_next_to_the_end(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    readings = [
        bp(110 + n, 70, effective_at=(MORNINGS[0] + timedelta(hours=n)).isoformat())
        for n in range(25)
    ]
    readings.append(glucose(100, effective_at=MORNINGS[0].isoformat()))  # not searched for
    ids = await _store(client, patient, readings)
    url: str | None = "/fhir/Observation"
    params: dict[str, Any] | None = {
        "patient": str(patient.id),
        "code": "85354-9",
        "date": ["ge2025-03-01", "le2025-03-31"],
        "_count": 10,
    }
    seen: list[str] = []
    pages = 0
    while url is not None:
        bundle = bundle_of(await fhir_get(client, url, org.clinician, params))
        seen += [r["id"] for r in resources(bundle)]
        url, params, pages = next_link(bundle), None, pages + 1
        if url is not None:  # the next link keeps the search
            assert "code=85354-9" in url
            assert url.count("date=") == 2
    assert pages == 3
    assert seen == list(reversed(ids[:25]))  # every reading once, newest first


async def test_deleted_readings_are_not_found(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld
) -> None:
    kept, gone = await _store(
        client, patient, [bp(effective_at=m.isoformat()) for m in MORNINGS[:2]]
    )
    deleted = await client.delete(
        f"/v1/patients/{patient.id}/readings/{gone}", headers=org.clinician.headers
    )
    assert deleted.status_code in (200, 204), deleted.text
    assert [r["id"] for r in await _search(client, org, patient)] == [kept]


BAD: list[tuple[str, str]] = [
    ("date=2025-13-01", "date"),
    ("date=2025-02-30", "date"),
    ("date=ne2025-03-01", "date"),
    ("date=sa2025-03-01", "date"),
    ("date=2025-03-05T10:00:00", "date"),  # a time needs its offset
    ("date=1899-12-31", "date"),
    ("date=ge2025-03-01&date=tomorrow", "date"),
    ("foo=1", "foo"),
    ("code:text=pressure", "code:text"),
    ("_sort=date", "_sort"),
    ("code=8480-6&code=8462-4", "code"),
    ("code=a b", "code"),
    ("_count=0", "_count"),
    ("_count=1001", "_count"),
    ("_count=ten", "_count"),
]


@pytest.mark.parametrize(("query", "named"), BAD)
async def test_bad_search_is_400_naming_the_parameter(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld, query: str, named: str
) -> None:
    url = f"/fhir/Observation?patient={patient.id}&{query}"
    outcome = outcome_of(await fhir_get(client, url, org.clinician), 400)
    assert names(outcome) == [named]
    assert named in outcome["issue"][0]["diagnostics"]
    assert outcome["issue"][0]["code"] == "invalid"


async def test_patient_is_required(client: httpx.AsyncClient, org: OrgWorld) -> None:
    outcome = outcome_of(await fhir_get(client, "/fhir/Observation", org.clinician), 400)
    assert names(outcome) == ["patient"]


@pytest.mark.parametrize("cursor", ["not-a-cursor", "W10", "x" * 3000])
async def test_a_made_up_cursor_is_422(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld, cursor: str
) -> None:
    params = {"patient": str(patient.id), "_cursor": cursor}
    response = await fhir_get(client, "/fhir/Observation", org.clinician, params)
    assert names(outcome_of(response, 422)) == ["_cursor"]
