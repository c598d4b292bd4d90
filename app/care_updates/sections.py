"""The sections of a care-coordination update document: the care period's standing, its
measures, its alerts and the recipient, each with a readable narrative; pure.

Invariants: every section has an XHTML `text` (`narrative.py`, every value escaped) and a code
of this service's section code system; the measures section points at the Observations and
QuestionnaireResponses of the latest values it shows; dates and times are the patient's local
ones; nothing here reads the clock (`Facts.now`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from app.care_updates.narrative import Markup, bold, fields, narrative, paragraph, table
from app.care_updates.schemas import CareUpdateRead
from app.fhir.report_codes import TRACKS
from app.outcomes.schemas import EnrollmentProgress, MeasuredValue, MeasureProgressRead
from app.patients.models import Enrollment, Patient

SECTION_SYSTEM: Final = "http://access-rpm.example/fhir/CodeSystem/care-update-section"
ALERT_KINDS: Final = {
    "blood_pressure_crisis": "Blood-pressure crisis",
    "hypoglycemia_level_1": "Level 1 hypoglycemia",
    "hypoglycemia_level_2": "Level 2 hypoglycemia",
    "self_harm_risk": "PHQ-9 item 9: thoughts of self-harm",
    "safety_item_missing": "PHQ-9 item 9 unanswered",
    "no_data": "No data",
    "report_due": "Report due",
}
END_REASONS: Final = {
    "relocated": "the patient relocated",
    "loss_of_contact": "contact was lost",
    "no_longer_eligible": "no longer clinically eligible",
    "patient_initiated": "the patient chose to leave",
    "switched_to_ckm": "moved to the CKM track",
}
# The alerts section lists the newest alerts of the period, then says how many more there were.
MAX_ALERT_LINES: Final = 50


@dataclass(frozen=True, slots=True)
class AlertLine:
    kind: str
    severity: str
    status: str
    first_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything a document is made of, loaded by the service."""

    update: CareUpdateRead
    patient: Patient
    organization_id: uuid.UUID
    organization_name: str
    organization_npi: str | None
    enrollment: Enrollment
    progress: EnrollmentProgress
    alerts: Sequence[AlertLine]  # the period's, newest first
    trigger: AlertLine | None  # an escalation's episode
    evidence: Sequence[dict[str, Any]]  # Observations, QuestionnaireResponses of latest values
    now: datetime
    base: str  # the /fhir base URL: entries' full URLs


def _local(facts: Facts, moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(facts.patient.timezone)).strftime("%Y-%m-%d %H:%M")


def alert_kind(kind: str) -> str:
    return ALERT_KINDS.get(kind, kind.replace("_", " "))


def _yes_no(value: bool | None, unknown: str) -> str:
    return unknown if value is None else ("yes" if value else "no")


def reason(facts: Facts) -> str:
    """Why this update is sent, in a sentence."""
    u, e = facts.update, facts.enrollment
    if u.kind == "initiation":
        return f"Initiation: the care period began on {e.start_date.isoformat()}."
    if u.kind == "escalation":
        episode = facts.trigger
        what = alert_kind(episode.kind) if episode else "An urgent alert"
        return f"Escalation: {what} (urgent) began {_local(facts, u.event_at)}."
    if e.ended_at is not None:
        why = END_REASONS.get(e.end_reason or "", e.end_reason or "no reason recorded")
        return f"Completion: the care period ended on {u.event_on.isoformat()} ({why})."
    return f"Completion: the care period completed on {e.end_date.isoformat()}, its last day."


def _section(
    code: str, title: str, div: dict[str, str], entries: Sequence[str] = ()
) -> dict[str, Any]:
    section: dict[str, Any] = {
        "title": title,
        "code": {"coding": [{"system": SECTION_SYSTEM, "code": code, "display": title}]},
        "text": div,
    }
    if entries:
        section["entry"] = [{"reference": ref} for ref in entries]
    return section


def _day(day: int, length: int) -> str:
    if day < 1:
        return "not started yet"
    return f"{day} of {length}" if day <= length else f"past its last day ({length})"


def period_section(facts: Facts) -> dict[str, Any]:
    p, e, u = facts.progress, facts.enrollment, facts.update
    status: str = p.status
    if e.ended_at is not None:
        status += f" ({END_REASONS.get(e.end_reason or '', e.end_reason or '')})"
    rows: list[tuple[str, object]] = [
        ("Track", f"{TRACKS.get(e.track, 'Track')} ({e.track})"),
        ("Care period", f"{e.start_date.isoformat()} to {e.end_date.isoformat()} ({e.period})"),
        ("Day", _day(p.care_period.day, (e.end_date - e.start_date).days + 1)),
        ("Status", status),
        ("Control group", _yes_no(e.control_group, "no")),
        ("Projected to attain", _yes_no(p.projected, "not known yet")),
        ("Attained", _yes_no(p.attained, "not decided yet")),
        ("Update due by", u.due.isoformat()),
    ]
    div = narrative(paragraph(bold(reason(facts))), fields(rows))
    return _section("care-period", "Care period", div)


def _unit(unit: object) -> str:
    text = str(unit or "")
    if text == "{score}":
        return ""
    return f" {text.strip('{}')}" if text else ""


def _value(value: MeasuredValue | None, unit: object) -> str:
    if value is None:
        return "none"
    shown = f"{value.value:g}"
    if value.diastolic is not None:
        shown += f"/{value.diastolic:g}"
    if value.components:
        shown = ", ".join(f"{name} {amount:g}" for name, amount in value.components.items())
    else:
        shown += _unit(unit)
    if value.bmi is not None:
        shown += f" (BMI {value.bmi:g})"
    if value.n > 1:
        shown += f", mean of {value.n}"
    return f"{shown} on {value.at.date().isoformat()}"


def target_text(target: dict[str, float | str | None]) -> str:
    """A measure's target in words (`app.outcomes.targets.target_of`'s fields)."""
    if target.get("kind") == "submission":
        return "reported, no target"
    unit = _unit(target.get("unit"))
    change = "a fall" if target.get("better") == "lower" else "a rise"
    routes: list[str] = []
    if target.get("control_below") is not None:
        routes.append(f"below {target['control_below']:g}{unit}")
    if target.get("control_bmi_below") is not None:
        gain = target.get("control_max_gain_percent")
        routes.append(f"BMI below {target['control_bmi_below']:g}, gain at most {gain:g} %")
    if target.get("improvement") is not None:
        routes.append(f"{change} of at least {target['improvement']:g}{unit}")
    if target.get("improvement_percent") is not None:
        routes.append(f"{change} of at least {target['improvement_percent']:g} %")
    return " or ".join(routes) or "none"


def _measure_row(m: MeasureProgressRead) -> list[object]:
    unit = m.target.get("unit")
    return [
        m.label,
        _value(m.baseline, unit),
        _value(m.current, unit),
        target_text(m.target),
        m.status.replace("_", " "),
    ]


def measures_section(facts: Facts) -> dict[str, Any]:
    shown = [m for m in facts.progress.measures if m.applicable]
    rows = [_measure_row(m) for m in shown]
    headers = ("Measure", "Baseline", "Latest", "Target", "Status")
    body: Markup = (
        table(headers, rows)
        if rows
        else paragraph("No outcome measure applies to this care period.")
    )
    div = narrative(body)
    refs = [f"{r['resourceType']}/{r['id']}" for r in facts.evidence]
    return _section("measures", "Outcome measures", div, refs)


def alerts_section(facts: Facts) -> dict[str, Any]:
    lines = list(facts.alerts)
    if not lines:
        return _section("alerts", "Alerts", narrative(paragraph("No alerts in this care period.")))
    shown = lines[:MAX_ALERT_LINES]
    rows = [
        [
            _local(facts, a.first_at),
            alert_kind(a.kind),
            a.severity,
            a.status,
            _local(facts, a.ended_at) if a.ended_at else "going on",
        ]
        for a in shown
    ]
    parts: list[object] = [table(("Began", "Alert", "Severity", "Status", "Ended"), rows)]
    if len(lines) > len(shown):
        parts.append(paragraph(f"{len(lines) - len(shown)} earlier alerts are not listed."))
    return _section("alerts", "Alerts", narrative(*parts))


def recipient_section(facts: Facts, practitioner_id: str | None) -> dict[str, Any]:
    clinician = facts.enrollment.referring_clinician
    if not clinician or practitioner_id is None:
        div = narrative(paragraph("No referring clinician is recorded for this care period."))
        return _section("recipient", "Recipient", div)
    rows: list[tuple[str, object]] = [("Referring clinician", clinician["name"])]
    for label, key in (("NPI", "npi"), ("Organization", "organization")):
        if clinician.get(key):
            rows.append((label, clinician[key]))
    if clinician.get("direct_address"):
        rows.append(("Direct address", clinician["direct_address"]))
    refs = [f"Practitioner/{practitioner_id}"]
    return _section("recipient", "Recipient", narrative(fields(rows)), refs)
