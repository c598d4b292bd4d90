"""GET /fhir/QuestionnaireResponse: check-ins with the guide's questionnaires and linkIds."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.checkins.instruments import CATALOG
from app.fhir.questionnaires import ANSWER_CODES, IG_BASE, LOINC, ORDINAL_VALUE, OWN_BASE
from tests.checkins.helpers import enroll_bh, local_today, submit
from tests.factories import OrgWorld, PatientWorld, make_patient
from tests.fhir.helpers import (
    audit_events,
    bundle_of,
    fhir_get,
    names,
    next_link,
    outcome_of,
    resources,
)
from tests.world import org

__all__ = ["org"]


@pytest.fixture
async def bh_patient(app: FastAPI, org: OrgWorld) -> PatientWorld:
    return await make_patient(app, org, enroll=enroll_bh(local_today(), "depression"))


async def _answer(client: httpx.AsyncClient, patient: PatientWorld, *instruments: str) -> list[str]:
    ids = []
    for instrument in instruments:
        response = await submit(client, patient.user, patient.id, instrument)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


async def _search(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld, **params: Any
) -> list[dict[str, Any]]:
    query = {"patient": f"Patient/{patient.id}", **params}
    response = await fhir_get(client, "/fhir/QuestionnaireResponse", org.clinician, query)
    return resources(bundle_of(response))


async def test_phq9_as_the_guides_questionnaire_response(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, bh_patient: PatientWorld
) -> None:
    (checkin,) = await _answer(client, bh_patient, "phq9")
    (response,) = await _search(client, org, bh_patient)
    assert response["id"] == checkin
    assert response["questionnaire"] == IG_BASE + "PHQ9Questionnaire"
    assert response["status"] == "completed"
    assert response["meta"]["profile"] == [
        "http://hl7.org/fhir/us/core/StructureDefinition/us-core-questionnaireresponse|6.1.0"
    ]
    patient = {"reference": f"Patient/{bh_patient.id}"}
    assert response["subject"] == patient
    assert response["author"] == patient
    links = [item["linkId"] for item in response["item"]]
    # Items 1-9 answered (the difficulty item, phq9-10, was not), then the kept total.
    assert links == [f"phq9-{n}" for n in range(1, 10)] + ["total-score"]
    first = response["item"][0]
    assert first["text"] == "Little interest or pleasure in doing things"
    # The guide's coding: the LOINC answer code (LL358-3) with the scored value as ordinalValue.
    assert first["answer"] == [
        {
            "valueCoding": {
                "extension": [{"url": ORDINAL_VALUE, "valueDecimal": 1}],
                "system": LOINC,
                "code": "LA6569-3",
                "display": "Several days",
            }
        }
    ]
    assert response["item"][-1]["answer"] == [{"valueDecimal": 8}]
    assert (
        await audit_events(
            app, patient_id=bh_patient.id, resource_type="fhir_questionnaire_response"
        )
        == 1
    )


# instrument -> (questionnaire URL, first linkId, its answer's value key)
EXPECTED: dict[str, tuple[str, str, str]] = {
    "gad7": (IG_BASE + "GAD7Questionnaire", "gad7-1", "valueCoding"),
    "promis_pi_6a": (IG_BASE + "PROMISPainInterferenceSFQuestionnaire", "pi6a-1", "valueCoding"),
    "promis_pf_6b": (IG_BASE + "PROMISPhysicalFunctionQuestionnaire", "pf6b-1", "valueCoding"),
    "pain_nrs": (IG_BASE + "PROMISNRSQuestionnaire", "nrs-1", "valueInteger"),
    "whodas12": (IG_BASE + "WHODASQuestionnaire", "whodas-s1", "valueCoding"),
    "pgic": (IG_BASE + "BHPGICQuestionnaire", "pgic-1", "valueCoding"),
    "daily": (OWN_BASE + "daily", "pain_today", "valueInteger"),
}


async def test_each_instrument_names_its_questionnaire(
    client: httpx.AsyncClient, org: OrgWorld, bh_patient: PatientWorld
) -> None:
    ids = dict(zip(EXPECTED, await _answer(client, bh_patient, *EXPECTED), strict=True))
    found = {r["id"]: r for r in await _search(client, org, bh_patient)}
    for instrument, (url, first_link, value_key) in EXPECTED.items():
        response = found[ids[instrument]]
        assert response["questionnaire"] == url, instrument
        assert response["item"][0]["linkId"] == first_link, instrument
        assert value_key in response["item"][0]["answer"][0], instrument
        # Searching by the questionnaire finds exactly this one.
        (only,) = await _search(client, org, bh_patient, questionnaire=url)
        assert only["id"] == ids[instrument], instrument
    pain = found[ids["promis_pi_6a"]]
    assert [i["linkId"] for i in pain["item"][-2:]] == ["raw_score", "tscore"]
    assert pain["item"][0]["answer"][0]["valueCoding"]["code"] == "LA13909-9"  # 3: Somewhat
    # Options without a LOINC answer code (WHODAS, PGIC) show their label, as the guide's do.
    whodas = found[ids["whodas12"]]["item"][0]["answer"][0]["valueCoding"]
    assert whodas == {"extension": [{"url": ORDINAL_VALUE, "valueDecimal": 2}], "display": "Mild"}


# LOINC answer lists: LL358-3 (PHQ-9 and GAD-7 frequency), LL359-1 (PHQ-9 difficulty), PROMIS.
@pytest.mark.parametrize(
    ("instrument", "label", "code"),
    [
        ("phq9", "Not at all", "LA6568-5"),
        ("phq9", "Nearly every day", "LA6571-9"),
        ("phq9", "Somewhat difficult", "LA6573-5"),
        ("phq9", "Very difficult", "LA6575-0"),
        ("phq9", "Extremely difficult", "LA6574-3"),
        ("gad7", "More than half the days", "LA6570-1"),
        ("promis_pi_6a", "A little bit", "LA13863-8"),
        ("promis_pi_6a", "Very much", "LA13914-9"),
        ("promis_pf_6b", "Without any difficulty", "LA13921-4"),
        ("promis_pf_6b", "Unable to do", "LA13912-3"),
        ("promis_pf_6b", "Quite a lot", "LA11911-7"),
        ("promis_pf_6b", "Cannot do", "LA13868-7"),
    ],
)
def test_answer_codes(instrument: str, label: str, code: str) -> None:
    assert ANSWER_CODES[instrument][label] == code


@pytest.mark.parametrize("instrument", sorted(ANSWER_CODES))
def test_every_option_of_a_coded_instrument_has_its_code(instrument: str) -> None:
    labels = {option.label for item in CATALOG[instrument].items for option in item.options}
    assert labels <= ANSWER_CODES[instrument].keys()


async def test_pgic_outside_bh_and_msk_has_this_services_questionnaire(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld
) -> None:
    unenrolled = await make_patient(app, org)
    (checkin,) = await _answer(client, unenrolled, "pgic")
    (response,) = await _search(client, org, unenrolled, questionnaire=OWN_BASE + "pgic")
    assert response["id"] == checkin
    assert response["questionnaire"] == OWN_BASE + "pgic"
    assert response["item"][0]["linkId"] == "pgic_1"
    assert (
        await _search(client, org, unenrolled, questionnaire=IG_BASE + "BHPGICQuestionnaire") == []
    )


@pytest.mark.parametrize(
    ("questionnaire", "found"),
    [
        (IG_BASE + "PHQ9Questionnaire|1.0", 1),
        (IG_BASE + "PHQ9Questionnaire|2.0", 0),
        (f"{IG_BASE}PHQ9Questionnaire,{IG_BASE}GAD7Questionnaire", 2),
        ("http://example.org/Questionnaire/Unknown", 0),
        (OWN_BASE + "phq9", 0),  # PHQ-9 answers the guide's questionnaire, not one of ours
    ],
)
async def test_questionnaire_search(
    client: httpx.AsyncClient,
    org: OrgWorld,
    bh_patient: PatientWorld,
    questionnaire: str,
    found: int,
) -> None:
    await _answer(client, bh_patient, "phq9", "gad7")
    assert len(await _search(client, org, bh_patient, questionnaire=questionnaire)) == found


async def test_paging(client: httpx.AsyncClient, org: OrgWorld, bh_patient: PatientWorld) -> None:
    ids = await _answer(client, bh_patient, "daily", "daily", "daily", "gad7", "daily")
    url: str | None = "/fhir/QuestionnaireResponse"
    params: dict[str, Any] | None = {"patient": str(bh_patient.id), "_count": 2}
    seen: list[str] = []
    while url is not None:
        bundle = bundle_of(await fhir_get(client, url, org.clinician, params))
        seen += [r["id"] for r in resources(bundle)]
        url, params = next_link(bundle), None
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize(
    ("query", "named"),
    [("questionnaire=a b", "questionnaire"), ("code=8480-6", "code"), ("date=2025", "date")],
)
async def test_bad_search_is_400(
    client: httpx.AsyncClient, org: OrgWorld, bh_patient: PatientWorld, query: str, named: str
) -> None:
    url = f"/fhir/QuestionnaireResponse?patient={bh_patient.id}&{query}"
    assert names(outcome_of(await fhir_get(client, url, org.clinician), 400)) == [named]
