"""What the stored standings hold: the rows of a care period, its reporting windows and a
patient's panel row, built from an evaluation, and when the date alone may change them.
Pure: `stored.py` reads, locks and writes (docs/architecture.md "Stored standing")."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.alerts import standing as alert_rules
from app.outcomes import need as need_rules
from app.outcomes.evaluation import Evaluated
from app.outcomes.rules import Ruleset
from app.outcomes.snapshot import required
from app.outcomes.standing import Standing
from app.outcomes.targets import least_advanced
from app.patients.models import Patient

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # a placeholder row is due at once


def keys(values: Collection[str]) -> str:
    """A filter key: ",a,b," (sorted), so `LIKE '%,a,%'` finds a value on any database."""
    return "," + "".join(f"{v}," for v in sorted(values)) if values else ","


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _detail(standing: Standing) -> dict[str, Any]:
    nxt = standing.next_window
    state = next((w.state for w in standing.windows if nxt and w.state.window == nxt), None)
    return {
        "statuses": sorted(standing.statuses),
        "measures": [
            {
                "measure": m.rule.name,
                "applicable": m.applicable,
                "status": m.status,
                "baseline": m.baseline.value.value if m.baseline else None,
                "current": m.current.value if m.current else None,
                "projected": m.projected,
            }
            for m in standing.measures
        ],
        "next_window": None
        if nxt is None or state is None
        else {
            "type": nxt.type,
            "opens": nxt.opens.isoformat(),
            "closes": nxt.closes.isoformat(),
            "status": state.status,
        },
    }


def complete(standing: Standing, *, rules: Ruleset) -> tuple[bool, bool]:
    """Whether every baseline the baseline report needs is known, and whether every applicable
    target measure has a current value by the data rules."""
    known = {m.rule.name for m in standing.measures if m.baseline is not None}
    needed = {r.name for r in required(standing.period, rules=rules, report_type="baseline")}
    current = all(
        m.current is not None for m in standing.measures if m.applicable and m.rule.kind == "target"
    )
    return needed <= known, current


def shown(standing: Standing, *, rules: Ruleset) -> bool:
    """Whether the period shows in the panel and the worklist on its day."""
    return standing.today <= rules.calendar.shown_until(standing.period.start)


def period_values(e: Evaluated, *, rules: Ruleset, last_data_on: date | None) -> dict[str, Any]:
    """The stored row of one evaluated (not disenrolled) care period."""
    standing, enrollment = e.standing, e.subject.enrollment
    end = standing.end_of_period
    assert end is not None  # disenrolled periods are not stored
    baseline_complete, current_complete = complete(standing, rules=rules)
    reported = end.status == "reported"
    return {
        "enrollment_id": enrollment.id,
        "patient_id": e.subject.patient.id,
        "organization_id": e.subject.patient.organization_id,
        "track": standing.period.track,
        "period_kind": standing.period.kind,
        "start_date": standing.period.start,
        "control_group": standing.period.control_group,
        "evaluated_on": standing.today,
        "shown": shown(standing, rules=rules),
        "status": standing.status,
        "outcome_status": least_advanced(standing.statuses),
        "attained": standing.attained,
        "projected": standing.projected,
        "end_closed": reported or standing.today > end.window.closes,
        "end_reported": reported,
        "baseline_complete": baseline_complete,
        "current_complete": current_complete,
        "last_data_on": last_data_on,
        "detail": _detail(standing),
    }


def window_values(e: Evaluated) -> list[dict[str, Any]]:
    """The stored worklist rows of one shown care period: each of its windows."""
    patient = e.subject.patient
    return [
        {
            "enrollment_id": e.subject.enrollment.id,
            "type": w.state.window.type,
            "opens": w.state.window.opens,
            "patient_id": patient.id,
            "organization_id": patient.organization_id,
            "track": e.standing.period.track,
            "closes": w.state.window.closes,
            "status": w.state.status,
            "report_id": w.state.report.id if w.state.report else None,
            "needed": list(w.needed),
        }
        for w in e.standing.windows
    ]


def changes_on(standing: Standing, *, rules: Ruleset) -> date | None:
    """The next local day on which the date alone may change the period's standing."""
    end = standing.end_of_period
    if end is None:
        return None
    if standing.today > end.window.closes:
        last_shown = rules.calendar.shown_until(standing.period.start)
        return last_shown + timedelta(days=1) if standing.today <= last_shown else None
    return standing.today + timedelta(days=1)


def _local_midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def alert_periods(evaluated: Sequence[tuple[Evaluated, date | None]]) -> list[alert_rules.Period]:
    """The periods as the date-driven alert rules read them."""
    return [
        alert_rules.Period(e.subject.enrollment.id, e.standing, e.sources) for e, _ in evaluated
    ]


def patient_values(
    patient: Patient,
    evaluated: Sequence[tuple[Evaluated, date | None]],
    *,
    rules: Ruleset,
    open_alerts: dict[str, int],
    now: datetime,
) -> dict[str, Any]:
    """The panel row of a patient: their shown periods summed up, need, and when it is due."""
    current = [(e, last) for e, last in evaluated if shown(e.standing, rules=rules)]
    statuses = {s for e, _ in current for s in e.standing.statuses}
    need = need_rules.need_of(
        [(e.standing, last) for e, last in current], rules=rules, open_alerts=open_alerts
    )
    due_days = [d for e, _ in evaluated if (d := changes_on(e.standing, rules=rules))]
    if alert_day := alert_rules.next_change(alert_periods(evaluated), rules=rules):
        due_days.append(alert_day)
    return {
        "patient_id": patient.id,
        "organization_id": patient.organization_id,
        "family_key": patient.family_name.lower(),
        "given_key": patient.given_name.lower(),
        "evaluated_at": now,
        "due_at": _local_midnight(min(due_days), patient.timezone) if due_days else None,
        "outcome_status": least_advanced(statuses),
        "tracks": keys({e.standing.period.track for e, _ in current}),
        "statuses": keys(statuses),
        "need_codes": keys({r.code for r in need.reasons}),
        "need_score": need.score,
        "need_rank": -need.score,
        "need": [
            {"code": r.code, "points": r.points, "text": r.text, "track": r.track}
            for r in need.reasons
        ],
        "open_urgent_alerts": open_alerts.get("urgent", 0),
        "open_warning_alerts": open_alerts.get("warning", 0),
        "periods": [
            {
                "enrollment_id": str(e.subject.enrollment.id),
                "track": e.standing.period.track,
                "start_date": e.standing.period.start.isoformat(),
                "status": e.standing.status,
            }
            for e, _ in current
        ],
        "rules_version": rules.version,
    }
