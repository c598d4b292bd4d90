"""Synthetic check-in histories for `python -m app demo`, stored through the real service.

Follows the schedule a well-engaged patient keeps, from the start of their care period (or the
last weeks, if not enrolled) to yesterday: a daily check-in on most days; MSK: a weekly pain NRS
and PROMIS PI/PF every 30 days, all improving; BH: PHQ-9 (depression) and GAD-7 (anxiety) every
14 days, improving, and a baseline WHODAS. PHQ-9 item 9 stays 0 (no demo crisis alerts).

The demo prepares each track patient's baseline report today, and a PROM counts in a report only
from its last 15 days (docs/rules.md "Data rules"): an instrument last answered before them
(45 days in: PROMIS on day 31, WHODAS on day 2) is answered again 3 days ago, as a care team
asks before reporting.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.checkins import service as checkins_service
from app.checkins.instruments import get_instrument
from app.checkins.schemas import CheckinCreate
from app.clock import utcnow
from app.patients.models import Patient

DEFAULT_DAYS = 45
RECENT_DAYS = 15  # the ruleset's `observation_days`: how far back a report looks for a PROM
BEFORE_REPORT_DAYS = 3  # the repeat a care team asks for, this many days before today


def _spread(item_ids: list[str], total: int, low: int, high: int) -> dict[str, int]:
    """Answers summing to `total`, spread as evenly as the items allow."""
    n = len(item_ids)
    total = max(low * n, min(high * n, total))
    base, extra = divmod(total - low * n, n)
    return {item: low + base + (1 if i < extra else 0) for i, item in enumerate(item_ids)}


def _items(code: str) -> list[str]:
    return [item.id for item in get_instrument(code).scored_items]


# Totals by administration (0 = baseline), improving; the last value repeats.
PHQ9_TOTALS = (16, 13, 10, 8, 7, 6)  # moderately severe -> mild: a >= 5-point drop
GAD7_TOTALS = (13, 11, 8, 6, 5)
PI_RAW = (22, 18, 16)  # T 64.8 -> 61.2 -> 59.5
PF_RAW = (15, 18, 20)  # T 35.1 -> 37.6 -> 39.3
NRS = (7, 7, 6, 6, 5, 5, 4, 4, 4, 3)


def _answers(code: str, step: int) -> dict[str, int]:
    """Plausible answers for the `step`-th administration of `code` (0 = baseline)."""

    def nth(values: tuple[int, ...]) -> int:
        return values[min(step, len(values) - 1)]

    if code == "phq9":
        # Item 9 (thoughts of self-harm) stays 0: no demo crisis alerts.
        items = [i for i in _items(code) if i != "phq9_9"]
        return _spread(items, nth(PHQ9_TOTALS), 0, 3) | {"phq9_9": 0, "phq9_difficulty": 1}
    if code == "gad7":
        return _spread(_items(code), nth(GAD7_TOTALS), 0, 3)
    if code == "promis_pi_6a":
        return _spread(_items(code), nth(PI_RAW), 1, 5)
    if code == "promis_pf_6b":
        return _spread(_items(code), nth(PF_RAW), 1, 5)
    if code == "pain_nrs":
        return {"pain_avg_7d": nth(NRS)}
    if code == "whodas12":
        return _spread(_items(code), 30, 1, 5)
    raise ValueError(code)


def _daily(progress: float, rng: random.Random) -> dict[str, int]:
    pain = round(6.5 - 2.5 * progress + rng.gauss(0, 1))
    mood = round(4.5 + 2.5 * progress + rng.gauss(0, 1))
    return {
        "pain_today": min(10, max(0, pain)),
        "mood": min(10, max(0, mood)),
        "took_medication": int(rng.random() < 0.9),
        "did_exercises": int(rng.random() < 0.4 + 0.4 * progress),
    }


def _at(day: date, hour: int, zone: ZoneInfo, rng: random.Random) -> datetime:
    return datetime(day.year, day.month, day.day, hour, rng.randint(0, 59), tzinfo=zone)


async def add_demo_checkins(session: AsyncSession, *, staff: Principal, patient: Patient) -> int:
    """Give a demo patient a check-in history; returns how many check-ins were stored."""
    rng = random.Random(f"checkins {patient.given_name} {patient.family_name}")  # noqa: S311
    zone = ZoneInfo(patient.timezone)
    today = utcnow().astimezone(zone).date()
    periods = await checkins_service.care_periods(session, patient_id=patient.id)
    first = min((p.start for p in periods), default=today - timedelta(days=DEFAULT_DAYS))
    days = [first + timedelta(days=n) for n in range((today - first).days)]  # to yesterday

    planned: list[tuple[datetime, str, dict[str, int]]] = []
    for n, day in enumerate(days):
        if rng.random() < 0.85:  # most days, not every day
            planned.append((_at(day, 20, zone, rng), "daily", _daily(n / max(1, len(days)), rng)))
    for period in periods:
        schedule: list[tuple[str, int, int]] = []  # (instrument, every n days, first day)
        if period.track == "MSK":
            schedule += [("pain_nrs", 7, 0), ("promis_pi_6a", 30, 0), ("promis_pf_6b", 30, 0)]
        if period.track == "BH":
            schedule.append(("whodas12", 10_000, 1))
            if "depression" in period.conditions:
                schedule.append(("phq9", 14, 0))
            if "anxiety" in period.conditions:
                schedule.append(("gad7", 14, 0))
        elapsed = (min(today, period.end + timedelta(days=1)) - period.start).days
        for code, every, offset in schedule:
            answered = list(range(offset, elapsed, every))
            if answered and answered[-1] <= elapsed - RECENT_DAYS and period.end >= today:
                answered.append(elapsed - BEFORE_REPORT_DAYS)
            for step, n in enumerate(answered):
                at = _at(period.start + timedelta(days=n), 10, zone, rng)
                planned.append((at, code, _answers(code, step)))

    for at, code, answers in sorted(planned, key=lambda p: p[0]):
        await checkins_service.submit(
            session,
            principal=staff,
            patient=patient,
            body=CheckinCreate.model_validate(
                {"instrument": code, "answers": answers, "completed_at": at}
            ),
        )
    return len(planned)
