"""A care period per track, five synthetic patients each, judged the way CMS judges them.

Timeline (docs/api.md "Care periods and the ACCESS reporting calendar"): care-period days from
`START` (2026-07-05); baselines come from the data of days 1-60 or from a baseline report; the
data that count at the end lie in the 15 days before the end-of-period (EOP) report, which staff
prepare on day 365 (MSK may report early, from day 185); the service's clock is moved to each
day with `on_day`. Per patient the EOP report is checked (`complete`, `missing`, each measure's
value and status, `attained`), then progress before the report, and on day 430, after every EOP
window has closed (day 425), the organization's attainment against the per-patient results.

Payments are written out from docs/rules.md "Payment": eCKM $360, CKM $420, MSK $180, BH $180
per initial period; 50 % withheld unless the rate reaches the 50 % threshold.
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
from app.readings.catalog import READING_TYPES
from tests.conftest import make_settings
from tests.factories import Actor, OrgWorld, PatientWorld, make_org, make_patient
from tests.outcomes.helpers import (
    checkin,
    cuff,
    date_of,
    enrollment,
    enrollment_id,
    labs,
    manual_bp,
    measure,
    on_day,
    post_readings,
    prepare,
    progress,
    statuses,
    weights,
    when,
    worker_pass,
)

AFTER = 430  # every end-of-period window (closing on day 425) has closed: results are final
COUNTS = (
    "periods",
    "control_group_periods",
    "closed",
    "reported",
    "attained",
    "rate",
    "projected_rate",
    "threshold",
    "threshold_met",
)


async def _patient(
    app: FastAPI, org: OrgWorld, track: str, *conditions: str, **more: Any
) -> PatientWorld:
    with on_day(1):
        # No height_cm: these scenarios post their dated heights themselves (BMI uses those).
        return await make_patient(
            app, org, enroll=enrollment(track, *conditions, **more), height_cm=None
        )


async def _report(
    client: httpx.AsyncClient, staff: Actor, patient: PatientWorld, report_type: str, day: int
) -> dict[str, Any]:
    """A report of `report_type` dated care-period day `day`, newly prepared."""
    eid = await enrollment_id(client, staff, patient.id)
    made = await prepare(client, staff, patient.id, eid, report_type, day)
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    assert (body["type"], body["report_date"]) == (report_type, date_of(day).isoformat())
    return body


def _values(report: dict[str, Any]) -> dict[str, tuple[float | None, str | None]]:
    """Each reported measure's value and status (status: EOP reports, target measures)."""
    return {m["measure"]: (m["value"], m["status"]) for m in report["measures"]}


def _reported(report: dict[str, Any], name: str) -> dict[str, Any]:
    measures: list[dict[str, Any]] = report["measures"]
    (found,) = [m for m in measures if m["measure"] == name]
    return found


async def _attainment(
    app: FastAPI, client: httpx.AsyncClient, org: OrgWorld, day: int = AFTER, **params: Any
) -> dict[str, Any]:
    """The attainment evaluated afresh on `day`; on the clock's day (`on_day(day)`), after the
    worker's pass, today's attainment from stored standings must say the same."""
    response = await client.get(
        "/v1/organization/attainment",
        params={"as_of": date_of(day).isoformat(), **params},
        headers=org.admin.headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    await worker_pass(app)
    kept = await client.get("/v1/organization/attainment", params=params, headers=org.admin.headers)
    assert kept.status_code == 200, kept.text
    assert _undated(kept.json()) == _undated(body)
    return body


def _undated(body: dict[str, Any]) -> dict[str, Any]:
    """An attainment without its `as_of` (UTC today for stored standings; each patient here
    lives in New York, where the clock's day is `day`)."""
    tracks = body.get("tracks")
    return {
        **body,
        "as_of": None,
        "tracks": [_undated(t) for t in tracks] if tracks is not None else None,
    }


def _counts(body: dict[str, Any]) -> dict[str, Any]:
    return {key: body[key] for key in COUNTS}


def _payment(oap: float, withheld: float, earned: bool | None, projected: float) -> dict[str, Any]:
    return {
        "currency": "USD",
        "outcome_aligned_payment": oap,
        "withheld": withheld,
        "withhold_earned": earned,
        "projected": projected,
    }


async def test_eckm(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    staff = org.clinician
    conditions = ("hypertension", "dyslipidemia")  # blood pressure and LDL apply
    control = await _patient(app, org, "eCKM", *conditions)  # met by control
    improved = await _patient(app, org, "eCKM", *conditions)  # met by improvement
    missed = await _patient(app, org, "eCKM", *conditions)  # not met
    manual = await _patient(app, org, "eCKM", *conditions)  # typed-in readings ignored
    late = await _patient(app, org, "eCKM", *conditions)  # no baseline
    await _patient(app, org, "eCKM", *conditions, control_group=True)  # never counted
    everyone = {
        "control": control,
        "improved": improved,
        "missed": missed,
        "manual": manual,
        "late": late,
    }

    # Baselines. `control`: a baseline report on day 10 (every eCKM baseline report also needs
    # HbA1c and LDL); the others: their data on the earliest valid day of days 1-60 (HbA1c
    # too: without its baseline an eCKM period cannot attain).
    with on_day(10):
        await cuff(client, control.device, [(2, 150), (4, 152), (6, 148)])
        await labs(client, staff, control.id, [("ldl", -30, 130), ("hba1c", -30, 5.5)])
        baseline = await _report(client, staff, control, "baseline", 10)
        await cuff(client, missed.device, [(3, 150), (5, 150), (7, 150)])
        await labs(client, staff, missed.id, [("ldl", 1, 140), ("hba1c", 1, 5.6)])
        await cuff(client, manual.device, [(2, 150), (4, 150), (6, 150)])
        await labs(client, staff, manual.id, [("ldl", 1, 90), ("hba1c", 1, 5.6)])
    with on_day(14):
        await cuff(client, improved.device, [(10, 160), (12, 161), (14, 159)])
        await labs(client, staff, improved.id, [("ldl", 5, 150), ("hba1c", 5, 5.6)])
    assert baseline["complete"] is True
    assert baseline["missing"] == []
    assert _values(baseline) == {
        "blood_pressure": (150.0, None),
        "hba1c": (5.5, None),
        "ldl": (130.0, None),
    }
    assert baseline["attained"] is None  # only an end-of-period report attains

    with on_day(70):
        # `late` starts measuring after the baseline window (days 1-60) closed.
        await cuff(client, late.device, [(66, 150), (68, 150), (70, 150)])
        await labs(client, staff, late.id, [("ldl", 70, 140)])

    with on_day(340):
        await labs(client, staff, control.id, [("ldl", 320, 96)])  # below 100 mg/dL
        await labs(client, staff, improved.id, [("ldl", 300, 104)])  # 150 -> 104: -30.7 %
        await labs(client, staff, missed.id, [("ldl", 300, 120)])  # 140 -> 120: -14.3 %
        await labs(client, staff, manual.id, [("ldl", 330, 92)])
        await labs(client, staff, late.id, [("ldl", 300, 90)])
        await cuff(client, control.device, [(330, 124), (335, 124), (340, 124)])
        await cuff(client, improved.device, [(330, 150), (335, 148), (340, 146)])
        await cuff(client, missed.device, [(330, 146), (335, 146), (340, 146)])
        # Typed-in 160s would lift the mean above 130: they are stored, and never count.
        await cuff(client, manual.device, [(330, 128), (335, 128), (340, 128)])
        await manual_bp(client, manual.user, [(331, 160), (336, 160), (339, 160)])
        await cuff(client, late.device, [(330, 120), (335, 120), (340, 120)])
        items = {n: await progress(client, staff, p.id) for n, p in everyone.items()}
    na = {"weight": "not_applicable", "hba1c": "not_applicable"}
    assert {n: statuses(item) for n, item in items.items()} == {
        "control": {"blood_pressure": "met", "ldl": "met", **na},
        # 148 now, but the last 30 days' trend reaches 136 by day 365 (goal: 145).
        "improved": {"blood_pressure": "on_track", "ldl": "met", **na},
        "missed": {"blood_pressure": "off_track", "ldl": "off_track", **na},
        "manual": {"blood_pressure": "met", "ldl": "met", **na},
        # No HbA1c baseline either: no target, but every eCKM baseline needs one.
        "late": {
            "blood_pressure": "no_baseline",
            "ldl": "no_baseline",
            "weight": "not_applicable",
            "hba1c": "no_baseline",
        },
    }
    assert {n: (i["attained"], i["projected"]) for n, i in items.items()} == {
        "control": (None, True),
        "improved": (None, False),  # an EOP report today would show 148: not yet 15 below 160
        "missed": (None, False),
        "manual": (None, True),
        "late": (None, False),
    }
    bp = measure(items["control"], "blood_pressure")
    assert bp["baseline"]["value"] == 150.0
    assert bp["baseline"]["n"] == 3
    assert bp["baseline"]["from_report"] is True
    assert bp["baseline"]["on"] == date_of(10).isoformat()
    assert (bp["current"]["value"], bp["current"]["diastolic"], bp["current"]["n"]) == (
        124.0,
        74.0,
        3,
    )
    assert (bp["target"]["control_below"], bp["target"]["improvement"]) == (130, 15)
    assert bp["target"]["goal"] == 135.0
    bp = measure(items["improved"], "blood_pressure")
    assert (bp["baseline"]["value"], bp["baseline"]["from_report"]) == (160.0, False)
    assert bp["baseline"]["on"] == date_of(14).isoformat()  # the first day with 3 readings
    assert bp["current"]["value"] == 148.0
    assert bp["projected"] == 136.0
    assert measure(items["manual"], "blood_pressure")["current"]["value"] == 128.0
    assert measure(items["late"], "blood_pressure")["baseline"] is None

    with on_day(365):
        await cuff(client, control.device, [(360, 124), (362, 124), (364, 124)])
        await cuff(client, improved.device, [(360, 144), (362, 144), (364, 144)])
        await cuff(client, missed.device, [(360, 146), (362, 146), (364, 146)])
        counted = await cuff(client, manual.device, [(360, 128), (362, 128), (364, 128)])
        await manual_bp(client, manual.user, [(361, 160), (363, 160), (364, 160)])
        await cuff(client, late.device, [(360, 120), (362, 120), (364, 120)])
        reports = {
            n: await _report(client, staff, p, "end_of_period", 365) for n, p in everyone.items()
        }
        after = {n: (await progress(client, staff, p.id))["attained"] for n, p in everyone.items()}
    assert {n: (r["complete"], r["missing"]) for n, r in reports.items()} == {
        n: (True, []) for n in everyone
    }
    assert {n: _values(r) for n, r in reports.items()} == {
        "control": {"blood_pressure": (124.0, "met"), "ldl": (96.0, "met")},  # control
        "improved": {"blood_pressure": (144.0, "met"), "ldl": (104.0, "met")},  # improvement
        "missed": {"blood_pressure": (146.0, "not_met"), "ldl": (120.0, "not_met")},
        "manual": {"blood_pressure": (128.0, "met"), "ldl": (92.0, "met")},
        # Below both control values, but without a baseline nothing is met.
        "late": {"blood_pressure": (120.0, "no_baseline"), "ldl": (90.0, "no_baseline")},
    }
    expected = {"control": True, "improved": True, "missed": False, "manual": True, "late": False}
    assert {n: r["attained"] for n, r in reports.items()} == expected
    assert after == expected
    manual_bp_value = _reported(reports["manual"], "blood_pressure")
    assert manual_bp_value["n"] == 3
    assert sorted(manual_bp_value["source_ids"]) == sorted(str(i) for i in counted)

    with on_day(AFTER):
        summary = await _attainment(app, client, org, track="eCKM")
        cohort = await _attainment(app, client, org, track="eCKM", cohort=2026)
        empty = await _attainment(app, client, org, track="eCKM", cohort=2027)
    assert _counts(summary) == {
        "periods": 5,  # the control-group period is left out
        "control_group_periods": 1,
        "closed": 5,
        "reported": 5,
        "attained": 3,
        "rate": 0.6,
        "projected_rate": 0.6,
        "threshold": 0.5,
        "threshold_met": True,
    }
    # 5 x $360; the rate reaches 50 %, so the withheld half is earned.
    assert summary["payment"] == _payment(1800.0, 900.0, True, 1800.0)
    assert _counts(cohort) == _counts(summary)
    assert (empty["periods"], empty["attained"], empty["rate"]) == (0, 0, None)


async def test_ckm(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    staff = org.clinician
    # Blood pressure, HbA1c (diabetes), LDL and eGFR+UACR (submission only) apply to all.
    control = await _patient(app, org, "CKM", "diabetes", "ckd_3a")  # met by control
    improved = await _patient(app, org, "CKM", "diabetes", "ckd_3a", "obesity")  # + weight
    missed = await _patient(app, org, "CKM", "diabetes", "ckd_3a")  # UACR late; HbA1c not met
    manual = await _patient(app, org, "CKM", "diabetes")  # too few cuff readings at the end
    late = await _patient(app, org, "CKM", "diabetes", "ckd_3b")  # no baseline
    everyone = {
        "control": control,
        "improved": improved,
        "missed": missed,
        "manual": manual,
        "late": late,
    }

    with on_day(6):
        await cuff(client, control.device, [(1, 138), (3, 136), (5, 134)])
        await labs(
            client,
            staff,
            control.id,
            [("hba1c", -60, 7.6), ("ldl", -60, 90), ("egfr", -60, 52), ("uacr", 5, 40)],
        )
        await cuff(client, missed.device, [(1, 150), (3, 150), (5, 150)])
        await labs(client, staff, missed.id, [("hba1c", 2, 8.0), ("ldl", 2, 60), ("egfr", 2, 45)])
        await cuff(client, manual.device, [(1, 150), (3, 150), (5, 150)])
        await labs(
            client,
            staff,
            manual.id,
            [("hba1c", 2, 7.5), ("ldl", 2, 80), ("egfr", 2, 70), ("uacr", 2, 20)],
        )
        first = {
            n: await _report(client, staff, everyone[n], "baseline", 6)
            for n in ("control", "missed")
        }
    assert _values(first["control"]) == {
        "blood_pressure": (136.0, None),
        "hba1c": (7.6, None),
        "ldl": (90.0, None),
        "egfr_uacr": (52.0, None),
    }
    assert _reported(first["control"], "egfr_uacr")["components"] == {"egfr": 52.0, "uacr": 40.0}
    assert (first["control"]["complete"], first["control"]["missing"]) == (True, [])
    # eGFR and UACR are reported with the baseline: without a UACR the report is incomplete.
    assert (first["missed"]["complete"], first["missed"]["missing"]) == (False, ["egfr_uacr"])
    assert _values(first["missed"])["egfr_uacr"] == (None, None)

    with on_day(40):
        await labs(client, staff, missed.id, [("uacr", 40, 35)])
        await cuff(client, missed.device, [(36, 150), (38, 150), (40, 150)])
        again = await _report(client, staff, missed, "baseline", 40)
        await cuff(client, improved.device, [(1, 165), (3, 166), (5, 164)])
        await weights(client, improved.user, [(3, 100.0)])
        await labs(
            client,
            staff,
            improved.id,
            [("hba1c", 10, 8.5), ("ldl", 10, 120), ("egfr", 10, 48), ("uacr", 10, 60)],
        )
    assert (again["complete"], again["missing"]) == (True, [])
    assert _reported(again, "egfr_uacr")["components"] == {"egfr": 45.0, "uacr": 35.0}

    with on_day(70):
        # `late` starts after the baseline window (days 1-60) closed.
        await cuff(client, late.device, [(66, 150), (68, 150), (70, 150)])
        await labs(
            client,
            staff,
            late.id,
            [("hba1c", 70, 8.0), ("ldl", 70, 100), ("egfr", 70, 40), ("uacr", 70, 50)],
        )

    with on_day(340):
        await labs(client, staff, control.id, [("hba1c", 330, 6.8), ("ldl", 330, 65)])
        await labs(client, staff, improved.id, [("hba1c", 335, 7.9), ("ldl", 335, 80)])
        await labs(client, staff, missed.id, [("hba1c", 330, 7.8), ("ldl", 330, 58)])
        await labs(client, staff, manual.id, [("hba1c", 330, 6.9), ("ldl", 330, 65)])
        await labs(client, staff, late.id, [("hba1c", 330, 6.5), ("ldl", 330, 60)])
        await cuff(client, control.device, [(330, 126), (335, 126), (340, 126)])
        await cuff(client, improved.device, [(330, 156), (335, 154), (340, 152)])
        await weights(client, improved.user, [(320, 97.0), (335, 96.0)])
        await cuff(client, missed.device, [(330, 128), (335, 128), (340, 128)])
        await cuff(client, manual.device, [(330, 120)])
        await manual_bp(client, manual.user, [(335, 120), (340, 120)])
        await cuff(client, late.device, [(330, 120), (335, 120), (340, 120)])
        items = {n: await progress(client, staff, p.id) for n, p in everyone.items()}
    no_weight = {"weight": "not_applicable"}
    assert {n: statuses(item) for n, item in items.items()} == {
        "control": {"blood_pressure": "met", "hba1c": "met", "ldl": "met", "egfr_uacr": "met",
                    **no_weight},
        # 154 and 96 kg now; the trends reach 142 (goal 150) and 94 kg (goal 95) by day 365.
        "improved": {"blood_pressure": "on_track", "weight": "on_track", "hba1c": "met",
                     "ldl": "met", "egfr_uacr": "met"},
        "missed": {"blood_pressure": "met", "hba1c": "off_track", "ldl": "met",
                   "egfr_uacr": "met", **no_weight},
        # One cuff reading in the last 15 days: the two typed-in ones do not count.
        "manual": {"blood_pressure": "insufficient_data", "hba1c": "met", "ldl": "met",
                   "egfr_uacr": "met", **no_weight},
        "late": {"blood_pressure": "no_baseline", "hba1c": "no_baseline", "ldl": "no_baseline",
                 "egfr_uacr": "no_baseline", **no_weight},
    }  # fmt: skip
    assert {n: (i["attained"], i["projected"]) for n, i in items.items()} == {
        "control": (None, True),
        "improved": (None, False),
        "missed": (None, False),
        "manual": (None, False),  # an EOP report today would be incomplete
        "late": (None, False),
    }
    assert measure(items["improved"], "blood_pressure")["projected"] == 142.0
    assert measure(items["improved"], "weight")["projected"] == 94.0
    kidney = measure(items["improved"], "egfr_uacr")
    assert kidney["baseline"]["components"] == {"egfr": 48.0, "uacr": 60.0}
    assert kidney["baseline"]["from_report"] is False
    assert measure(items["manual"], "blood_pressure")["current"] is None

    with on_day(365):
        await cuff(client, control.device, [(360, 126), (362, 126), (364, 126)])
        await cuff(client, improved.device, [(360, 148), (362, 148), (364, 148)])
        await weights(client, improved.user, [(360, 94.0)])  # 100 -> 94 kg: -6 %
        await cuff(client, missed.device, [(360, 128), (362, 128), (364, 128)])
        await cuff(client, manual.device, [(360, 120), (362, 120)])
        await manual_bp(client, manual.user, [(361, 120), (363, 120), (364, 120)])
        await cuff(client, late.device, [(360, 120), (362, 120), (364, 120)])
        reports = {
            n: await _report(client, staff, p, "end_of_period", 365) for n, p in everyone.items()
        }
        after = {n: (await progress(client, staff, p.id))["attained"] for n, p in everyone.items()}
    assert {n: (r["complete"], r["missing"]) for n, r in reports.items()} == {
        "control": (True, []),
        "improved": (True, []),
        "missed": (True, []),
        "manual": (False, ["blood_pressure"]),  # two cuff readings: the mean needs three
        "late": (True, []),
    }
    assert {n: _values(r) for n, r in reports.items()} == {
        "control": {"blood_pressure": (126.0, "met"), "hba1c": (6.8, "met"),
                    "ldl": (65.0, "met")},  # all by control
        "improved": {"blood_pressure": (148.0, "met"), "weight": (94.0, "met"),
                     "hba1c": (7.9, "met"), "ldl": (80.0, "met")},  # all by improvement
        "missed": {"blood_pressure": (128.0, "met"), "hba1c": (7.8, "not_met"),
                   "ldl": (58.0, "met")},
        "manual": {"blood_pressure": (None, None), "hba1c": (6.9, "met"), "ldl": (65.0, "met")},
        "late": {"blood_pressure": (120.0, "no_baseline"), "hba1c": (6.5, "no_baseline"),
                 "ldl": (60.0, "no_baseline")},
    }  # fmt: skip
    expected = {"control": True, "improved": True, "missed": False, "manual": None, "late": False}
    assert {n: r["attained"] for n, r in reports.items()} == expected
    assert after == expected  # `manual`: no outcome until the window closes on day 425
    # No dated height reading: no BMI (the patient's `height_cm` is not a dated height).
    assert _reported(reports["improved"], "weight")["bmi"] is None

    with on_day(AFTER):
        summary = await _attainment(app, client, org, track="CKM")
    assert _counts(summary) == {
        "periods": 5,
        "control_group_periods": 0,
        "closed": 5,
        "reported": 4,  # `manual`'s report is incomplete
        "attained": 2,
        "rate": 0.4,
        "projected_rate": 0.4,
        "threshold": 0.5,
        "threshold_met": False,
    }
    # 5 x $420; 40 % < 50 %: the withheld half ($1,050) is lost.
    assert summary["payment"] == _payment(2100.0, 1050.0, False, 1050.0)


@pytest.mark.skipif(
    "height" not in READING_TYPES,
    reason="BMI needs dated height readings: reading type `height` is not yet in "
    "app/readings/catalog.py (being added by another developer)",
)
async def test_ckm_weight_control_needs_a_dated_height(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    staff = org.clinician
    measured = await _patient(app, org, "CKM", "diabetes", "obesity")
    late_height = await _patient(app, org, "CKM", "diabetes", "obesity")

    async def height(patient: PatientWorld, day: int) -> None:
        reading = {"type": "height", "value": 170, "unit": "cm", "effective_at": when(day, 6)}
        await post_readings(client, staff, patient.id, [reading])

    with on_day(365):
        await height(measured, 1)
        await height(late_height, 361)  # after the last weight
        for patient in (measured, late_height):
            # 88 -> 86 kg: 2.3 % lost (improvement needs 5 %); BMI 30.4 -> 29.8 at 170 cm.
            await weights(client, patient.user, [(3, 88.0), (360, 86.0)])
        reports = {
            n: await _report(client, staff, p, "end_of_period", 365)
            for n, p in (("measured", measured), ("late_height", late_height))
        }
    weight = _reported(reports["measured"], "weight")
    assert (weight["value"], weight["bmi"], weight["status"]) == (86.0, 29.8, "met")
    weight = _reported(reports["late_height"], "weight")
    assert (weight["value"], weight["bmi"], weight["status"]) == (86.0, None, "not_met")


async def test_msk(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    staff = org.clinician
    # MSK targets are improvements only (no control value); all three must be met.
    early = await _patient(app, org, "MSK", "chronic_msk_pain")  # met, reported early
    percent = await _patient(app, org, "MSK", "chronic_msk_pain")  # NRS met by 30 %
    partly = await _patient(app, org, "MSK", "chronic_msk_pain")  # NRS not met
    no_pgic = await _patient(app, org, "MSK", "chronic_msk_pain")  # no PGIC at the end
    late = await _patient(app, org, "MSK", "chronic_msk_pain")  # no baseline
    everyone = {
        "early": early,
        "percent": percent,
        "partly": partly,
        "no_pgic": no_pgic,
        "late": late,
    }

    # (NRS, PROMIS PI raw sum, PROMIS PF raw sum) per patient, at the start and at the end.
    # T-scores (docs/rules.md "PROMIS short forms"): PI 24 -> 66.7, 20 -> 63.0, 25 -> 67.6,
    # 18 -> 61.2, 17 -> 60.4, 16 -> 59.5, 15 -> 58.6; PF 14 -> 34.3, 16 -> 36.0, 12 -> 32.5,
    # 20 -> 39.3, 22 -> 41.1.
    start = {
        "early": (7, 24, 14),
        "percent": (3, 20, 16),
        "partly": (7, 24, 14),
        "no_pgic": (8, 25, 12),
    }
    with on_day(5):
        for name, (nrs, pi, pf) in start.items():
            patient = everyone[name]
            await checkin(client, patient.user, "pain_nrs", 2, nrs)
            await checkin(client, patient.user, "promis_pi_6a", 2, pi)
            await checkin(client, patient.user, "promis_pf_6b", 2, pf)
        baseline = await _report(client, staff, early, "baseline", 5)
    # The baseline report carries the targets; the PGIC comes at the end only.
    assert (baseline["complete"], baseline["missing"]) == (True, [])
    assert _values(baseline) == {
        "pain_intensity": (7.0, None),
        "pain_interference": (66.7, None),
        "physical_function": (34.3, None),
    }
    with on_day(70):
        await checkin(client, late.user, "pain_nrs", 70, 8)
        await checkin(client, late.user, "promis_pi_6a", 70, 25)
        await checkin(client, late.user, "promis_pf_6b", 70, 12)

    # Early success: MSK may report from day 185 (180 days before day 365).
    with on_day(199):
        await checkin(client, early.user, "pain_nrs", 190, 4)
        await checkin(client, early.user, "promis_pi_6a", 195, 18)
        await checkin(client, early.user, "promis_pf_6b", 195, 20)
        await checkin(client, early.user, "pgic", 198, 2)
        item = await progress(client, staff, early.id)
        eid = await enrollment_id(client, staff, early.id)
        refused = await prepare(client, staff, early.id, eid, "end_of_period", 184)
    assert statuses(item) == {
        "pain_intensity": "met",
        "pain_interference": "met",
        "physical_function": "met",
        "global_impression": "met",
    }
    assert (item["attained"], item["projected"]) == (None, True)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "WindowNotOpen"
    assert date_of(185).isoformat() in refused.json()["detail"]
    with on_day(200):
        early_report = await _report(client, staff, early, "end_of_period", 200)
    assert (early_report["complete"], early_report["missing"]) == (True, [])
    assert _values(early_report) == {
        "pain_intensity": (4.0, "met"),  # 7 -> 4: 3 points
        "pain_interference": (61.2, "met"),  # 66.7 -> 61.2
        "physical_function": (39.3, "met"),  # 34.3 -> 39.3
        "global_impression": (2.0, None),  # submission only: reported, not judged
    }
    assert early_report["attained"] is True

    with on_day(300):
        # Only the early report is final: the rate counts it alone.
        midway = await _attainment(app, client, org, 300, track="MSK")
    assert _counts(midway) == {
        "periods": 5,
        "control_group_periods": 0,
        "closed": 1,
        "reported": 1,
        "attained": 1,
        "rate": 1.0,
        "projected_rate": 0.2,  # the others have no data in their last 15 days
        "threshold": 0.5,
        "threshold_met": True,
    }

    end = {
        "percent": (2, 16, 20),
        "partly": (6, 18, 20),
        "no_pgic": (4, 17, 22),
        "late": (3, 15, 22),
    }
    with on_day(360):
        for name, (nrs, pi, pf) in end.items():
            patient = everyone[name]
            days = (340, 350) if patient is partly else (352,)
            for day in days:
                await checkin(client, patient.user, "pain_nrs", day, nrs)
            await checkin(client, patient.user, "promis_pi_6a", 355, pi)
            await checkin(client, patient.user, "promis_pf_6b", 355, pf)
        await checkin(client, partly.user, "pain_nrs", 358, 6)
        for patient, pgic in ((percent, 3), (partly, 3), (late, 1)):
            await checkin(client, patient.user, "pgic", 358, pgic)
        items = {n: await progress(client, staff, everyone[n].id) for n in end}
    met = {"pain_intensity": "met", "pain_interference": "met", "physical_function": "met"}
    assert {n: statuses(item) for n, item in items.items()} == {
        "percent": {**met, "global_impression": "met"},
        "partly": {**met, "pain_intensity": "off_track", "global_impression": "met"},
        # The end-of-period window is open and the PGIC is still missing.
        "no_pgic": {**met, "global_impression": "insufficient_data"},
        "late": {"pain_intensity": "no_baseline", "pain_interference": "no_baseline",
                 "physical_function": "no_baseline", "global_impression": "met"},
    }  # fmt: skip
    assert {n: (i["attained"], i["projected"]) for n, i in items.items()} == {
        "percent": (None, True),
        "partly": (None, False),
        "no_pgic": (None, False),
        "late": (None, False),
    }
    assert measure(items["partly"], "pain_intensity")["projected"] == 6.0  # flat: 6, goal 5

    with on_day(365):
        reports = {n: await _report(client, staff, everyone[n], "end_of_period", 365) for n in end}
        after = {n: (await progress(client, staff, p.id))["attained"] for n, p in everyone.items()}
    assert {n: (r["complete"], r["missing"]) for n, r in reports.items()} == {
        "percent": (True, []),
        "partly": (True, []),
        "no_pgic": (False, ["global_impression"]),
        "late": (True, []),
    }
    assert {n: _values(r) for n, r in reports.items()} == {
        # 3 -> 2 is one point but 33 %; 63.0 -> 59.5; 36.0 -> 39.3.
        "percent": {"pain_intensity": (2.0, "met"), "pain_interference": (59.5, "met"),
                    "physical_function": (39.3, "met"), "global_impression": (3.0, None)},
        "partly": {"pain_intensity": (6.0, "not_met"), "pain_interference": (61.2, "met"),
                   "physical_function": (39.3, "met"), "global_impression": (3.0, None)},
        "no_pgic": {"pain_intensity": (4.0, "met"), "pain_interference": (60.4, "met"),
                    "physical_function": (41.1, "met"), "global_impression": (None, None)},
        "late": {"pain_intensity": (3.0, "no_baseline"),
                 "pain_interference": (58.6, "no_baseline"),
                 "physical_function": (41.1, "no_baseline"), "global_impression": (1.0, None)},
    }  # fmt: skip
    assert {n: r["attained"] for n, r in reports.items()} == {
        "percent": True,
        "partly": False,
        "no_pgic": None,
        "late": False,
    }
    assert after == {
        "early": True,
        "percent": True,
        "partly": False,
        "no_pgic": None,
        "late": False,
    }

    with on_day(AFTER):
        summary = await _attainment(app, client, org, track="MSK")
    assert _counts(summary) == {
        "periods": 5,
        "control_group_periods": 0,
        "closed": 5,
        "reported": 4,
        "attained": 2,  # `no_pgic` closed without a complete report: not attained
        "rate": 0.4,
        "projected_rate": 0.4,
        "threshold": 0.5,
        "threshold_met": False,
    }
    assert summary["payment"] == _payment(900.0, 450.0, False, 450.0)  # 5 x $180


async def test_bh(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    staff = org.clinician
    recovered = await _patient(app, org, "BH", "depression", "anxiety")  # met by points
    halved = await _patient(app, org, "BH", "depression", "anxiety")  # met by 50 %
    stuck = await _patient(app, org, "BH", "depression")  # not met
    no_whodas = await _patient(app, org, "BH", "depression")  # never answers the WHODAS
    late = await _patient(app, org, "BH", "depression")  # no baseline
    everyone = {
        "recovered": recovered,
        "halved": halved,
        "stuck": stuck,
        "no_whodas": no_whodas,
        "late": late,
    }

    with on_day(5):
        for patient, phq9, gad7, whodas in (
            (recovered, 18, 12, 30),
            (halved, 8, 6, 25),
            (stuck, 15, None, 28),
            (no_whodas, 20, None, None),
        ):
            await checkin(client, patient.user, "phq9", 3, phq9)
            if gad7 is not None:
                await checkin(client, patient.user, "gad7", 3, gad7)
            if whodas is not None:
                await checkin(client, patient.user, "whodas12", 3, whodas)
        baselines = {
            n: await _report(client, staff, everyone[n], "baseline", 5)
            for n in ("recovered", "no_whodas")
        }
    assert (baselines["recovered"]["complete"], baselines["recovered"]["missing"]) == (True, [])
    assert _values(baselines["recovered"]) == {
        "depression": (18.0, None),
        "anxiety": (12.0, None),
        "function_whodas": (30.0, None),
    }
    # The WHODAS is reported at the baseline: without it the report is incomplete.
    assert (baselines["no_whodas"]["complete"], baselines["no_whodas"]["missing"]) == (
        False,
        ["function_whodas"],
    )
    with on_day(70):
        await checkin(client, late.user, "phq9", 70, 20)
        await checkin(client, late.user, "whodas12", 70, 30)

    with on_day(360):
        for patient, phq9, gad7, whodas, pgic in (
            (recovered, 12, 5, 22, 2),  # 18 -> 12: 6 points; 12 -> 5: 7 points
            (halved, 4, 3, 24, 3),  # 8 -> 4 and 6 -> 3: half, below the point targets
            (stuck, 14, None, 28, 4),
            (no_whodas, 9, None, None, None),
            (late, 5, None, 20, 1),
        ):
            if patient is stuck:
                await checkin(client, stuck.user, "phq9", 340, 14)
                await checkin(client, stuck.user, "phq9", 350, 14)
            await checkin(client, patient.user, "phq9", 356, phq9)
            if gad7 is not None:
                await checkin(client, patient.user, "gad7", 356, gad7)
            if whodas is not None:
                await checkin(client, patient.user, "whodas12", 352, whodas)
            if pgic is not None:
                await checkin(client, patient.user, "pgic", 358, pgic)
        items = {n: await progress(client, staff, p.id) for n, p in everyone.items()}
    submitted = {"function_whodas": "met", "global_impression": "met"}
    assert {n: statuses(item) for n, item in items.items()} == {
        "recovered": {"depression": "met", "anxiety": "met", **submitted},
        "halved": {"depression": "met", "anxiety": "met", **submitted},
        "stuck": {"depression": "off_track", "anxiety": "not_applicable", **submitted},
        "no_whodas": {"depression": "met", "anxiety": "not_applicable",
                      "function_whodas": "no_baseline", "global_impression": "insufficient_data"},
        "late": {"depression": "no_baseline", "anxiety": "not_applicable",
                 "function_whodas": "no_baseline", "global_impression": "met"},
    }  # fmt: skip
    assert {n: (i["attained"], i["projected"]) for n, i in items.items()} == {
        "recovered": (None, True),
        "halved": (None, True),
        "stuck": (None, False),
        "no_whodas": (None, False),
        "late": (None, False),
    }
    depression = measure(items["stuck"], "depression")
    assert depression["baseline"]["source"] == "checkins"
    assert depression["target"]["goal"] == 10.0  # 15 - 5 (easier than 50 %: 7.5)
    assert depression["projected"] == 14.0
    assert measure(items["recovered"], "depression")["baseline"]["from_report"] is True

    with on_day(365):
        reports = {
            n: await _report(client, staff, p, "end_of_period", 365) for n, p in everyone.items()
        }
        after = {n: (await progress(client, staff, p.id))["attained"] for n, p in everyone.items()}
    assert {n: (r["complete"], r["missing"]) for n, r in reports.items()} == {
        "recovered": (True, []),
        "halved": (True, []),
        "stuck": (True, []),
        # WHODAS and PGIC are reported at the end of the period.
        "no_whodas": (False, ["function_whodas", "global_impression"]),
        "late": (True, []),
    }
    assert {n: _values(r) for n, r in reports.items()} == {
        "recovered": {"depression": (12.0, "met"), "anxiety": (5.0, "met"),
                      "function_whodas": (22.0, None), "global_impression": (2.0, None)},
        "halved": {"depression": (4.0, "met"), "anxiety": (3.0, "met"),
                   "function_whodas": (24.0, None), "global_impression": (3.0, None)},
        "stuck": {"depression": (14.0, "not_met"), "function_whodas": (28.0, None),
                  "global_impression": (4.0, None)},
        "no_whodas": {"depression": (9.0, "met"), "function_whodas": (None, None),
                      "global_impression": (None, None)},
        "late": {"depression": (5.0, "no_baseline"), "function_whodas": (20.0, None),
                 "global_impression": (1.0, None)},
    }  # fmt: skip
    expected = {"recovered": True, "halved": True, "stuck": False, "no_whodas": None, "late": False}
    assert {n: r["attained"] for n, r in reports.items()} == expected
    assert after == expected

    # An MSK patient who attains: across tracks, withholds are earned track by track.
    msk = await _patient(app, org, "MSK", "chronic_msk_pain")
    with on_day(365):
        for instrument, first, last in (
            ("pain_nrs", 8, 3),
            ("promis_pi_6a", 25, 15),
            ("promis_pf_6b", 12, 22),
        ):
            await checkin(client, msk.user, instrument, 2, first)
            await checkin(client, msk.user, instrument, 358, last)
        await checkin(client, msk.user, "pgic", 358, 1)
        assert (await _report(client, staff, msk, "end_of_period", 365))["attained"] is True

    with on_day(AFTER):
        summary = await _attainment(app, client, org, track="BH")
        overall = await _attainment(app, client, org)
    assert _counts(summary) == {
        "periods": 5,
        "control_group_periods": 0,
        "closed": 5,
        "reported": 4,
        "attained": 2,
        "rate": 0.4,
        "projected_rate": 0.4,
        "threshold": 0.5,
        "threshold_met": False,
    }
    assert summary["payment"] == _payment(900.0, 450.0, False, 450.0)  # 5 x $180
    assert overall["track"] is None
    assert [
        (t["track"], t["periods"], t["attained"], t["threshold_met"]) for t in overall["tracks"]
    ] == [("BH", 5, 2, False), ("MSK", 1, 1, True)]
    assert (overall["periods"], overall["closed"], overall["attained"]) == (6, 6, 3)
    # BH: $900, half of it withheld and lost; MSK: $180, withhold earned.
    assert overall["payment"] == _payment(1080.0, 540.0, None, 630.0)


async def test_ckm_without_egfr_and_uacr_at_baseline_does_not_attain(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    staff = org.clinician
    patient = await _patient(app, org, "CKM", "diabetes")
    with on_day(6):
        await cuff(client, patient.device, [(1, 150), (3, 150), (5, 150)])
        await labs(client, staff, patient.id, [("hba1c", 2, 7.5), ("ldl", 2, 80)])
        baseline = await _report(client, staff, patient, "baseline", 6)
    assert (baseline["complete"], baseline["missing"]) == (False, ["egfr_uacr"])
    with on_day(365):
        await cuff(client, patient.device, [(360, 120), (362, 120), (364, 120)])
        await labs(client, staff, patient.id, [("hba1c", 340, 6.5), ("ldl", 340, 60)])
        item = await progress(client, staff, patient.id)
        assert measure(item, "egfr_uacr")["status"] == "no_baseline"
        report = await _report(client, staff, patient, "end_of_period", 365)
        after = await progress(client, staff, patient.id)
    # Every target is met by control; eGFR and UACR were never reported.
    assert _values(report) == {
        "blood_pressure": (120.0, "met"),
        "hba1c": (6.5, "met"),
        "ldl": (60.0, "met"),
    }
    assert report["attained"] is False
    assert (after["attained"], item["projected"]) == (False, False)


async def test_bh_without_whodas_at_baseline_does_not_attain(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    staff = org.clinician
    patient = await _patient(app, org, "BH", "depression")
    with on_day(5):
        await checkin(client, patient.user, "phq9", 3, 18)
        baseline = await _report(client, staff, patient, "baseline", 5)
    assert (baseline["complete"], baseline["missing"]) == (False, ["function_whodas"])
    with on_day(365):
        await checkin(client, patient.user, "phq9", 356, 8)
        await checkin(client, patient.user, "whodas12", 356, 20)
        await checkin(client, patient.user, "pgic", 358, 2)
        item = await progress(client, staff, patient.id)
        assert measure(item, "function_whodas")["status"] == "no_baseline"
        report = await _report(client, staff, patient, "end_of_period", 365)
        after = await progress(client, staff, patient.id)
    assert _values(report) == {
        "depression": (8.0, "met"),
        "function_whodas": (20.0, None),
        "global_impression": (2.0, None),
    }
    assert report["attained"] is False
    assert (after["attained"], item["projected"]) == (False, False)


async def test_mid_period_progress_is_not_final(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    patient = await _patient(app, org, "BH", "depression")
    with on_day(107):
        await checkin(client, patient.user, "phq9", 3, 18)
        await checkin(client, patient.user, "whodas12", 3, 30)
        await checkin(client, patient.user, "phq9", 80, 16)
        await checkin(client, patient.user, "phq9", 107, 16)
        item = await progress(client, patient.user, patient.id)
    assert item["care_period"] == {
        "start": date_of(1).isoformat(),
        "end": date_of(365).isoformat(),
        "day": 107,
    }
    assert item["status"] == "active"
    assert (item["attained"], item["projected"]) == (None, False)
    assert statuses(item) == {
        "depression": "off_track",  # flat at 16; the goal is 13
        "anxiety": "not_applicable",
        "function_whodas": "on_track",  # asked again when the end-of-period window opens
        "global_impression": "on_track",
    }
    with on_day(365):
        await checkin(client, patient.user, "phq9", 356, 11)
        await checkin(client, patient.user, "whodas12", 356, 24)
        await checkin(client, patient.user, "pgic", 358, 2)
        report = await _report(client, org.clinician, patient, "end_of_period", 365)
        item = await progress(client, patient.user, patient.id)
    assert _values(report)["depression"] == (11.0, "met")
    assert report["attained"] is True
    assert (item["attained"], item["status"]) == (True, "active")


@pytest.mark.parametrize(
    ("improvement", "progress_status", "report_status", "attained"),
    [(15, "off_track", "not_met", False), (10, "met", "met", True)],
)
async def test_threshold_change_is_data_only(
    database_url: str,
    tmp_path: Path,
    improvement: int,
    progress_status: str,
    report_status: str,
    attained: bool,
) -> None:
    text = DEFAULT_RULESET.read_text()
    assert text.count("improvement = 15\n") == 1  # the blood-pressure improvement
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text(text.replace("improvement = 15\n", f"improvement = {improvement}\n"))
    settings: Settings = make_settings(database_url, ACCESS_RPM_RULES_FILE=str(rules_file))
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            org = await make_org(app)
            patient = await _patient(app, org, "eCKM", "hypertension")
            with on_day(364):
                # 150 -> 138: a 12 mmHg drop, still above 130.
                await cuff(client, patient.device, [(2, 150), (4, 150), (6, 150)])
                await labs(client, org.clinician, patient.id, [("hba1c", 2, 5.6), ("ldl", 2, 110)])
                await cuff(client, patient.device, [(d, 138) for d in range(334, 365, 3)])
                item = await progress(client, org.clinician, patient.id)
            with on_day(365):
                report = await _report(client, org.clinician, patient, "end_of_period", 365)
    assert statuses(item)["blood_pressure"] == progress_status
    assert _values(report) == {"blood_pressure": (138.0, report_status)}
    assert report["attained"] is attained


async def test_stored_attainment_counts_periods_under_each_threshold(
    database_url: str, tmp_path: Path
) -> None:
    """Today's attainment groups stored periods by the threshold in force for their start (the
    database counts them): with two thresholds it equals the fresh evaluation."""
    rules_file = tmp_path / "rules.toml"
    later = f"\n[[attainment.thresholds]]\nfrom = {date_of(3).isoformat()}\nvalue = 0.6\n"
    rules_file.write_text(DEFAULT_RULESET.read_text() + later)
    settings: Settings = make_settings(database_url, ACCESS_RPM_RULES_FILE=str(rules_file))
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            org = await make_org(app)
            with on_day(10):
                for day in (1, 2, 3, 5, 9):
                    enroll = enrollment("eCKM", "hypertension", start=date_of(day))
                    await make_patient(app, org, enroll=enroll)
                enroll = enrollment("eCKM", "hypertension", start=date_of(4), control_group=True)
                await make_patient(app, org, enroll=enroll)
                body = await _attainment(app, client, org, day=10)
    assert (body["periods"], body["control_group_periods"]) == (5, 1)
    assert body["threshold"] is None  # two thresholds apply
    (track,) = body["tracks"]
    assert (track["track"], track["periods"], track["threshold"]) == ("eCKM", 5, None)
    assert body["payment"]["outcome_aligned_payment"] == 5 * 360.0
