"""Complete reports of every track, made over HTTP on the care-period clock, ready for CMS.

Each track's patient answers what the CMS ACCESS guide's example bundle of that track holds
(the same PROM answers, item by item), so its bundle can be compared with the example's
structure (`test_report_bundle.py`). Identity CMS needs (the MBI, the participant id, the
clinician's NPI) is set as a deployment would have it: the MBI over `/v1`, the organization's
and clinician's numbers in their rows (their own routes are tested with them).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from app.auth.models import User
from app.organizations.models import Organization
from tests.factories import OrgWorld, PatientWorld, make_patient, writing
from tests.outcomes.helpers import (
    answers_for,
    cuff,
    enrollment,
    enrollment_id,
    labs,
    on_day,
    post_readings,
    prepare,
    weights,
    when,
)

MBI = "1EG4TE5MK73"  # the guide's example MBI
PARTICIPANT_ID = "ACCES12345"
CLINICIAN_NPI = "1234567893"
ORGANIZATION_NPI = "1245319599"
# Early success: an end-of-period report from day 185 for MSK and BH (docs/rules.md).
PROM_REPORT_DAY = 186

# The example bundles' answers, by instrument (BH: PHQ-9 total 7 with "Somewhat difficult",
# GAD-7 6, WHODAS 26, PGIC 1; MSK: PROMIS PF 6b raw 17, PI 6a raw 15, NRS 6, PGIC 1).
EXAMPLE_ANSWERS: dict[str, dict[str, int]] = {
    "phq9": dict(zip([f"phq9_{n}" for n in range(1, 10)], [1, 1, 2, 1, 0, 1, 1, 0, 0], strict=True))
    | {"phq9_difficulty": 1},
    "gad7": dict(zip([f"gad7_{n}" for n in range(1, 8)], [1, 1, 1, 1, 0, 1, 1], strict=True)),
    "whodas12": dict(
        zip(
            [f"whodas_s{n}" for n in range(1, 13)],
            [2, 3, 2, 2, 3, 2, 3, 1, 1, 2, 2, 3],
            strict=True,
        )
    ),
    "pgic": {"pgic_1": 1},
    "promis_pf_6b": dict(
        zip(["pfa11", "pfa21", "pfa23", "pfa53", "pfc12", "pfb1"], [4, 3, 3, 4, 1, 2], strict=True)
    ),
    "promis_pi_6a": dict(
        zip(
            ["painin9", "painin22", "painin31", "painin34", "painin12", "painin36"],
            [2, 2, 3, 2, 3, 3],
            strict=True,
        )
    ),
    "pain_nrs": {"pain_avg_7d": 6},
}


@dataclass
class Made:
    """A patient and their report, as `POST .../reports` answered it."""

    patient: PatientWorld
    report: dict[str, Any]

    @property
    def url(self) -> str:
        return f"/v1/patients/{self.patient.id}/reports/{self.report['id']}/bundle"


async def set_identity(
    app: FastAPI,
    org: OrgWorld,
    *,
    participant_id: str | None = PARTICIPANT_ID,
    organization_npi: str | None = ORGANIZATION_NPI,
    clinician_npi: str | None = CLINICIAN_NPI,
    clinician_name: str | None = "Jane Q. Smith",
) -> None:
    async with writing(app) as session:
        await session.execute(
            update(Organization)
            .where(Organization.id == org.id)
            .values(access_participant_id=participant_id, npi=organization_npi)
        )
        await session.execute(
            update(User)
            .where(User.id == org.clinician.id)
            .values(npi=clinician_npi, name=clinician_name)
        )


async def set_mbi(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld, mbi: str | None
) -> None:
    response = await client.patch(
        f"/v1/patients/{patient.id}", json={"mbi": mbi}, headers=org.clinician.headers
    )
    assert response.status_code == 200, response.text


async def answer(
    client: httpx.AsyncClient, patient: PatientWorld, instrument: str, day: int
) -> None:
    answers = EXAMPLE_ANSWERS.get(instrument) or answers_for(instrument, 5)
    response = await client.post(
        "/v1/patients/me/checkins",
        json={"instrument": instrument, "answers": answers, "completed_at": when(day, 19)},
        headers=patient.user.headers,
    )
    assert response.status_code == 201, response.text


async def _report(
    client: httpx.AsyncClient, org: OrgWorld, patient: PatientWorld, kind: str
) -> dict[str, Any]:
    eid = await enrollment_id(client, org.clinician, patient.id)
    made = await prepare(client, org.clinician, patient.id, eid, kind)
    assert made.status_code == 201, made.text
    report: dict[str, Any] = made.json()
    return report


async def cardiometabolic(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, track: str, *, complete: bool = True
) -> Made:
    """An eCKM (hypertension, obesity) or CKM (diabetes, obesity) baseline report on day 3:
    three cuff readings, a weight after the height given at enrollment, and the labs the
    baseline needs (eGFR, UACR and a calculated LDL for CKM); no labs when not `complete`."""
    conditions = ("hypertension", "obesity") if track == "eCKM" else ("diabetes", "obesity")
    with on_day(1):
        patient = await make_patient(app, org, enroll=enrollment(track, *conditions))
    with on_day(3):
        await set_mbi(client, org, patient, MBI)
        await cuff(client, patient.device, [(1, 138), (2, 132), (3, 140)])
        await weights(client, patient.user, [(3, 85.0)])
        if complete and track == "eCKM":
            await labs(client, org.clinician, patient.id, [("hba1c", 2, 6.5), ("ldl", 2, 140.0)])
        if complete and track == "CKM":
            results = [("hba1c", 2, 6.5), ("egfr", 2, 75.0), ("uacr", 2, 45.0)]
            await labs(client, org.clinician, patient.id, results)
            # A calculated LDL (13457-7): it is reported under the lipids section all the same.
            ldl = {"type": "ldl", "value": 140.0, "unit": "mg/dL", "method": "calculated"}
            ldl |= {"effective_at": when(2, 11), "source": {"kind": "lab"}}
            await post_readings(client, org.clinician, patient.id, [ldl])
        report = await _report(client, org, patient, "baseline")
    assert report["complete"] is complete, report
    return Made(patient, report)


async def proms(app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, track: str) -> Made:
    """An MSK (chronic pain) or BH (depression, anxiety) end-of-period report (early success)
    with the example's answers to every instrument it carries."""
    conditions = ("chronic_msk_pain",) if track == "MSK" else ("depression", "anxiety")
    instruments = (
        ("promis_pf_6b", "promis_pi_6a", "pgic", "pain_nrs")
        if track == "MSK"
        else ("phq9", "gad7", "whodas12", "pgic")
    )
    with on_day(1):
        patient = await make_patient(app, org, enroll=enrollment(track, *conditions))
    with on_day(PROM_REPORT_DAY):
        await set_mbi(client, org, patient, MBI)
        for offset, instrument in enumerate(instruments):
            await answer(client, patient, instrument, PROM_REPORT_DAY - 3 + offset % 3)
        report = await _report(client, org, patient, "end_of_period")
    assert report["complete"] is True, report
    return Made(patient, report)


async def make_report(app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, track: str) -> Made:
    if track in ("eCKM", "CKM"):
        return await cardiometabolic(app, client, org, track)
    return await proms(app, client, org, track)


async def get_bundle(
    client: httpx.AsyncClient, made: Made, headers: dict[str, str]
) -> httpx.Response:
    return await client.get(made.url, headers=headers)


def report_id(made: Made) -> uuid.UUID:
    return uuid.UUID(made.report["id"])
