"""An update's document: a FHIR R4 document Bundle for every track, validated by the FHIR
models, with a readable narrative in every section; the same document as an HTML page, with
every patient-provided string escaped (docs/api.md "Care-coordination updates")."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fhir.resources.R4B.bundle import Bundle

from tests.care_updates.helpers import REFERRER, of_kind, referred_patient, updates, url
from tests.factories import OrgWorld, PatientWorld, make_org
from tests.outcomes.helpers import checkin, cuff, enrollment_id, labs, on_day

XHTML = "{http://www.w3.org/1999/xhtml}"
Data = Callable[[httpx.AsyncClient, OrgWorld, PatientWorld], Awaitable[None]]


async def _cardio(client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld) -> None:
    await cuff(client, patient.device, [(8, 142), (9, 138), (10, 136)])
    await labs(client, org.clinician, patient.id, [("hba1c", 2, 6.9), ("ldl", 2, 96)])


async def _msk(client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld) -> None:
    await checkin(client, patient.user, "pain_nrs", 9, 6)
    await checkin(client, patient.user, "promis_pi_6a", 9, 20)
    await checkin(client, patient.user, "promis_pf_6b", 9, 18)


async def _bh(client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld) -> None:
    await checkin(client, patient.user, "phq9", 9, 14)
    await checkin(client, patient.user, "gad7", 9, 11)


DATA: dict[str, tuple[Data, str, int]] = {
    # track: its data, the resource type of its latest values, how many of them
    "eCKM": (_cardio, "Observation", 3),  # hypertension only: the 3 cuff readings of the mean
    "CKM": (_cardio, "Observation", 5),  # diabetes: and the HbA1c and LDL results
    "MSK": (_msk, "QuestionnaireResponse", 3),
    "BH": (_bh, "QuestionnaireResponse", 2),
}


async def _document(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld, kind: str = "initiation"
) -> dict[str, Any]:
    item = of_kind(await updates(client, org.clinician, patient), kind)
    response = await client.get(url(patient, item, "document"), headers=org.clinician.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/fhir+json"
    body: dict[str, Any] = response.json()
    return body


def _resources(bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type
    ]


def _div(narrative: dict[str, str]) -> ET.Element:
    """The narrative's XHTML, parsed: well-formed, in the XHTML namespace, no script."""
    root = ET.fromstring(narrative["div"])  # noqa: S314 (the service's own output)
    assert root.tag == f"{XHTML}div"
    assert not [e for e in root.iter() if e.tag.lower().endswith("script")]
    return root


@pytest.mark.parametrize("track", ["eCKM", "CKM", "MSK", "BH"])
async def test_the_document_of_every_track_is_a_valid_fhir_document(
    app: FastAPI, client: httpx.AsyncClient, track: str
) -> None:
    org = await make_org(app)
    patient = await referred_patient(app, org, track)
    add_data, evidence_type, evidence_count = DATA[track]
    with on_day(10):
        await add_data(client, org, patient)
        bundle = await _document(client, org, patient)
    Bundle.model_validate(bundle)
    assert (bundle["type"], bundle["identifier"]["system"]) == ("document", "urn:ietf:rfc:3986")
    composition = bundle["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition"
    assert composition["status"] == "final"
    assert composition["type"]["coding"] == [
        {"system": "http://loinc.org", "code": "34133-9", "display": "Summary of episode note"}
    ]
    assert composition["subject"] == {"reference": f"Patient/{patient.id}"}
    period = await enrollment_id(client, org.clinician, patient.id)
    assert composition["identifier"]["value"] == f"urn:uuid:{composition['id']}"
    assert composition["event"] == [{"period": {"start": "2026-07-05", "end": "2027-07-04"}}]
    # Every reference resolves to an entry of the Bundle (RESTful full URLs, as the guide's).
    full_urls = {e["fullUrl"] for e in bundle["entry"]}
    base = bundle["entry"][1]["fullUrl"].rsplit("/Patient/", 1)[0]
    references = [composition["subject"], *composition["author"], composition["custodian"]]
    references += [ref for s in composition["section"] for ref in s.get("entry", [])]
    assert {f"{base}/{r['reference']}" for r in references} <= full_urls
    # Four sections, each with a readable narrative.
    assert [s["code"]["coding"][0]["code"] for s in composition["section"]] == [
        "care-period",
        "measures",
        "alerts",
        "recipient",
    ]
    for section in composition["section"]:
        assert "".join(_div(section["text"]).itertext()).strip()
    standing = "".join(_div(composition["section"][0]["text"]).itertext())
    assert "Initiation: the care period began on 2026-07-05." in standing
    assert "10 of 365" in standing
    # The latest values, as the resources the /fhir API serves for them.
    evidence = _resources(bundle, evidence_type)
    assert len(evidence) == evidence_count
    measures = composition["section"][1]
    assert [e["reference"] for e in measures["entry"]] == [
        f"{evidence_type}/{r['id']}" for r in evidence
    ]
    # The recipient, by NPI; the author, the organization.
    (practitioner,) = _resources(bundle, "Practitioner")
    assert practitioner["identifier"] == [
        {"system": "http://hl7.org/fhir/sid/us-npi", "value": REFERRER["npi"]}
    ]
    assert practitioner["name"] == [{"text": REFERRER["name"]}]
    assert practitioner["telecom"] == [{"system": "email", "value": REFERRER["direct_address"]}]
    (organization,) = _resources(bundle, "Organization")
    assert composition["author"] == [{"reference": f"Organization/{organization['id']}"}]
    assert period  # the update belongs to the one care period


async def test_an_escalation_document_names_the_episode_and_lists_the_alerts(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await referred_patient(app, org)
    with on_day(12):
        await cuff(client, patient.device, [(12, 190)])  # 190/140: a crisis
        bundle = await _document(client, org, patient, "escalation")
    composition = bundle["entry"][0]["resource"]
    assert composition["title"] == "Care-coordination update: escalation"
    standing, _, alerts, _ = ("".join(_div(s["text"]).itertext()) for s in composition["section"])
    assert "Escalation: Blood-pressure crisis (urgent) began 2026-07-16 08:00." in standing
    assert "Blood-pressure crisis" in alerts
    assert "urgent" in alerts


async def _hostile(app: FastAPI, client: httpx.AsyncClient) -> tuple[OrgWorld, PatientWorld]:
    org = await make_org(app)
    patient = await referred_patient(app, org, "BH")
    with on_day(3):
        changed = await client.patch(
            f"/v1/patients/{patient.id}",
            json={"given_name": "<script>alert('x')</script>", "family_name": 'O"Brien & <b>Co'},
            headers=org.clinician.headers,
        )
        assert changed.status_code == 200, changed.text
        period = await enrollment_id(client, org.clinician, patient.id)
        referrer = {"name": "Dr. <img src=x onerror=alert(1)>", "organization": "A&B <Clinic>"}
        changed = await client.patch(
            f"/v1/patients/{patient.id}/enrollments/{period}",
            json={"referring_clinician": referrer},
            headers=org.clinician.headers,
        )
        assert changed.status_code == 200, changed.text
    return org, patient


async def test_patient_provided_text_is_escaped_in_the_narrative_and_the_page(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org, patient = await _hostile(app, client)
    with on_day(3):
        bundle = await _document(client, org, patient)
        item = of_kind(await updates(client, org.clinician, patient), "initiation")
        page = await client.get(
            url(patient, item, "document"),
            params={"_format": "html"},
            headers=org.clinician.headers,
        )
    composition = bundle["entry"][0]["resource"]
    for narrative in [composition["text"], *(s["text"] for s in composition["section"])]:
        _div(narrative)
        assert "<script" not in narrative["div"]
        assert "<img" not in narrative["div"]
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in composition["text"]["div"]
    recipient = "".join(_div(composition["section"][3]["text"]).itertext())
    assert "Dr. <img src=x onerror=alert(1)>" in recipient  # shown as the text it is
    assert page.status_code == 200, page.text
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src" not in page.headers["content-security-policy"]
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    html = page.text
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert (
        "Patient: &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; O&quot;Brien &amp; &lt;b&gt;Co"
        in (html)
    )
    assert "Dr. &lt;img src=x onerror=alert(1)&gt;" in html
    assert "A&amp;B &lt;Clinic&gt;" in html


@pytest.mark.parametrize(
    ("params", "accept", "expected"),
    [
        ({}, None, "application/fhir+json"),
        ({}, "*/*", "application/fhir+json"),
        ({}, "application/fhir+json", "application/fhir+json"),
        ({}, "text/html", "text/html; charset=utf-8"),
        # A browser's header: HTML first, anything else at a lower quality.
        ({}, "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html"),
        ({}, "application/json;q=0.5, text/html;q=0.4", "application/fhir+json"),
        ({"_format": "html"}, "application/json", "text/html"),
        ({"_format": "text/html"}, None, "text/html"),
        ({"_format": "json"}, "text/html", "application/fhir+json"),
        ({"_format": "application/fhir+json"}, "image/png", "application/fhir+json"),
    ],
)
async def test_the_format_is_chosen_by_format_then_accept(
    app: FastAPI,
    client: httpx.AsyncClient,
    params: dict[str, str],
    accept: str | None,
    expected: str,
) -> None:
    org = await make_org(app)
    patient = await referred_patient(app, org, "MSK")
    with on_day(2):
        item = of_kind(await updates(client, org.clinician, patient), "initiation")
        headers = {**org.clinician.headers, **({"Accept": accept} if accept else {})}
        response = await client.get(url(patient, item, "document"), params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(expected)
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("params", "accept", "status"),
    [({}, "image/png", 406), ({"_format": "xml"}, None, 422)],
)
async def test_a_format_the_document_is_not_served_in_is_refused(
    app: FastAPI, client: httpx.AsyncClient, params: dict[str, str], accept: str | None, status: int
) -> None:
    org = await make_org(app)
    patient = await referred_patient(app, org, "MSK")
    with on_day(2):
        item = of_kind(await updates(client, org.clinician, patient), "initiation")
        headers = {**org.clinician.headers, **({"Accept": accept} if accept else {})}
        response = await client.get(url(patient, item, "document"), params=params, headers=headers)
    assert response.status_code == status, response.text


async def test_a_disenrolled_periods_completion_document_says_why_it_ended(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    patient = await referred_patient(app, org, "BH")
    with on_day(50):
        period = await enrollment_id(client, org.clinician, patient.id)
        ended = await client.post(
            f"/v1/patients/{patient.id}/enrollments/{period}/disenroll",
            json={"reason": "loss_of_contact"},
            headers=org.clinician.headers,
        )
        assert ended.status_code == 200, ended.text
        bundle = await _document(client, org, patient, "completion")
    Bundle.model_validate(bundle)
    composition = bundle["entry"][0]["resource"]
    assert composition["event"] == [{"period": {"start": "2026-07-05", "end": "2026-08-23"}}]
    standing = "".join(_div(composition["section"][0]["text"]).itertext())
    assert "Completion: the care period ended on 2026-08-23 (contact was lost)." in standing
