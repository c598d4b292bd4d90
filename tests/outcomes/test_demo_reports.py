"""`python -m app demo` can be reported: each track patient's baseline report, prepared by the
demo today, is complete, the demo's output names it, and its bundle validates as FHIR R4 with
the shape of the CMS ACCESS guide's example bundle of its track (`tests/fhir/test_report_bundle`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, time

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.auth.models import User
from app.auth.principal import Principal
from app.clock import frozen_at, local_today, utc_today
from app.config import Settings
from app.demo import CLINICIAN_NPI, DEMO_PATIENTS, ORGANIZATION_NPI, PARTICIPANT_ID, load_demo
from tests.factories import Actor, mint, writing
from tests.fhir.test_report_bundle import (
    EXAMPLES,
    HEAD,
    MBI_SYSTEM,
    NPI_SYSTEM,
    PARTICIPANT_SYSTEM,
    TRACK_SYSTEM,
    code_of,
    references,
    validated,
)

TRACKS = ("eCKM", "CKM", "MSK", "BH")
MBIS = {track: mbi for *_, track, _, mbi in DEMO_PATIENTS}
# The sub-sections each demo patient's baseline report fills, in its example's order:
# eCKM (hypertension, obesity): blood pressure, weight, BMI, HbA1c, LDL; CKM (diabetes,
# hypertension, dyslipidemia): blood pressure, HbA1c, eGFR, UACR, LDL; MSK: PROMIS PF and PI,
# pain NRS; BH (depression, anxiety): PHQ-9, GAD-7, WHODAS.
SECTIONS = {
    "eCKM": ["85354-9", "29463-7", "39156-5", "4548-4", "18262-6"],
    "CKM": ["85354-9", "4548-4", "98979-8", "14959-1", "18262-6"],
    "MSK": ["76804-4", "90973-9", "72514-3"],
    "BH": ["44249-1", "69737-5", "WHODAS"],
}
# A track patient's line, then their report's: the calendar patients' lines name more than
# the track in their parentheses, so they do not match.
REPORTED = re.compile(
    r"^  (?P<given>\w+) \w+ \((?P<track>eCKM|CKM|MSK|BH)\): activation code .*\n"
    r"    baseline report: GET (?P<url>/v1/patients/(?P<patient>[0-9a-f-]{36})"
    r"/reports/(?P<report>[0-9a-f-]{36})/bundle)$",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Reported:
    """A track patient's baseline report, as the demo's output names it."""

    given: str
    patient_id: uuid.UUID
    report_id: uuid.UUID
    url: str


@dataclass(frozen=True)
class Demo:
    clinician: Actor
    reported: dict[str, Reported]  # by track


# UTC hours to load the demo at: in the US evening (its patients' day is the day before UTC's:
# day 45 of the care period the demo starts 45 UTC days ago) and its afternoon (day 46).
US_EVENING, US_AFTERNOON = 4, 20


@pytest.fixture
async def demo(
    request: pytest.FixtureRequest,
    app: FastAPI,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> AsyncIterator[Demo]:
    """The demo loaded into the test's database, as `python -m app demo` loads it, today at
    the UTC hour `request.param` (default: the US afternoon); the clock stays there."""
    hour: int = getattr(request, "param", US_AFTERNOON)
    with frozen_at(datetime.combine(utc_today(), time(hour), UTC)):
        yield await _load(app, settings, capsys)


async def _load(app: FastAPI, settings: Settings, capsys: pytest.CaptureFixture[str]) -> Demo:
    assert await load_demo(settings) == 0
    out = capsys.readouterr().out
    reported = {
        m["track"]: Reported(m["given"], uuid.UUID(m["patient"]), uuid.UUID(m["report"]), m["url"])
        for m in REPORTED.finditer(out)
    }
    assert sorted(reported) == sorted(TRACKS), out
    async with writing(app) as session:
        (user,) = (await session.scalars(select(User).where(User.role == "clinician"))).all()
    principal = Principal(
        id=user.id, role="clinician", organization_id=user.organization_id, email=user.email
    )
    return Demo(mint(app, principal), reported)


async def test_the_output_names_each_track_patients_complete_baseline_report(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    for given, family, *_, track, _, _ in DEMO_PATIENTS:
        reported = demo.reported[track]
        assert reported.given == given
        patient = (
            await client.get(f"/v1/patients/{reported.patient_id}", headers=demo.clinician.headers)
        ).json()
        assert (patient["given_name"], patient["family_name"]) == (given, family)
        response = await client.get(
            f"/v1/patients/{reported.patient_id}/reports/{reported.report_id}",
            headers=demo.clinician.headers,
        )
        assert response.status_code == 200, response.text
        report = response.json()
        assert (report["track"], report["type"]) == (track, "baseline")
        assert (report["complete"], report["missing"]) == (True, []), track
        assert report["report_date"] == local_today(patient["timezone"]).isoformat()


@pytest.mark.parametrize("demo", [US_EVENING, US_AFTERNOON], indirect=True)
async def test_each_track_patients_bundle_validates_as_the_guides_example(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    for track in TRACKS:
        example = EXAMPLES[track]
        bundle = validated(
            await client.get(demo.reported[track].url, headers=demo.clinician.headers)
        )
        assert bundle["type"] == "document"
        entries = bundle["entry"]
        types = [e["resource"]["resourceType"] for e in entries]
        assert types[:4] == HEAD, track
        assert set(types[4:]) == {example.data_type}, track
        by_url = {e["fullUrl"]: e["resource"] for e in entries}
        assert len(by_url) == len(entries)
        for entry in entries:
            for reference in references(entry["resource"]):
                assert reference in by_url, (track, entry["resource"]["resourceType"], reference)

        composition, patient, practitioner, organization = (e["resource"] for e in entries[:4])
        assert composition["id"] == str(demo.reported[track].report_id)
        (section,) = composition["section"]
        (coding,) = section["code"]["coding"]
        assert (coding["system"], coding["code"]) == (TRACK_SYSTEM, track)
        codes = [code_of(s) for s in section["section"]]
        assert codes == SECTIONS[track]
        assert codes == [c for c in example.sections if c in codes], track  # the example's order
        for subsection in section["section"]:
            data = [by_url[e["reference"]] for e in subsection["entry"]]
            assert data, (track, code_of(subsection))
            assert {d["resourceType"] for d in data} == {example.data_type}, track

        (mbi,) = [i for i in patient["identifier"] if i.get("system") == MBI_SYSTEM]
        assert mbi["value"] == MBIS[track]
        assert practitioner["identifier"] == [{"system": NPI_SYSTEM, "value": CLINICIAN_NPI}]
        assert organization["identifier"] == [
            {"system": PARTICIPANT_SYSTEM, "value": PARTICIPANT_ID},
            {"system": NPI_SYSTEM, "value": ORGANIZATION_NPI},
        ]
