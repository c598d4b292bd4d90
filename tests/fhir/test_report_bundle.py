"""GET /v1/patients/{patient_id}/reports/{report_id}/bundle: a complete report of each track,
made over HTTP, has the structure of the CMS ACCESS guide's example bundle of its track.

`EXAMPLES` writes down what each example (`Bundle-<track>ReportDataBundleExample`, docs/rules.md
"Reporting to CMS") shows of the fields compared: the bundle's type and profile; the entries'
resource types in order (Composition, Patient, Practitioner, Organization, then the data); the
Composition's profile and type; the track section's code; the sub-sections' codes in order
(ours are those of the example the report has measures for); that every reference of the
Composition resolves inside the bundle (the guide's bundle invariant); each Observation's
profile, LOINC code and UCUM unit (blood pressure: the components'); each
QuestionnaireResponse's questionnaire URL, linkIds and answers; the Patient's MBI identifier
system and type, the Practitioner's NPI system and the Organization's participant-id system.

The patients answer the example's answers, so answers compare one to one. Where the service
follows the guide as published (0.9.8 and 0.9.11) rather than the MSK example's earlier draft
(0.9.6), the expected value says so: PROMIS answers weighted by `ordinalValue` (the draft:
`itemWeight`), their scores as `valueDecimal` (the draft: a LOINC-coded `valueCoding`), physical
function items 5-6 answered from the v1.2 form's own options, PGIC as the coded `choice` its
questionnaire defines (the draft: `valueDecimal`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from tests.factories import make_org
from tests.fhir.helpers import FHIR_JSON
from tests.fhir.report_bundle_world import (
    CLINICIAN_NPI,
    MBI,
    ORGANIZATION_NPI,
    PARTICIPANT_ID,
    Made,
    make_report,
    set_identity,
)

IG = "https://dsacms.github.io/cmmi-access-model/"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SECTION_CS = IG + "CodeSystem/ACCESSReportDataCompositionSectionCS"
QUESTIONNAIRE = "http://example.org/Questionnaire/"
ORDINAL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"

# What the four examples share.
BUNDLE_PROFILE = IG + "StructureDefinition/access-data-reporting-bundle"
COMPOSITION_PROFILE = IG + "StructureDefinition/access-data-reporting-composition"
COMPOSITION_TYPE = (LOINC, "74465-6")
TRACK_SYSTEM = IG + "CodeSystem/ACCESSTrackCS"
HEAD = ["Composition", "Patient", "Practitioner", "Organization"]
MBI_SYSTEM = "http://terminology.hl7.org/NamingSystem/cmsMBI"
MBI_TYPE = ("http://terminology.hl7.org/CodeSystem/v2-0203", "MC")
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
PARTICIPANT_SYSTEM = IG + "participant-id"
PROFILES = {
    "Patient": US_CORE + "us-core-patient|6.1.0",
    "Practitioner": US_CORE + "us-core-practitioner|6.1.0",
    "Organization": US_CORE + "us-core-organization|6.1.0",
    "QuestionnaireResponse": US_CORE + "us-core-questionnaireresponse|6.1.0",
}


@dataclass(frozen=True)
class Obs:
    """An example Observation of a sub-section: profile, codes, UCUM unit (or components')."""

    profile: str
    codes: frozenset[str]
    unit: str | None = None
    components: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Response:
    """An example QuestionnaireResponse: questionnaire, linkIds, answers by linkId."""

    questionnaire: str
    link_ids: tuple[str, ...]
    answers: dict[str, dict[str, Any]]
    # The example's linkIds this service has no item for (WHODAS's days h1-h3).
    not_ours: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Example:
    data_type: str
    sections: tuple[str, ...]  # sub-section codes, in the example's order
    ours: frozenset[str]  # the sub-sections a complete report of the world's patient has
    observations: dict[str, Obs] = field(default_factory=dict)
    responses: dict[str, Response] = field(default_factory=dict)


def coded(code: str, display: str, ordinal: int) -> dict[str, Any]:
    extension = [{"url": ORDINAL, "valueDecimal": ordinal}]
    coding = {"extension": extension, "system": LOINC, "code": code, "display": display}
    return {"valueCoding": coding}


def shown(display: str, ordinal: int) -> dict[str, Any]:
    extension = [{"url": ORDINAL, "valueDecimal": ordinal}]
    return {"valueCoding": {"extension": extension, "display": display}}


def decimal(value: float) -> dict[str, Any]:
    return {"valueDecimal": value}


def _lab(*codes: str, unit: str) -> Obs:
    return Obs(US_CORE + "us-core-observation-clinical-result|6.1.0", frozenset(codes), unit)


MM_HG = "mm[Hg]"
VITALS = {
    "85354-9": Obs(
        US_CORE + "us-core-blood-pressure|6.1.0",
        frozenset({"85354-9"}),
        components={"8480-6": MM_HG, "8462-4": MM_HG},
    ),
    "29463-7": Obs(US_CORE + "us-core-body-weight|6.1.0", frozenset({"29463-7"}), "kg"),
    "39156-5": Obs(US_CORE + "us-core-bmi|6.1.0", frozenset({"39156-5"}), "kg/m2"),
    "8280-0": Obs(US_CORE + "us-core-simple-observation|6.1.0", frozenset({"8280-0"}), "cm"),
    "4548-4": _lab("4548-4", unit="%"),
    # The lipids section holds the LDL Observation, direct (18262-6) or calculated (13457-7).
    "18262-6": _lab("18262-6", "13457-7", unit="mg/dL"),
}
KIDNEY = {
    "98979-8": _lab("98979-8", unit="mL/min/{1.73_m2}"),
    "14959-1": _lab("14959-1", unit="mg/g"),
}
FREQUENCY = {
    0: ("LA6568-5", "Not at all"),
    1: ("LA6569-3", "Several days"),
    2: ("LA6570-1", "More than half the days"),
}
WHODAS = {1: "None", 2: "Mild", 3: "Moderate"}
PI = {2: ("LA13863-8", "A little bit"), 3: ("LA13909-9", "Somewhat")}


def _frequency(prefix: str, values: list[int]) -> dict[str, dict[str, Any]]:
    return {f"{prefix}-{n}": coded(*FREQUENCY[v], v) for n, v in enumerate(values, start=1)}


EXAMPLES: dict[str, Example] = {
    "eCKM": Example(
        "Observation",
        ("85354-9", "29463-7", "39156-5", "8280-0", "4548-4", "18262-6"),
        # No waist: it is no measure of the ruleset, so no report carries one.
        frozenset({"85354-9", "29463-7", "39156-5", "4548-4", "18262-6"}),
        observations=VITALS,
    ),
    "CKM": Example(
        "Observation",
        ("85354-9", "29463-7", "39156-5", "8280-0", "4548-4", "98979-8", "14959-1", "18262-6"),
        frozenset({"85354-9", "29463-7", "39156-5", "4548-4", "98979-8", "14959-1", "18262-6"}),
        observations=VITALS | KIDNEY,
    ),
    "MSK": Example(
        "QuestionnaireResponse",
        (
            "76804-4",
            "91722-9",
            "90973-9",
            "89923-7",
            "97908-8",
            "82226-2",
            "QuickDASH",
            "PGIC",
            "82324-5",
            "82316-1",
            "72514-3",
        ),
        frozenset({"76804-4", "90973-9", "PGIC", "72514-3"}),
        responses={
            "76804-4": Response(
                QUESTIONNAIRE + "PROMISPhysicalFunctionQuestionnaire",
                (*(f"pf6b-{n}" for n in range(1, 7)), "raw_score", "tscore"),
                {
                    "pf6b-1": coded("LA13918-0", "With a little difficulty", 4),
                    "pf6b-2": coded("LA13920-6", "With some difficulty", 3),
                    "pf6b-3": coded("LA13920-6", "With some difficulty", 3),
                    "pf6b-4": coded("LA13918-0", "With a little difficulty", 4),
                    # Published guide: the v1.2 form's limitation options (draft: ability's).
                    "pf6b-5": coded("LA13868-7", "Cannot do", 1),
                    "pf6b-6": coded("LA11911-7", "Quite a lot", 2),
                    "raw_score": decimal(17),
                    "tscore": decimal(36.8),
                },
            ),
            "90973-9": Response(
                QUESTIONNAIRE + "PROMISPainInterferenceSFQuestionnaire",
                (*(f"pi6a-{n}" for n in range(1, 7)), "raw_score", "tscore"),
                {
                    **{
                        f"pi6a-{n}": coded(*PI[v], v)
                        for n, v in enumerate([2, 2, 3, 2, 3, 3], start=1)
                    },
                    "raw_score": decimal(15),
                    "tscore": decimal(58.6),
                },
            ),
            "PGIC": Response(
                QUESTIONNAIRE + "MSKPGICQuestionnaire",
                ("pgic-1",),
                {"pgic-1": shown("Very much improved", 1)},
            ),
            "72514-3": Response(
                QUESTIONNAIRE + "PROMISNRSQuestionnaire", ("nrs-1",), {"nrs-1": {"valueInteger": 6}}
            ),
        },
    ),
    "BH": Example(
        "QuestionnaireResponse",
        ("44249-1", "69737-5", "WHODAS", "PGIC"),
        frozenset({"44249-1", "69737-5", "WHODAS", "PGIC"}),
        responses={
            "44249-1": Response(
                QUESTIONNAIRE + "PHQ9Questionnaire",
                (*(f"phq9-{n}" for n in range(1, 11)), "total-score"),
                {
                    **_frequency("phq9", [1, 1, 2, 1, 0, 1, 1, 0, 0]),
                    "phq9-10": coded("LA6573-5", "Somewhat difficult", 1),
                    "total-score": decimal(7),
                },
            ),
            "69737-5": Response(
                QUESTIONNAIRE + "GAD7Questionnaire",
                (*(f"gad7-{n}" for n in range(1, 8)), "total-score"),
                {**_frequency("gad7", [1, 1, 1, 1, 0, 1, 1]), "total-score": decimal(6)},
            ),
            "WHODAS": Response(
                QUESTIONNAIRE + "WHODASQuestionnaire",
                (
                    *(f"whodas-s{n}" for n in range(1, 13)),
                    "whodas-h1",
                    "whodas-h2",
                    "whodas-h3",
                    "total-score",
                ),
                {
                    **{
                        f"whodas-s{n}": shown(WHODAS[v], v)
                        for n, v in enumerate([2, 3, 2, 2, 3, 2, 3, 1, 1, 2, 2, 3], start=1)
                    },
                    "total-score": decimal(26),
                },
                not_ours=frozenset({"whodas-h1", "whodas-h2", "whodas-h3"}),
            ),
            "PGIC": Response(
                QUESTIONNAIRE + "BHPGICQuestionnaire",
                ("pgic-1",),
                {"pgic-1": shown("Very much improved", 1)},
            ),
        },
    ),
}


def validated(response: httpx.Response) -> dict[str, Any]:
    """A 200 bundle as sent, once the FHIR models validate it and each of its resources."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == FHIR_JSON
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    bundle = Bundle.model_validate(body)
    assert json.loads(bundle.model_dump_json()) == body  # sent as it validated
    for entry in body["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return body


def references(value: Any) -> Iterator[str]:
    """Every `reference` anywhere in a resource (its descendants of type Reference)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                yield item
            else:
                yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def code_of(element: dict[str, Any]) -> str:
    (coding,) = element["code"]["coding"]
    assert coding["system"] in (LOINC, SECTION_CS), coding
    return str(coding["code"])


def measure(made: Made, name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [m for m in made.report["measures"] if m["measure"] == name]
    (only,) = found
    return only


@pytest.fixture(params=list(EXAMPLES))
def track(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
async def made(app: FastAPI, client: httpx.AsyncClient, track: str) -> tuple[Made, Any]:
    org = await make_org(app, "Example Healthcare Organization")
    await set_identity(app, org)
    made = await make_report(app, client, org, track)
    return made, org


async def test_bundle_has_the_structure_of_the_guides_example(
    client: httpx.AsyncClient, track: str, made: tuple[Made, Any]
) -> None:
    report, org = made
    example = EXAMPLES[track]
    bundle = validated(await client.get(report.url, headers=org.clinician.headers))

    # The bundle: a document of the guide's profile, named by the report's id.
    assert bundle["type"] == "document"
    assert bundle["meta"]["profile"] == [BUNDLE_PROFILE]
    assert bundle["identifier"] == {
        "system": "urn:ietf:rfc:3986",
        "value": f"urn:uuid:{report.report['id']}",
    }
    assert bundle["timestamp"]
    entries = bundle["entry"]
    types = [e["resource"]["resourceType"] for e in entries]
    assert types[:4] == HEAD
    assert set(types[4:]) == {example.data_type}
    assert all(e["fullUrl"] == f"urn:uuid:{e['resource']['id']}" for e in entries)
    by_url = {e["fullUrl"]: e["resource"] for e in entries}
    assert len(by_url) == len(entries)
    # Every reference, the Composition's and the data's, is an entry of the bundle.
    for entry in entries:
        for reference in references(entry["resource"]):
            assert reference in by_url, (entry["resource"]["resourceType"], reference)

    # The Composition: the guide's profile and type, subject, author, custodian.
    composition, patient, practitioner, organization = (e["resource"] for e in entries[:4])
    assert composition["meta"]["profile"] == [COMPOSITION_PROFILE]
    assert composition["status"] == "final"
    (kind,) = composition["type"]["coding"]
    assert (kind["system"], kind["code"]) == COMPOSITION_TYPE
    assert by_url[composition["subject"]["reference"]] is patient
    assert [by_url[a["reference"]] for a in composition["author"]] == [practitioner]
    assert by_url[composition["custodian"]["reference"]] is organization
    assert composition["title"] == f"ACCESS {track} Track Data Report"
    assert composition["date"] == bundle["timestamp"]
    assert composition["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')

    # One track section, then the example's sub-sections the report has, in its order.
    (section,) = composition["section"]
    (coding,) = section["code"]["coding"]
    assert (coding["system"], coding["code"]) == (TRACK_SYSTEM, track)
    assert section["text"]["div"]
    subsections = section["section"]
    codes = [code_of(s) for s in subsections]
    assert codes == [c for c in example.sections if c in example.ours]
    for subsection in subsections:
        assert subsection["text"]["status"] == "generated"
        assert subsection["entry"]
        data = [by_url[e["reference"]] for e in subsection["entry"]]
        assert {d["resourceType"] for d in data} == {example.data_type}
        code = code_of(subsection)
        for resource in data:
            assert resource["subject"] == {"reference": composition["subject"]["reference"]}
            if example.data_type == "Observation":
                _observation_as_example(resource, example.observations[code])
            else:
                _response_as_example(resource, example.responses[code])

    # Who: the MBI, the preparer's NPI, the participant id (and the organization's NPI).
    (mbi,) = [i for i in patient["identifier"] if i.get("system") == MBI_SYSTEM]
    (mbi_type,) = mbi["type"]["coding"]
    assert (mbi_type["system"], mbi_type["code"]) == MBI_TYPE
    assert mbi["value"] == MBI
    assert practitioner["identifier"] == [{"system": NPI_SYSTEM, "value": CLINICIAN_NPI}]
    assert practitioner["name"] == [
        {"text": "Jane Q. Smith", "family": "Smith", "given": ["Jane", "Q."]}
    ]
    assert organization["identifier"] == [
        {"system": PARTICIPANT_SYSTEM, "value": PARTICIPANT_ID},
        {"system": NPI_SYSTEM, "value": ORGANIZATION_NPI},
    ]
    assert organization["name"] == "Example Healthcare Organization"
    assert organization["active"] is True
    for resource in (patient, practitioner, organization):
        assert resource["meta"]["profile"] == [PROFILES[resource["resourceType"]]]


def _observation_as_example(observation: dict[str, Any], example: Obs) -> None:
    assert observation["meta"]["profile"] == [example.profile]
    assert observation["status"] == "final"
    (coding,) = observation["code"]["coding"]
    assert coding["system"] == LOINC
    assert coding["code"] in example.codes
    if example.components:
        assert "valueQuantity" not in observation
        units = {
            c["code"]["coding"][0]["code"]: (
                c["valueQuantity"]["system"],
                c["valueQuantity"]["code"],
            )
            for c in observation["component"]
        }
        assert units == {code: (UCUM, unit) for code, unit in example.components.items()}
    else:
        quantity = observation["valueQuantity"]
        assert (quantity["system"], quantity["code"]) == (UCUM, example.unit)


def _response_as_example(response: dict[str, Any], example: Response) -> None:
    assert response["meta"]["profile"] == [PROFILES["QuestionnaireResponse"]]
    assert response["questionnaire"] == example.questionnaire
    assert response["status"] == "completed"
    assert response["author"] == response["subject"] == response["source"]
    links = [item["linkId"] for item in response["item"]]
    assert links == [link for link in example.link_ids if link not in example.not_ours]
    for item in response["item"]:
        assert item["answer"] == [example.answers[item["linkId"]]], item["linkId"]


async def test_values_are_the_reports(
    client: httpx.AsyncClient, track: str, made: tuple[Made, Any]
) -> None:
    """Each sub-section holds what the report's value was made of."""
    report, org = made
    bundle = validated(await client.get(report.url, headers=org.clinician.headers))
    by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    (section,) = bundle["entry"][0]["resource"]["section"]
    held = {code_of(s): [by_url[e["reference"]] for e in s["entry"]] for s in section["section"]}
    sources = {uuid.UUID(i) for m in report.report["measures"] for i in m["source_ids"]}
    data = {uuid.UUID(r["id"]) for r in by_url.values() if r["resourceType"] == "Observation"}
    if track in ("eCKM", "CKM"):
        pressure = measure(report, "blood_pressure")
        readings = held["85354-9"]
        assert [r["id"] for r in readings] == pressure["source_ids"]
        systolic = [
            c["valueQuantity"]["value"]
            for r in readings
            for c in r["component"]
            if c["code"]["coding"][0]["code"] == "8480-6"
        ]
        assert round(sum(systolic) / len(systolic), 1) == pressure["value"]
        weight = measure(report, "weight")
        ((observed,), (bmi,)) = held["29463-7"], held["39156-5"]
        assert [observed["id"]] == weight["source_ids"]
        assert bmi["valueQuantity"]["value"] == weight["bmi"]
        assert bmi["effectiveDateTime"] == observed["effectiveDateTime"]
        derived = [by_url[d["reference"]] for d in bmi["derivedFrom"]]
        assert derived[0] is observed
        assert derived[1]["code"]["coding"][0]["code"] == "8302-2"  # the height it used
        assert derived[1]["valueQuantity"]["code"] == "cm"
        (hba1c,) = held["4548-4"]
        assert hba1c["valueQuantity"]["value"] == measure(report, "hba1c")["value"]
        (ldl,) = held["18262-6"]
        assert ldl["code"]["coding"][0]["code"] == ("18262-6" if track == "eCKM" else "13457-7")
        # Only what the report used: its readings, the height its BMI used and the BMI.
        assert data - sources == {uuid.UUID(bmi["id"]), uuid.UUID(derived[1]["id"])}
    else:
        responses = {uuid.UUID(r["id"]) for rs in held.values() for r in rs}
        assert responses == sources
    if track == "CKM":
        kidney = measure(report, "egfr_uacr")["components"]
        assert held["98979-8"][0]["valueQuantity"]["value"] == kidney["egfr"]
        assert held["14959-1"][0]["valueQuantity"]["value"] == kidney["uacr"]
    if track == "MSK":
        (function,) = held["76804-4"]
        tscore = next(i for i in function["item"] if i["linkId"] == "tscore")
        assert tscore["answer"] == [{"valueDecimal": measure(report, "physical_function")["value"]}]
