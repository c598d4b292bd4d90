"""A care period per track, three or more synthetic patients each, every status asserted.

The care period is 2025-06-01 .. 2026-05-31, read after its end: results are final, so a patient
who has not attained has `attained: false`. The organization's attainment is checked against the
per-patient results in the same test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.main import create_app
from app.outcomes.rules import DEFAULT_RULESET
from tests.conftest import make_settings
from tests.factories import OrgWorld, PatientWorld, make_org, make_patient
from tests.outcomes.helpers import (
    AFTER_END,
    checkin,
    cuff,
    enrollment,
    labs,
    manual_bp,
    progress,
    statuses,
    weights,
)

LAST_DAYS = [355, 358, 362]  # three days inside the last 15 days of the period


async def _attainment(client: httpx.AsyncClient, org: OrgWorld, track: str) -> dict[str, Any]:
    response = await client.get(
        "/v1/organization/attainment",
        params={"track": track, "as_of": AFTER_END.isoformat()},
        headers=org.admin.headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _patient(app: FastAPI, org: OrgWorld, track: str, *conditions: str) -> PatientWorld:
    return await make_patient(app, org, enroll=enrollment(track, *conditions), height_cm=170.0)


async def test_eckm(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    staff = org.clinician
    control = await _patient(app, org, "eCKM", "hypertension", "dyslipidemia")
    improved = await _patient(app, org, "eCKM", "hypertension", "dyslipidemia")
    missed = await _patient(app, org, "eCKM", "hypertension", "dyslipidemia")
    manual = await _patient(app, org, "eCKM", "hypertension", "dyslipidemia")

    # Met by control: systolic < 130 and LDL < 100 mg/dL at the end.
    await cuff(
        client, control.device, [(2, 150), (4, 152), (6, 148)] + [(d, 124) for d in LAST_DAYS]
    )
    await labs(client, staff, control.id, [("ldl", -30, 130), ("ldl", 340, 96)])
    # Met by improvement: systolic 160 -> 144 (>= 15 mmHg), LDL 150 -> 104 (>= 30 %).
    await cuff(
        client, improved.device, [(10, 160), (12, 161), (14, 159)] + [(d, 144) for d in LAST_DAYS]
    )
    await labs(client, staff, improved.id, [("ldl", 5, 150), ("ldl", 300, 104)])
    # Not met: systolic barely moves (flat trend) and no LDL after the baseline.
    await cuff(
        client,
        missed.device,
        [(3, 150), (5, 150), (7, 152)] + [(d, 146) for d in range(334, 364, 2)],
    )
    await labs(client, staff, missed.id, [("ldl", 1, 140)])
    # Manual blood pressure never counts: the last 15 days have only manual 118s.
    await cuff(client, manual.device, [(2, 150), (4, 150), (6, 150)])
    await manual_bp(client, manual.user, [(d, 118) for d in LAST_DAYS])
    await labs(client, staff, manual.id, [("ldl", 1, 90), ("ldl", 350, 92)])

    expected = {
        control.id: ({"blood_pressure": "met", "ldl": "met"}, True),
        improved.id: ({"blood_pressure": "met", "ldl": "met"}, True),
        missed.id: ({"blood_pressure": "off_track", "ldl": "insufficient_data"}, False),
        manual.id: ({"blood_pressure": "insufficient_data", "ldl": "met"}, False),
    }
    results = {}
    for patient_id, (measures, attained) in expected.items():
        item = await progress(client, staff, patient_id)
        assert {k: v for k, v in statuses(item).items() if k in measures} == measures
        assert statuses(item)["weight"] == "not_applicable"
        assert statuses(item)["hba1c"] == "not_applicable"
        assert item["attained"] is attained
        results[patient_id] = item
    bp = next(m for m in results[control.id]["measures"] if m["measure"] == "blood_pressure")
    assert bp["baseline"]["value"] == 150.0
    assert bp["baseline"]["n"] == 3
    assert bp["current"]["value"] == 124.0
    assert bp["current"]["diastolic"] == 74.0
    assert len(bp["current"]["source_ids"]) == 3
    assert bp["target"]["control_below"] == 130
    manual_bp_measure = next(
        m for m in results[manual.id]["measures"] if m["measure"] == "blood_pressure"
    )
    assert manual_bp_measure["current"] is None
    assert "3 more blood pressure readings" in manual_bp_measure["needed"]

    summary = await _attainment(client, org, "eCKM")
    assert summary["patients"] == 4
    assert summary["attained"] == sum(1 for _, a in expected.values() if a) == 2
    assert summary["rate"] == 0.5
    assert summary["threshold"] == 0.5
    assert summary["threshold_met"] is True
    assert summary["payment"]["outcome_aligned_payment"] == 4 * 360
    assert summary["payment"]["withhold_earned"] is True
    assert summary["payment"]["projected"] == 4 * 360


async def test_ckm(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    staff = org.clinician
    control = await _patient(app, org, "CKM", "diabetes", "ckd_3a")
    improved = await _patient(app, org, "CKM", "diabetes", "ckd_3a", "obesity")
    lacking = await _patient(app, org, "CKM", "diabetes", "ckd_3a")

    await cuff(
        client, control.device, [(1, 138), (3, 136), (5, 134)] + [(d, 126) for d in LAST_DAYS]
    )
    await labs(
        client,
        staff,
        control.id,
        [("hba1c", -60, 7.6), ("hba1c", 330, 6.8), ("ldl", -60, 90), ("ldl", 330, 65),
         ("egfr", -60, 52), ("uacr", 20, 40)],
    )  # fmt: skip
    await cuff(
        client, improved.device, [(1, 165), (3, 166), (5, 164)] + [(d, 148) for d in LAST_DAYS]
    )
    await labs(
        client,
        staff,
        improved.id,
        [("hba1c", 10, 8.5), ("hba1c", 340, 7.9), ("ldl", 10, 120), ("ldl", 340, 80),
         ("egfr", 10, 48), ("uacr", 10, 60)],
    )  # fmt: skip
    await weights(client, improved.user, [(3, 100.0), (360, 94.0)])  # 6 % loss
    # Insufficient: no UACR at all, no HbA1c after the baseline, no cuff readings at the end.
    await cuff(client, lacking.device, [(1, 150), (3, 150), (5, 150)])
    await labs(client, staff, lacking.id, [("hba1c", 1, 8.0), ("ldl", 1, 60), ("egfr", 1, 45)])

    expected = {
        control.id: (
            {"blood_pressure": "met", "hba1c": "met", "ldl": "met", "egfr_uacr": "met",
             "weight": "not_applicable"},
            True,
        ),
        improved.id: (
            {"blood_pressure": "met", "hba1c": "met", "ldl": "met", "egfr_uacr": "met",
             "weight": "met"},
            True,
        ),
        lacking.id: (
            {"blood_pressure": "insufficient_data", "hba1c": "insufficient_data",
             "ldl": "met", "egfr_uacr": "insufficient_data", "weight": "not_applicable"},
            False,
        ),
    }  # fmt: skip
    for patient_id, (measures, attained) in expected.items():
        item = await progress(client, staff, patient_id)
        assert statuses(item) == measures
        assert item["attained"] is attained
        assert item["care_period"] == {"start": "2025-06-01", "end": "2026-05-31", "day": 365}
    improved_item = await progress(client, staff, improved.id)
    weight = next(m for m in improved_item["measures"] if m["measure"] == "weight")
    assert weight["current"]["bmi"] == round(94 / 1.7**2, 1)
    kidney = next(m for m in improved_item["measures"] if m["measure"] == "egfr_uacr")
    assert kidney["baseline"]["components"] == {"egfr": 48.0, "uacr": 60.0}

    summary = await _attainment(client, org, "CKM")
    assert (summary["patients"], summary["attained"]) == (3, 2)
    assert summary["rate"] == round(2 / 3, 4)
    assert summary["threshold_met"] is True


async def test_msk(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    better = await _patient(app, org, "MSK", "chronic_msk_pain")
    partly = await _patient(app, org, "MSK", "chronic_msk_pain")
    silent = await _patient(app, org, "MSK", "chronic_msk_pain")
    for patient, end_nrs, end_pi, end_pf in ((better, 4, 18, 20), (partly, 6, 18, 20)):
        await checkin(client, patient.user, "pain_nrs", 2, 7)
        await checkin(client, patient.user, "promis_pi_6a", 2, 24)
        await checkin(client, patient.user, "promis_pf_6b", 2, 14)
        for day in (340, 350, 358):
            await checkin(client, patient.user, "pain_nrs", day, end_nrs)
        await checkin(client, patient.user, "promis_pi_6a", 355, end_pi)
        await checkin(client, patient.user, "promis_pf_6b", 355, end_pf)
    await checkin(client, silent.user, "pain_nrs", 2, 8)
    await checkin(client, silent.user, "promis_pi_6a", 2, 25)
    await checkin(client, silent.user, "promis_pf_6b", 2, 12)

    expected = {
        better.id: ({"pain_intensity": "met", "pain_interference": "met",
                     "physical_function": "met"}, True),
        partly.id: ({"pain_intensity": "off_track", "pain_interference": "met",
                     "physical_function": "met"}, False),
        silent.id: ({"pain_intensity": "insufficient_data",
                     "pain_interference": "insufficient_data",
                     "physical_function": "insufficient_data"}, False),
    }  # fmt: skip
    for patient_id, (measures, attained) in expected.items():
        item = await progress(client, org.clinician, patient_id)
        assert statuses(item) == measures
        assert item["attained"] is attained
    summary = await _attainment(client, org, "MSK")
    assert (summary["patients"], summary["attained"], summary["threshold_met"]) == (3, 1, False)
    assert summary["payment"]["outcome_aligned_payment"] == 3 * 180
    assert summary["payment"]["projected"] == 3 * 180 * 0.5


async def test_bh(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    recovered = await _patient(app, org, "BH", "depression", "anxiety")
    halved = await _patient(app, org, "BH", "depression", "anxiety")
    stuck = await _patient(app, org, "BH", "depression")
    await checkin(client, recovered.user, "phq9", 3, 18)
    await checkin(client, recovered.user, "gad7", 3, 12)
    await checkin(client, recovered.user, "whodas12", 3, 30)
    await checkin(client, recovered.user, "phq9", 356, 12)
    await checkin(client, recovered.user, "gad7", 356, 5)
    await checkin(client, recovered.user, "whodas12", 340, 22)
    await checkin(client, halved.user, "phq9", 3, 8)
    await checkin(client, halved.user, "gad7", 3, 6)
    await checkin(client, halved.user, "whodas12", 3, 25)
    await checkin(client, halved.user, "phq9", 356, 4)
    await checkin(client, halved.user, "gad7", 356, 3)
    for day, score in ((3, 15), (330, 14), (344, 14), (358, 14)):
        await checkin(client, stuck.user, "phq9", day, score)
    await checkin(client, stuck.user, "whodas12", 3, 28)
    await checkin(client, stuck.user, "whodas12", 350, 28)

    expected = {
        recovered.id: ({"depression": "met", "anxiety": "met", "function_whodas": "met"}, True),
        halved.id: ({"depression": "met", "anxiety": "met",
                     "function_whodas": "insufficient_data"}, False),
        stuck.id: ({"depression": "off_track", "anxiety": "not_applicable",
                    "function_whodas": "met"}, False),
    }  # fmt: skip
    for patient_id, (measures, attained) in expected.items():
        item = await progress(client, org.clinician, patient_id)
        assert statuses(item) == measures
        assert item["attained"] is attained
    mine = await progress(client, stuck.user, stuck.id)
    depression = next(m for m in mine["measures"] if m["measure"] == "depression")
    assert depression["baseline"]["source"] == "checkins"
    assert depression["needed"] == "Goal for Depression (PHQ-9): at most 10 {score}." or (
        depression["needed"].startswith("Goal for Depression (PHQ-9): at most")
    )
    summary = await _attainment(client, org, "BH")
    assert (summary["patients"], summary["attained"]) == (3, 1)
    assert summary["threshold_met"] is False  # 1/3 < 50 %: half of the OAP is withheld
    assert summary["payment"]["projected"] == 3 * 180 * 0.5

    # Add an attaining MSK patient: across tracks, withholds are earned track by track.
    msk = await _patient(app, org, "MSK", "chronic_msk_pain")
    for instrument, start, end in (
        ("pain_nrs", 8, 3),
        ("promis_pi_6a", 25, 15),
        ("promis_pf_6b", 12, 22),
    ):
        await checkin(client, msk.user, instrument, 2, start)
        await checkin(client, msk.user, instrument, 358, end)  # fmt: skip
    response = await client.get(
        "/v1/organization/attainment",
        params={"as_of": AFTER_END.isoformat()},
        headers=org.admin.headers,
    )
    overall = response.json()
    assert overall["track"] is None
    assert [(t["track"], t["attained"], t["threshold_met"]) for t in overall["tracks"]] == [
        ("BH", 1, False),
        ("MSK", 1, True),
    ]
    assert (overall["patients"], overall["attained"]) == (4, 2)
    assert overall["payment"]["withhold_earned"] is None
    assert overall["payment"]["projected"] == 3 * 180 * 0.5 + 180


async def test_mid_period_progress_is_not_final(app: FastAPI, client: httpx.AsyncClient) -> None:
    from datetime import date

    org = await make_org(app)
    patient = await _patient(app, org, "BH", "depression")
    await checkin(client, patient.user, "phq9", 3, 18)
    await checkin(client, patient.user, "phq9", 100, 16)
    item = await progress(client, patient.user, patient.id, as_of=date(2025, 9, 15))
    assert item["attained"] is None
    assert item["care_period"]["day"] == 107
    assert statuses(item)["depression"] in ("on_track", "off_track")


@pytest.mark.parametrize(("improvement", "status"), [(15, "off_track"), (10, "met")])
async def test_threshold_change_is_data_only(
    database_url: str, tmp_path: Path, improvement: int, status: str
) -> None:
    text = DEFAULT_RULESET.read_text()
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text(text.replace("improvement = 15\n", f"improvement = {improvement}\n"))
    settings: Settings = make_settings(database_url, ACCESS_RPM_RULES_FILE=str(rules_file))
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            org = await make_org(app)
            patient = await _patient(app, org, "CKM", "diabetes")
            # 150 -> 138: a 12 mmHg drop, still above 130.
            await cuff(
                client,
                patient.device,
                [(1, 150), (2, 150), (3, 150)] + [(d, 138) for d in range(334, 364, 3)],
            )
            item = await progress(client, org.clinician, patient.id)
    assert statuses(item)["blood_pressure"] == status
