"""Population benchmark (issue 12): a clinician's panel, the reporting worklist and organization
attainment for a whole organization, at two sizes side by side.

Each size builds its own PostgreSQL database (`<database>_<patients>`, rebuilt from the
migrations) holding one synthetic organization, loaded by COPY. COPY bypasses the write path,
so no standing is stored yet. Then it starts the real server (uvicorn, one worker, loopback,
its in-process worker off: `python -m app worker` runs apart, as beside API replicas) and:

1. runs `--worker-command` (`python -m app worker --once --all`) twice, end to end: the first
   run builds every standing from nothing, the second is the daily re-evaluation of every
   care period over rows that exist; during each, the panel's first page is requested one
   call after another and timed;
2. times, one client at a time, each request's first call apart, over the stored standings:
   - the panel's first page ordered by need (`GET /v1/patients?limit=50`);
   - the reporting worklist's first page (`GET /v1/organization/reporting?limit=50`);
   - organization attainment, every track (`GET /v1/organization/attainment`, no `as_of`);
   - one patient's progress and reporting calendar (the first CGM patient by name: CKM or
     eCKM, daily cuff readings, a year of 5-minute CGM);
3. the floor of the re-evaluation: PostgreSQL alone (asyncpg, no evaluation) fetching the rows
   evaluating every current period reads, i.e. eligible readings and scored check-ins in the
   windows the rules look at (`outcomes/loading.py`).

The server's resident memory (its process tree, /proc) is sampled every 100 ms throughout, the
worker's while it runs. A request slower than `--timeout` seconds is recorded as a timeout and
not repeated. The output ends with issue 12's goals, each met or not, at every size.

The organization (seeded; shares are of patients unless stated):
- tracks eCKM 30 %, CKM 35 %, MSK 20 %, BH 15 %, and one eCKM/CKM patient in ten also in BH;
  conditions drawn per track (e.g. CKM: diabetes 72 %, CKD 3a/3b 30 %, ASCVD 25 %, with
  hypertension, dyslipidemia, obesity as comorbidities), each enrollment checked with
  `patients.eligibility`; social risk: dual eligible 20 %, rural ~20 %, limited digital
  access 12 %;
- care periods started uniformly over the past 400 days, so all of baseline window, mid-period,
  end-of-period window and past the period's end occur; 6 % of eCKM/CKM/BH periods are follow-ons
  of a period started 320-520 days ago; 3 % control group; 2 % disenrolled; 1.5 % of CKM
  patients came from an eCKM period ended by the switch;
- engagement: most patients send on 85-98 % of days, others on 50-80 % or 10-40 % (limited
  digital access mostly there), 5 % (30 % of those with limited access) went quiet 20-90 days
  ago; occasional gaps of 4-14 days;
- eCKM/CKM: a validated upper-arm cuff (2 %: a wrist cuff, not eligible), blood pressure once or
  twice on each day sent, a weekly weight from a scale, a height, HbA1c and LDL about quarterly
  and half-yearly from a baseline near the start, eGFR and UACR for CKM;
- MSK: pain NRS weekly, PROMIS PI 6a and PF 6b monthly; BH: PHQ-9 (depression) and GAD-7
  (anxiety) every 14 days, WHODAS in the first week; both: PGIC (and WHODAS for BH) in the
  end-of-period window; answers scored by `checkins.scoring`, stored with the check-in;
- reports prepared as staff would, by the functions the server prepares them with
  (`window_for`, `baselines_of`, `compose`): baseline for 85 % of periods past day 25 (again a
  week later if incomplete), 65 % of quarterly windows, end-of-period for 55 % of ended periods
  (90 % of a follow-on's previous period), early success for 10 % of the rest;
- the alerts the write path opens (BP crisis, hypoglycaemia, PHQ-9 item 9): open while under 3
  days old, after that 85 % resolved, 10 % acknowledged; 1.5 % of eCKM/CKM patients with a
  crisis reading in the last two days;
- 1 % of patients (`--cgm-share`; the first eCKM/CKM patients drawn) with `--cgm-days` of
  5-minute CGM (sensor changes, overnight lows): 10 at 1,000 patients, 100 at 10,000;
- no audit events (the measured requests write theirs).

    python -m bench.population --patients 1000,10000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import random
import shlex
import sys
import uuid
from collections import defaultdict
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg  # type: ignore[import-untyped]
import httpx
from sqlalchemy.engine import make_url

from app.checkins import scoring
from app.checkins.instruments import CATALOG
from app.checkins.schedule import TRACK_INSTRUMENTS
from app.outcomes.archive import frozen
from app.outcomes.calendar import (
    ReportFacts,
    WindowProblem,
    end_of_period_window,
    quarterly_windows,
    window_for,
)
from app.outcomes.observations import CarePeriod, Point
from app.outcomes.rules import LAB_SOURCES, ReportType, checkin_source, load_ruleset
from app.outcomes.snapshot import compose
from app.outcomes.standing import baselines_of
from app.outcomes.values import HEIGHT
from app.patients.eligibility import enrollment_problem
from bench.common import (
    ROOT,
    RssSampler,
    machine,
    now,
    percentile,
    reset_database,
    serve,
    server_env,
    staff_token,
)
from bench.ingest import COPY_COLUMNS as READING_COLUMNS

DEFAULT_DB = "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_population"
NOW = datetime.now(UTC)
TODAY = NOW.date()
LAST_DAY = TODAY - timedelta(days=1)  # data ends yesterday (UTC); nothing is in the future
DAY = timedelta(days=1)
HISTORY_DAYS = 400
RULES = load_ruleset()

TRACKS = (("eCKM", 0.30), ("CKM", 0.35), ("MSK", 0.20), ("BH", 0.15))
CARDIO = ("eCKM", "CKM")
ZONES = (
    ("America/New_York", 0.45),
    ("America/Chicago", 0.30),
    ("America/Denver", 0.08),
    ("America/Los_Angeles", 0.17),
)
GIVEN = (
    "Mary", "Patricia", "Linda", "Barbara", "Elizabeth", "Jennifer", "Maria", "Susan", "Margaret",
    "Dorothy", "Lisa", "Nancy", "Karen", "Betty", "Helen", "Sandra", "Donna", "Carol", "Ruth",
    "James", "John", "Robert", "Michael", "William", "David", "Richard", "Charles", "Joseph",
    "Thomas", "Christopher", "Daniel", "Paul", "Mark", "Donald", "George", "Kenneth", "Steven",
    "José", "Zoë", "Renée", "Thi Hương", "Ngọc", "Søren", "Àlex", "Mei", "Aaliyah", "Kwame",
)  # fmt: skip
FAMILY = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "O'Brien", "García Márquez", "Nguyễn", "Müller", "Øvergaard", "Đặng", "Ó Súilleabháin",
    "Kowalczyk", "Çelik", "Björk", "D'Angelo", "Van der Berg", "St. John", "Okonkwo", "Tanaka",
)  # fmt: skip
REGIONS = ("back", "back", "back", "neck", "knee", "knee", "hip", "shoulder", "other")
DISENROLL_REASONS = ("relocated", "loss_of_contact", "no_longer_eligible", "patient_initiated")

# The reading types the outcome rules read, and each scored instrument's source and score.
READING_SOURCES = frozenset({"blood_pressure", "weight", HEIGHT, *LAB_SOURCES})
CHECKIN_SOURCES = {
    parts[0]: (source, parts[1])
    for measure in RULES.measures
    for source in measure.sources
    if (parts := checkin_source(source)) is not None
}


def pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def between(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, max(0, (last - first).days)))


def midday(day: date, hour: int = 15) -> datetime:
    return datetime.combine(day, time(hour), UTC)


# --- Who: patients, their care periods and devices -----------------------------------------------


@dataclass
class Period:
    """One enrollment row."""

    id: uuid.UUID
    track: str
    conditions: list[str]
    start: date
    kind: str = "initial"
    region: str | None = None
    previous_id: uuid.UUID | None = None
    control_group: bool = False
    ended_on: date | None = None
    end_reason: str | None = None
    referring: dict[str, str] | None = None

    @property
    def end(self) -> date:
        return RULES.calendar.end(self.start)

    @property
    def last_day(self) -> date:
        """The last day with data and reports (a disenrolled period: the day before it ended)."""
        return LAST_DAY if self.ended_on is None else min(LAST_DAY, self.ended_on - DAY)

    def care_period(self) -> CarePeriod:
        return CarePeriod(
            self.track,  # type: ignore[arg-type]  # one of the four tracks
            tuple(self.conditions),
            self.start,
            self.end,
            self.kind,  # type: ignore[arg-type]  # initial or follow_on
            self.control_group,
        )


@dataclass
class Person:
    index: int
    id: uuid.UUID
    user_id: uuid.UUID
    zone: str
    height_cm: float
    adherence: float
    quiet_from: date | None
    limited_digital_access: bool
    periods: list[Period] = field(default_factory=list)
    cuff: tuple[uuid.UUID, bool] | None = None  # device id, upper arm (its BP is eligible)
    scale: uuid.UUID | None = None
    cgm: uuid.UUID | None = None

    @property
    def data_last(self) -> date:
        return LAST_DAY if self.quiet_from is None else self.quiet_from - DAY


def eckm_conditions(rng: random.Random) -> list[str]:
    found = ["hypertension"] if rng.random() < 0.7 else []
    if rng.random() < 0.5:
        found.append("dyslipidemia")
    weight = rng.random()
    if weight < 0.35:
        found.append("obesity")
    elif weight < 0.5:
        found.append("overweight_central")
    if rng.random() < 0.35:
        found.append("prediabetes")
    if "hypertension" not in found:  # two criteria then (docs/rules.md)
        for extra in ("dyslipidemia", "prediabetes"):
            if len(found) < 2 and extra not in found:
                found.append(extra)
    return found


def ckm_conditions(rng: random.Random) -> list[str]:
    found = ["diabetes"] if rng.random() < 0.72 else []
    kidney = rng.random()
    if kidney < 0.2:
        found.append("ckd_3a")
    elif kidney < 0.3:
        found.append("ckd_3b")
    if rng.random() < 0.25 or not found:
        found.append("ascvd")
    for condition, share in (("hypertension", 0.75), ("dyslipidemia", 0.6)):
        if rng.random() < share:
            found.append(condition)
    weight = rng.random()
    if weight < 0.45:
        found.append("obesity")
    elif weight < 0.55:
        found.append("overweight_central")
    return found


def bh_conditions(rng: random.Random) -> list[str]:
    draw = rng.random()
    if draw < 0.6:
        return ["depression"]
    return ["anxiety"] if draw < 0.85 else ["depression", "anxiety"]


CONDITIONS: dict[str, Callable[[random.Random], list[str]]] = {
    "eCKM": eckm_conditions,
    "CKM": ckm_conditions,
    "MSK": lambda _rng: ["chronic_msk_pain"],
    "BH": bh_conditions,
}


def new_periods(track: str, rng: random.Random) -> list[Period]:
    """A track's periods for one patient: an initial one, or a follow-on and its previous one."""
    conditions = CONDITIONS[track](rng)
    region = rng.choice(REGIONS) if track == "MSK" else None
    referring = {"name": f"Dr. {rng.choice(FAMILY)}"} if rng.random() < 0.6 else None
    if track != "MSK" and rng.random() < 0.06:
        first = TODAY - timedelta(days=rng.randint(320, 520))
        latest = min(RULES.calendar.period_days - 1, (TODAY - first).days)
        second = first + timedelta(days=rng.randint(RULES.calendar.follow_on_from_day - 1, latest))
        previous = Period(uuid.uuid4(), track, conditions, first, referring=referring)
        periods = [
            previous,
            Period(uuid.uuid4(), track, conditions, second, "follow_on", previous_id=previous.id),
        ]
    else:
        start = TODAY - timedelta(days=rng.randint(0, HISTORY_DAYS - 1))
        periods = [Period(uuid.uuid4(), track, conditions, start, region=region)]
    current = periods[-1]
    current.referring = referring
    current.control_group = rng.random() < 0.03
    days = (LAST_DAY - current.start).days
    if days > 20 and rng.random() < 0.02:
        current.ended_on = current.start + timedelta(days=rng.randint(20, min(days, 364)))
        current.end_reason = rng.choice(DISENROLL_REASONS)
    for period in periods:
        problem = enrollment_problem(
            track, conditions=period.conditions, region=period.region, period=period.kind
        )
        assert problem is None, (track, period.conditions, problem)
    return periods


def make_people(count: int, rng: random.Random, cgm_count: int) -> list[Person]:
    people = []
    for index in range(count):
        limited = rng.random() < 0.12
        draw = rng.random()
        quiet_from = None
        if draw < (0.3 if limited else 0.05):
            quiet_from = TODAY - timedelta(days=rng.randint(20, 90))
            adherence = rng.uniform(0.3, 0.8)
        elif draw < (0.7 if limited else 0.15):
            adherence = rng.uniform(0.1, 0.4)
        elif draw < (0.85 if limited else 0.35):
            adherence = rng.uniform(0.5, 0.8)
        else:
            adherence = rng.uniform(0.85, 0.98)
        person = Person(
            index=index,
            id=uuid.uuid4(),
            user_id=uuid.uuid4(),
            zone=pick(rng, ZONES),
            height_cm=round(min(200.0, max(145.0, rng.gauss(168, 10))), 1),
            adherence=adherence,
            quiet_from=quiet_from,
            limited_digital_access=limited,
        )
        track = pick(rng, TRACKS)
        person.periods = new_periods(track, rng)
        if track == "CKM" and rng.random() < 0.015:
            ckm = person.periods[0]
            eckm_start = ckm.start - timedelta(days=rng.randint(30, 200))
            person.periods.insert(
                0,
                Period(
                    uuid.uuid4(), "eCKM", ["hypertension"], eckm_start,
                    ended_on=ckm.start, end_reason="switched_to_ckm",
                ),
            )  # fmt: skip
        if track in CARDIO:
            if rng.random() < 0.10:
                person.periods += new_periods("BH", rng)
            person.cuff = (uuid.uuid4(), rng.random() >= 0.02)
            person.scale = uuid.uuid4()
            if cgm_count > 0:
                person.cgm = uuid.uuid4()
                cgm_count -= 1
        people.append(person)
    return people


# A Medicare Beneficiary Identifier's shape: what each of its 11 positions may hold.
_MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"  # no S, L, O, I, B, Z
_MBI_DIGITS = "0123456789"
_MBI_SHAPE = (
    "123456789", _MBI_LETTERS, _MBI_DIGITS + _MBI_LETTERS, _MBI_DIGITS, _MBI_LETTERS,
    _MBI_DIGITS + _MBI_LETTERS, _MBI_DIGITS, _MBI_LETTERS, _MBI_LETTERS, _MBI_DIGITS, _MBI_DIGITS,
)  # fmt: skip
_MBI_SPACE = math.prod(len(p) for p in _MBI_SHAPE)


def mbi(index: int) -> str:
    """An MBI-shaped identifier, distinct for every index (a bijection of the MBI space)."""
    n = (index * 1_000_003 + 7) % _MBI_SPACE  # 1,000,003 is prime, coprime to the space
    chars = []
    for allowed in reversed(_MBI_SHAPE):
        n, r = divmod(n, len(allowed))
        chars.append(allowed[r])
    return "".join(reversed(chars))


# --- What: one patient's readings, check-ins, alerts and reports ---------------------------------


class Zone:
    """A time zone's UTC offset per local day (at noon) and per UTC hour."""

    def __init__(self, name: str, first: date, last: date) -> None:
        zone = ZoneInfo(name)
        self.name = name
        self.first = first
        self.daily: dict[date, int] = {}
        day = first
        while day <= last + DAY:
            self.daily[day] = self._minutes(datetime.combine(day, time(12), zone))
            day += DAY
        start = midday(first, 0)
        hours = ((last - first).days + 3) * 24
        self.hourly = [
            self._minutes((start + timedelta(hours=h)).astimezone(zone)) for h in range(hours)
        ]

    @staticmethod
    def _minutes(local: datetime) -> int:
        offset = local.utcoffset()
        assert offset is not None
        return int(offset.total_seconds() // 60)

    def at(self, day: date, minute: int) -> tuple[datetime, int]:
        """The instant of local `minute` past midnight on `day`, and the UTC offset."""
        offset = self.daily[day]
        return midday(day, 0) + timedelta(minutes=minute - offset), offset


@dataclass
class Rows:
    """Rows waiting for COPY, per table."""

    readings: list[tuple[Any, ...]] = field(default_factory=list)
    reading_days: list[tuple[Any, ...]] = field(default_factory=list)
    reading_feeds: list[tuple[Any, ...]] = field(default_factory=list)
    checkins: list[tuple[Any, ...]] = field(default_factory=list)
    alerts: list[tuple[Any, ...]] = field(default_factory=list)
    reports: list[tuple[Any, ...]] = field(default_factory=list)


COLUMNS: dict[str, tuple[str, ...]] = {
    "organizations": ("id", "name", "created_at"),
    "users": (
        "id", "organization_id", "role", "email", "login", "name", "password_hash", "patient_id",
        "disabled_at", "created_at",
    ),
    "patients": (
        "id", "organization_id", "given_name", "family_name", "birth_date", "sex", "timezone",
        "mbi", "height_cm", "dual_eligible", "rural", "limited_digital_access",
        "activation_code_hash", "activation_expires_at", "activated_at", "updated_at",
        "created_at",
    ),
    "devices": (
        "id", "patient_id", "kind", "manufacturer", "model", "serial", "validated",
        "validated_at", "validated_by", "placement", "sampling_minutes", "client_id",
        "secret_hash", "revoked_at", "created_at",
    ),
    "enrollments": (
        "id", "patient_id", "track", "conditions", "region", "period", "start_date", "end_date",
        "previous_id", "control_group", "referring_clinician", "ended_at", "end_reason",
        "created_by", "details", "created_at",
    ),
    "readings": READING_COLUMNS,
    "reading_days": ("patient_id", "type", "component", "local_date", "count", "sum", "min", "max"),
    "reading_feeds": ("patient_id", "last_seq"),
    "checkins": (
        "id", "patient_id", "enrollment_id", "instrument", "version", "answers", "scorable",
        "total", "t_score", "se", "band", "prorated", "missing", "flags", "completed_at",
        "timezone", "local_date", "client_id", "entered_by", "entered_by_role", "received_at",
    ),
    "alerts": (
        "id", "patient_id", "kind", "severity", "status", "source_type", "source_id", "details",
        "acknowledged_at", "acknowledged_by", "resolved_at", "resolved_by", "created_at",
        "condition", "first_at", "last_at", "ended_at", "count", "worst",
    ),
    "reports": (
        "id", "patient_id", "enrollment_id", "track", "type", "report_date", "complete",
        "missing", "measures", "attained", "status", "result_code", "rules_version",
        "created_by", "created_at",
    ),
}  # fmt: skip


class PatientData:
    """Builds one patient's rows: readings (with their daily rollups and feed counter), check-ins,
    the alerts they open, the reports staff prepared; keeps the points the outcome rules read."""

    def __init__(
        self, person: Person, zone: Zone, rng: random.Random, staff: Sequence[uuid.UUID]
    ) -> None:
        self.person = person
        self.zone = zone
        self.rng = rng
        self.staff = staff
        # (effective_at, id, type, code, offset, local_date, values, source kind, device,
        # eligible, received_at): `seq` follows once all are made, in time order.
        self.readings: list[tuple[Any, ...]] = []
        self.rollups: dict[tuple[str, str, date], list[float]] = {}
        self.sources: dict[str, list[Point]] = defaultdict(list)
        self.checkins: list[tuple[Any, ...]] = []
        self.alerts: list[tuple[Any, ...]] = []
        self.reports: list[tuple[Any, ...]] = []

    # Readings

    def reading(
        self,
        kind: str,
        code: str,
        day: date,
        minute: int,
        values: Mapping[str, float | str],
        *,
        source: str = "device",
        device: uuid.UUID | None = None,
        eligible: bool = True,
        delay: timedelta = timedelta(minutes=1),
    ) -> tuple[uuid.UUID, datetime] | None:
        at, offset = self.zone.at(day, minute)
        received = at + delay
        if received >= NOW:
            return None
        rid = uuid.uuid4()
        row = (at, rid, kind, code, offset, day, json.dumps(values), source, device, eligible)
        self.readings.append((*row, received))
        for component, value in values.items():
            if not isinstance(value, str):
                self._roll(kind, component, day, float(value))
        if eligible and kind in READING_SOURCES:
            if kind == "blood_pressure":
                point = Point(rid, at, day, float(values["systolic"]), float(values["diastolic"]))
            else:
                point = Point(rid, at, day, float(values["value"]))
            self.sources[kind].append(point)
        return rid, received

    def _roll(self, kind: str, component: str, day: date, value: float) -> None:
        rollup = self.rollups.get((kind, component, day))
        if rollup is None:
            self.rollups[(kind, component, day)] = [1, value, value, value]
        else:
            rollup[0] += 1
            rollup[1] += value
            rollup[2] = min(rollup[2], value)
            rollup[3] = max(rollup[3], value)

    def alert(
        self,
        kind: str,
        severity: str,
        source: tuple[str, uuid.UUID],
        details: Mapping[str, Any],
        at: datetime,
    ) -> None:
        """An alert opened at `at`: open while under 3 days old, then mostly worked by staff.
        Each is a finished one-reading episode of a condition of its own (as migration
        c9d0e1f2a3b4 made the alerts before episodes): the views read only their status."""
        rng = self.rng
        acknowledged_at = resolved_at = None
        acknowledged_by = resolved_by = None
        status = "open"
        if NOW - at > timedelta(days=3):
            draw, who = rng.random(), rng.choice(self.staff)
            if draw < 0.85:
                status, resolved_by = "resolved", who
                resolved_at = at + timedelta(hours=rng.uniform(1, 48))
            elif draw < 0.95:
                status, acknowledged_by = "acknowledged", who
                acknowledged_at = at + timedelta(hours=rng.uniform(1, 12))
        self.alerts.append(
            (
                uuid.uuid4(), self.person.id, kind, severity, status, *source, json.dumps(details),
                acknowledged_at, acknowledged_by, resolved_at, resolved_by, at,
                f"single:{kind}", at, at, at, 1, json.dumps(details),
            )
        )  # fmt: skip

    def cardiometabolic(self, periods: Sequence[Period]) -> None:
        """Cuff, scale and height from a little before the first period to the data's end."""
        rng, person = self.rng, self.person
        assert person.cuff is not None
        first = min(p.start for p in periods) - timedelta(days=rng.randint(0, 10))
        stops = [p.last_day for p in periods if p.ended_on and p.end_reason != "switched_to_ckm"]
        last = min([person.data_last, *stops])
        conditions = {c for p in periods for c in p.conditions}
        height: dict[str, float | str] = {"unit": "cm", "value": person.height_cm}
        self.reading(HEIGHT, "8302-2", first, 9 * 60, height, source="manual")
        if "hypertension" in conditions:
            start_bp = min(192.0, max(125.0, rng.gauss(148, 12)))
        else:
            start_bp = min(150.0, max(105.0, rng.gauss(127, 9)))
        bp_change = rng.uniform(-30, 3)  # mm[Hg] over a year: most improve, a few worsen
        if "obesity" in conditions:
            bmi = rng.uniform(30.5, 40)
        elif "overweight_central" in conditions:
            bmi = rng.uniform(25.5, 29.9)
        else:
            bmi = rng.uniform(21, 29)
        start_kg = bmi * (person.height_cm / 100) ** 2
        kg_change = rng.uniform(-0.10, 0.01)  # share of the weight over a year
        cuff, upper_arm = person.cuff
        weigh_day = rng.randint(0, 6)
        gap_until = first - DAY
        crisis_day = LAST_DAY - timedelta(days=rng.randint(0, 1)) if rng.random() < 0.015 else None
        day = first
        while day <= last:
            years = (day - first).days / 365
            if day > gap_until and rng.random() < 0.005:
                gap_until = day + timedelta(days=rng.randint(4, 14))
            if not (day > gap_until and rng.random() < person.adherence) and day != crisis_day:
                day += DAY
                continue
            minutes = [rng.randint(6 * 60, 9 * 60 + 30)]
            if rng.random() < 0.3:
                minutes.append(rng.randint(18 * 60, 21 * 60 + 30))
            for n, minute in enumerate(minutes):
                systolic = round(start_bp + bp_change * years + rng.gauss(0, 8))
                if day == crisis_day and n == 0:
                    systolic = rng.randint(181, 200)
                diastolic = round(min(systolic - 25, 0.5 * systolic + rng.gauss(12, 6)))
                values = {"pulse": round(rng.gauss(72, 9)), "systolic": systolic}
                values["diastolic"] = diastolic
                stored = self.reading(
                    "blood_pressure", "85354-9", day, minute, values, device=cuff,
                    eligible=upper_arm,
                )  # fmt: skip
                if stored is not None and (systolic >= 180 or diastolic >= 120):
                    crisis = {"systolic": systolic, "diastolic": diastolic}
                    source = ("reading", stored[0])
                    self.alert("blood_pressure_crisis", "urgent", source, crisis, stored[1])
            if day.weekday() == weigh_day and rng.random() < 0.9:
                kg = round(start_kg * (1 + kg_change * years) + rng.gauss(0, 0.4), 2)
                weight: dict[str, float | str] = {"unit": "kg", "value": kg}
                self.reading("weight", "29463-7", day, minutes[0] + 3, weight, device=person.scale)
            day += DAY
        self.labs(first, last, conditions, ckm=any(p.track == "CKM" for p in periods))

    def lab(self, kind: str, code: str, day: date, minute: int, values: dict[str, Any]) -> None:
        delay = timedelta(days=self.rng.randint(1, 3))
        self.reading(kind, code, day, minute, values, source="lab", delay=delay)

    def labs(self, first: date, last: date, conditions: set[str], *, ckm: bool) -> None:
        """HbA1c about quarterly, LDL (and eGFR, UACR for CKM) every other draw, from a baseline
        draw before or near the start; some draws are skipped."""
        rng = self.rng
        if "diabetes" in conditions:
            hba1c, hba1c_change = min(13.0, max(6.2, rng.gauss(8.2, 1.1))), rng.uniform(-2.0, 0.2)
        elif "prediabetes" in conditions:
            hba1c, hba1c_change = min(6.4, max(5.7, rng.gauss(6.0, 0.2))), rng.uniform(-0.8, 0.1)
        else:
            hba1c, hba1c_change = min(5.6, rng.gauss(5.3, 0.2)), 0.0
        ldl, ldl_change = min(220.0, max(55.0, rng.gauss(122, 28))), rng.uniform(-0.55, 0.0)
        if "ckd_3a" in conditions:
            egfr = rng.uniform(45, 59.9)
        elif "ckd_3b" in conditions:
            egfr = rng.uniform(30, 44.9)
        else:
            egfr = rng.uniform(60, 95)
        uacr = min(3000.0, math.exp(rng.gauss(3.4, 1.0)))
        start = first + timedelta(days=10)
        draw = rng.random()
        if draw < 0.7:
            day = start - timedelta(days=rng.randint(0, 90))
        elif draw < 0.9:
            day = start + timedelta(days=rng.randint(0, 45))
        else:
            day = start + timedelta(days=rng.randint(60, 120))
        n = 0
        while day <= last:
            years = max(0, (day - start).days) / 365
            minute = rng.randint(8 * 60, 11 * 60)
            value = round(hba1c + hba1c_change * years, 1)
            self.lab("hba1c", "4548-4", day, minute, {"unit": "%", "value": value})
            if n % 2 == 0:
                value = round(ldl * (1 + ldl_change * years), 1)
                values = {"unit": "mg/dL", "value": value, "method": "direct"}
                self.lab("ldl", "18262-6", day, minute, values)
                if ckm:
                    values = {"unit": "mL/min/{1.73_m2}", "value": round(egfr, 1)}
                    self.lab("egfr", "98979-8", day, minute, values)
                    self.lab(
                        "uacr", "14959-1", day, minute, {"unit": "mg/g", "value": round(uacr, 1)}
                    )
            n += 1
            day += timedelta(days=rng.randint(80, 100))
            if rng.random() < 0.25:
                day += timedelta(days=rng.randint(30, 90))

    def cgm(self, days: int) -> None:
        """`days` of 5-minute CGM ending yesterday: three meals, a daily drift, a sensor change
        every ten days (two hours of warm-up without data) and an overnight low about twice a
        month (each reading below 70 mg/dL opens an alert, as on ingest)."""
        rng, zone, device = self.rng, self.zone, self.person.cgm
        assert device is not None
        base = rng.uniform(115, 165)
        meals = [(h * 12 + rng.randint(-6, 6), rng.uniform(35, 90)) for h in (8, 13, 19)]
        profile = [
            base
            + sum(
                height * math.sin(math.pi * (s - m) / 36) for m, height in meals if 0 <= s - m < 36
            )
            for s in range(288)
        ]
        first_day = LAST_DAY - timedelta(days=days - 1)
        start = midday(first_day, 0) - timedelta(minutes=zone.daily[first_day])
        first_hour = int((start - midday(zone.first, 0)).total_seconds() // 3600)
        step, delay = timedelta(minutes=5), timedelta(minutes=3)
        low_from = low_until = -1
        drift = 0.0
        at = start - step
        for i in range(days * 288):
            at += step
            slot = i % 288
            if slot == 0:
                drift = rng.gauss(0, 12)
                if rng.random() < 0.07:
                    low_from = i + rng.randint(12, 60)
                    low_until = low_from + rng.randint(3, 7)
            if i % 2880 < 24 or at + delay >= NOW:
                continue
            offset = zone.hourly[first_hour + i // 12]
            day = (at + timedelta(minutes=offset)).date()
            if low_from <= i < low_until:
                value = round(rng.uniform(48, 68), 1)
            else:
                value = round(min(400.0, max(72.0, profile[slot] + drift + rng.gauss(0, 8))), 1)
            rid = uuid.uuid4()
            values = f'{{"unit": "mg/dL", "value": {value}, "specimen": "interstitial"}}'
            self.readings.append(
                (at, rid, "glucose", "99504-3", offset, day, values, "device", device, True,
                 at + delay)
            )  # fmt: skip
            self._roll("glucose", "value", day, value)
            if value < 70:
                kind, severity = "hypoglycemia_level_1", "warning"
                if value < 54:
                    kind, severity = "hypoglycemia_level_2", "urgent"
                details = {"unit": "mg/dL", "value": value}
                self.alert(kind, severity, ("reading", rid), details, at + delay)

    # Check-ins

    def owner(self, instrument: str, day: date) -> uuid.UUID | None:
        """The enrollment the server stores a check-in against (`schedule.owning_periods`):
        the first started period whose track uses the instrument and which covers the day."""
        owners = [
            p
            for p in self.person.periods
            if instrument in TRACK_INSTRUMENTS[p.track]
            and p.start <= day <= p.end
            and (p.ended_on is None or day < p.ended_on)
        ]
        return min(owners, key=lambda p: (p.start, p.track)).id if owners else None

    def checkin(self, instrument: str, answers: dict[str, int], day: date) -> None:
        score = scoring.score(instrument, answers=answers)
        at, _offset = self.zone.at(day, self.rng.randint(17 * 60, 21 * 60))
        if at >= NOW:
            return
        cid = uuid.uuid4()
        self.checkins.append(
            (
                cid, self.person.id, self.owner(instrument, day), instrument, score.version,
                json.dumps(answers), score.scorable, score.total, score.t_score, score.se,
                score.band, score.prorated, json.dumps(list(score.missing)),
                json.dumps(list(score.flags)), at, self.zone.name, day, uuid.uuid4(),
                self.person.user_id, "patient", at + timedelta(seconds=2),
            )
        )  # fmt: skip
        if scoring.SELF_HARM_RISK in score.flags:
            details = {
                "item": scoring.PHQ9_SAFETY_ITEM,
                "total": score.total,
                "answer": answers[scoring.PHQ9_SAFETY_ITEM],
                "instrument": instrument,
            }
            self.alert("self_harm_risk", "urgent", ("checkin", cid), details, at)
        if instrument in CHECKIN_SOURCES and score.scorable:
            source, kind = CHECKIN_SOURCES[instrument]
            value = score.t_score if kind == "t_score" else score.total
            assert value is not None
            self.sources[source].append(Point(cid, at, day, float(value)))

    def answers(self, instrument: str, level: float) -> dict[str, int]:
        """Every scored item answered around `level` (in the items' own scale)."""
        found = {}
        for item in CATALOG[instrument].scored_items:
            low, high = min(item.values), max(item.values)
            found[item.id] = min(high, max(low, round(level + self.rng.gauss(0, 0.6))))
        return found

    def proms(self, period: Period) -> None:
        """The period's check-ins: from its start (or the end of the track's earlier period,
        which owns them until then) to its end and the patient's last day of data."""
        rng = self.rng
        earlier = [
            p.end for p in self.person.periods if p.track == period.track and p.start < period.start
        ]
        first = max([period.start, *(d + DAY for d in earlier)])
        last = min(period.last_day, self.person.data_last, period.end)
        severity = rng.uniform(0.5, 0.85)  # 0 none .. 1 worst
        improvement = rng.uniform(0.0, 0.5)  # less severe by this much over the year

        def level(day: date) -> float:
            return max(0.0, severity - improvement * (day - period.start).days / 365)

        weekday = rng.randint(0, 6)
        day = first
        while day <= last:
            n = (day - period.start).days
            if rng.random() >= (0.95 if n < 14 else self.person.adherence):
                day += DAY
                continue
            if period.track == "MSK":
                if n % 7 == weekday:
                    pain = min(10, max(0, round(10 * level(day) + rng.gauss(0, 0.8))))
                    self.checkin("pain_nrs", {"pain_avg_7d": pain}, day)
                if n % 30 == weekday:
                    self.checkin(
                        "promis_pi_6a", self.answers("promis_pi_6a", 1 + 4 * level(day)), day
                    )
                    self.checkin(
                        "promis_pf_6b", self.answers("promis_pf_6b", 5 - 3.5 * level(day)), day
                    )
            else:
                if n % 14 == weekday and "depression" in period.conditions:
                    answers = self.answers("phq9", 3 * level(day))
                    answers[scoring.PHQ9_SAFETY_ITEM] = (
                        0 if rng.random() < 0.99 else rng.randint(1, 2)
                    )
                    answers["phq9_difficulty"] = min(3, round(3 * level(day)))
                    self.checkin("phq9", answers, day)
                if n % 14 == weekday and "anxiety" in period.conditions:
                    self.checkin("gad7", self.answers("gad7", 3 * level(day)), day)
                if n == 3 + weekday and day < period.start + timedelta(days=14):
                    self.checkin("whodas12", self.answers("whodas12", 1 + 3 * level(day)), day)
            day += DAY
        window = end_of_period_window(period.care_period(), rules=RULES)
        last = min(period.last_day, self.person.data_last, window.closes)
        if window.opens <= last and rng.random() < 0.7:
            day = between(rng, window.opens, last)
            pgic = min(7, max(1, round(4 - 6 * improvement + rng.gauss(0, 0.8))))
            self.checkin("pgic", {"pgic_1": pgic}, day)
            if period.track == "BH":
                self.checkin("whodas12", self.answers("whodas12", 1 + 3 * level(day)), day)

    # Reports

    def prepare(
        self,
        period: Period,
        own: list[ReportFacts],
        report_type: ReportType,
        day: date,
        inherited: ReportFacts | None,
    ) -> ReportFacts | None:
        """What `POST /v1/patients/{id}/reports` stores on `day` (`outcomes.reports.prepare`),
        or None when no window takes it then."""
        care = period.care_period()
        window = window_for(
            care, rules=RULES, reports=own, report_type=report_type, report_date=day
        )
        if isinstance(window, WindowProblem):
            return None
        baselines = baselines_of(
            care,
            rules=RULES,
            sources=self.sources,
            reports=[r for r in own if r.report_date <= day],
            inherited=inherited,
            today=day,
        )
        snapshot = compose(
            care,
            rules=RULES,
            report_type=report_type,
            report_date=day,
            sources=self.sources,
            baselines=baselines,
        )
        facts = ReportFacts(
            uuid.uuid4(),
            report_type,
            day,
            snapshot.complete,
            snapshot.attained,
            {m.rule.name: m.value for m in snapshot.measures},
        )
        age = (TODAY - day).days
        status = "accepted" if age > 30 else "submitted" if age > 7 else "prepared"
        created = min(NOW, midday(day) + timedelta(minutes=self.rng.randint(0, 300)))
        self.reports.append(
            (
                facts.id, self.person.id, period.id, period.track, report_type, day,
                snapshot.complete, json.dumps(snapshot.missing), json.dumps(frozen(snapshot)),
                snapshot.attained, status, None, RULES.version, self.rng.choice(self.staff),
                created,
            )
        )  # fmt: skip
        own.append(facts)
        own.sort(key=lambda r: r.report_date)
        return facts

    def report_period(
        self, period: Period, inherited: ReportFacts | None, *, followed: bool
    ) -> ReportFacts | None:
        """The reports staff prepared for one period; returns its complete end-of-period one."""
        rng, care, last = self.rng, period.care_period(), period.last_day
        own: list[ReportFacts] = []
        days = (last - period.start).days + 1
        if (days >= 25 and rng.random() < 0.85) or (10 <= days < 25 and rng.random() < 0.2):
            day = period.start + timedelta(days=rng.randint(9, min(59, days - 1)))
            made = self.prepare(period, own, "baseline", day, inherited)
            if made is not None and not made.complete and day + timedelta(days=7) <= last:
                self.prepare(period, own, "baseline", day + timedelta(days=7), inherited)
        considered: set[date] = set()
        while True:
            windows = [
                w
                for w in quarterly_windows(care, rules=RULES, reports=own, today=last)
                if w.opens <= last and w.opens not in considered
            ]
            if not windows:
                break
            window = windows[0]
            considered.add(window.opens)
            if rng.random() < 0.65:
                day = between(rng, window.opens, min(window.closes, last))
                self.prepare(period, own, "quarterly", day, inherited)
        eop = end_of_period_window(care, rules=RULES)
        final = None
        if last >= period.end and rng.random() < (0.9 if followed else 0.55):
            day = between(rng, period.end, min(eop.closes, last))
            final = self.prepare(period, own, "end_of_period", day, inherited)
        elif eop.opens <= last < period.end and rng.random() < 0.1:
            day = between(rng, eop.opens, last)
            final = self.prepare(period, own, "end_of_period", day, inherited)
        return final if final is not None and final.complete else None

    def build(self, cgm_days: int) -> None:
        person = self.person
        cardio = [p for p in person.periods if p.track in CARDIO]
        if cardio:
            self.cardiometabolic(cardio)
        if person.cgm is not None:
            self.cgm(cgm_days)
        for period in person.periods:
            if period.track in ("MSK", "BH"):
                self.proms(period)
        for points in self.sources.values():
            points.sort(key=lambda p: (p.at, p.id))
        finals: dict[uuid.UUID, ReportFacts | None] = {}
        followed = {p.previous_id for p in person.periods if p.previous_id}
        for period in sorted(person.periods, key=lambda p: p.start):
            inherited = finals.get(period.previous_id) if period.previous_id else None
            finals[period.id] = self.report_period(
                period, inherited, followed=period.id in followed
            )

    def move_into(self, rows: Rows) -> None:
        pid, zone = self.person.id, self.zone.name
        self.readings.sort(key=lambda r: (r[0], r[1]))
        for seq, r in enumerate(self.readings, start=1):
            at, rid, kind, code, offset, day, values, source, device, eligible, received = r
            rows.readings.append(
                (rid, pid, seq, kind, code, at, offset, zone, day, None, values, source, device,
                 eligible, None, uuid.uuid4().hex, received, None)
            )  # fmt: skip
        if self.readings:
            rows.reading_feeds.append((pid, len(self.readings)))
        rows.reading_days.extend(
            (pid, kind, component, day, int(c), s, lo, hi)
            for (kind, component, day), (c, s, lo, hi) in self.rollups.items()
        )
        rows.checkins.extend(self.checkins)
        rows.alerts.extend(self.alerts)
        rows.reports.extend(self.reports)


# --- Loading -------------------------------------------------------------------------------------


@dataclass
class Loaded:
    organization_id: uuid.UUID
    clinician_id: uuid.UUID
    seconds: dict[str, float] = field(default_factory=dict)


def dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


async def check_columns(connection: asyncpg.Connection) -> None:
    """Every column a COPY leaves out must be nullable or have a default, and every column it
    names must exist: a schema change fails here, by name, not as wrong data."""
    rows = await connection.fetch(
        "SELECT table_name, column_name, is_nullable, column_default"
        " FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name = ANY($1::text[])",
        list(COLUMNS),
    )
    present: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        present[row["table_name"]].add(row["column_name"])
        required = row["is_nullable"] == "NO" and row["column_default"] is None
        if required and row["column_name"] not in COLUMNS[row["table_name"]]:
            raise RuntimeError(f"{row['table_name']}.{row['column_name']} is required: load it")
    for table, columns in COLUMNS.items():
        unknown = set(columns) - present[table]
        if unknown:
            raise RuntimeError(f"{table} has no column(s) {sorted(unknown)}: the schema moved")


async def copy(connection: asyncpg.Connection, table: str, records: list[tuple[Any, ...]]) -> None:
    if records:
        await connection.copy_records_to_table(table, records=records, columns=COLUMNS[table])
        records.clear()


def people_rows(
    people: Sequence[Person], organization_id: uuid.UUID, staff: Sequence[uuid.UUID], seed: int
) -> dict[str, list[tuple[Any, ...]]]:
    """Patients, their user accounts, devices and enrollments."""
    rng = random.Random(seed + 1)
    rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for person in people:
        first = min(p.start for p in person.periods)
        created = midday(first - timedelta(days=rng.randint(1, 20)), rng.randint(13, 21))
        activated = created + timedelta(hours=rng.randint(2, 72))
        rural = rng.random() < (0.35 if person.limited_digital_access else 0.18)
        born = date(1936, 1, 1) + timedelta(days=rng.randint(0, 25 * 365))
        if rng.random() < 0.1:  # under 65: Medicare through disability or ESRD
            born = date(1962, 1, 1) + timedelta(days=rng.randint(0, 20 * 365))
        sex = rng.choices(("female", "male", "other", "unknown"), (0.54, 0.45, 0.005, 0.005))[0]
        rows["patients"].append(
            (
                person.id, organization_id, rng.choice(GIVEN), rng.choice(FAMILY), born, sex,
                person.zone, mbi(person.index), person.height_cm, rng.random() < 0.2, rural,
                person.limited_digital_access, None, None, activated, activated, created,
            )
        )  # fmt: skip
        rows["users"].append(
            (
                person.user_id,
                organization_id,
                "patient",
                None,
                f"pt-bench-{person.index}",
                None,
                None,
                person.id,
                None,
                activated,
            )
        )
        devices: list[tuple[uuid.UUID | None, str, str | None]] = []
        if person.cuff is not None:
            devices.append((person.cuff[0], "bp_cuff", "upper_arm" if person.cuff[1] else "wrist"))
            devices.append((person.scale, "scale", None))
        if person.cgm is not None:
            devices.append((person.cgm, "cgm", None))
        for device_id, kind, placement in devices:
            validated = kind == "bp_cuff"
            rows["devices"].append(
                (
                    device_id, person.id, kind, "Bench", kind.upper(), f"SN{rng.getrandbits(40):x}",
                    validated, activated if validated else None,
                    rng.choice(staff) if validated else None, placement,
                    5 if kind == "cgm" else None, f"bench-{uuid.uuid4().hex}", "0" * 64, None,
                    activated,
                )
            )  # fmt: skip
        for period in person.periods:
            ended_at = midday(period.ended_on) if period.ended_on else None
            rows["enrollments"].append(
                (
                    period.id, person.id, period.track, json.dumps(period.conditions),
                    period.region, period.kind, period.start, period.end, period.previous_id,
                    period.control_group,
                    json.dumps(period.referring) if period.referring else None, ended_at,
                    period.end_reason, rng.choice(staff), "{}",
                    min(NOW, midday(period.start - timedelta(days=rng.randint(0, 3)), 14)),
                )
            )  # fmt: skip
    return rows


async def load(
    database_url: str, count: int, *, seed: int, cgm_count: int, cgm_days: int
) -> Loaded:
    """Rebuild the database and load the organization; the seconds each step took."""
    seconds: dict[str, float] = {}
    started = now()
    await reset_database(database_url)
    seconds["migrate"] = now() - started
    rng = random.Random(seed)
    people = make_people(count, rng, cgm_count)
    organization_id, admin_id = uuid.uuid4(), uuid.uuid4()
    clinicians = [uuid.uuid4() for _ in range(max(3, count // 500))]
    created = midday(TODAY - timedelta(days=600))
    first = min(p.start for person in people for p in person.periods) - timedelta(days=200)
    zones = {name: Zone(name, first, TODAY) for name, _ in ZONES}
    connection = await asyncpg.connect(dsn(database_url))
    try:
        await check_columns(connection)
        step = now()
        await copy(
            connection, "organizations", [(organization_id, f"Bench population {count}", created)]
        )
        staff = [(admin_id, "admin")] + [(c, "clinician") for c in clinicians]
        await copy(
            connection,
            "users",
            [
                (uid, organization_id, role, f"{role}-{n}@bench.example",
                 f"{role}-{n}@bench.example", f"Bench {role} {n}", None, None, None, created)
                for n, (uid, role) in enumerate(staff)
            ],
        )  # fmt: skip
        for table, records in people_rows(people, organization_id, clinicians, seed).items():
            await copy(connection, table, records)
        seconds["patients, devices, enrollments"] = now() - step
        step = now()
        rows = Rows()
        for person in people:
            data = PatientData(
                person, zones[person.zone], random.Random(seed * 100_003 + person.index), clinicians
            )
            data.build(cgm_days)
            data.move_into(rows)
            if len(rows.readings) >= 100_000:
                for table in COLUMNS:
                    if hasattr(rows, table):
                        await copy(connection, table, getattr(rows, table))
        for table in COLUMNS:
            if hasattr(rows, table):
                await copy(connection, table, getattr(rows, table))
        seconds["readings, check-ins, alerts, reports"] = now() - step
        step = now()
        # VACUUM too: otherwise autovacuum works through the bulk load during the measurements.
        await connection.execute("VACUUM ANALYZE")
        # Flush the bulk load now, so a checkpoint does not land inside the measurements.
        await connection.execute("CHECKPOINT")
        seconds["VACUUM ANALYZE, CHECKPOINT"] = now() - step
    finally:
        await connection.close()
    seconds["total"] = now() - started
    return Loaded(organization_id, clinicians[0], seconds)


async def postgres(database_url: str) -> str:
    """The server's version and the settings the numbers depend on (planner, JIT, autovacuum:
    with it off, every full re-evaluation leaves the standings tables' old rows in place)."""
    connection = await asyncpg.connect(dsn(database_url))
    try:
        version = await connection.fetchval("SHOW server_version")
        names = ("shared_buffers", "work_mem", "random_page_cost", "jit", "autovacuum")
        settings = [f"{n} {await connection.fetchval(f'SHOW {n}')}" for n in names]
        return f"PostgreSQL {version} ({', '.join(settings)})"
    finally:
        await connection.close()


async def volume(database_url: str) -> dict[str, int]:
    """Rows per table, and the database's size in MiB (as `database MiB`)."""
    connection = await asyncpg.connect(dsn(database_url))
    try:
        tables = [
            r["tablename"]
            for r in await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        found = {t: await connection.fetchval(f'SELECT count(*) FROM "{t}"') for t in tables}  # noqa: S608
        found["database MiB"] = round(
            await connection.fetchval("SELECT pg_database_size(current_database())") / 2**20
        )
        return found
    finally:
        await connection.close()


# --- Measuring -----------------------------------------------------------------------------------


@dataclass
class Timing:
    """One kind of request at one size: latencies in ms, whether it ran out of time, peak RSS."""

    samples: list[float] = field(default_factory=list)
    timeout: bool = False
    skipped: str | None = None
    rss_peak: float | None = None

    def cells(self) -> list[str]:
        if self.skipped is not None:
            return [self.skipped, "", "", ""]
        if not self.samples:
            return ["0", "timeout", "timeout", "timeout"]
        cells = [str(len(self.samples))] + [
            f"{v:.1f}"
            for v in (
                percentile(self.samples, 50),
                percentile(self.samples, 99),
                max(self.samples),
            )
        ]
        if self.timeout:
            cells[0] += " + 1 timeout"
        return cells


class StaffAuth(httpx.Auth):
    """A clinician's bearer token, minted again before it can expire (access tokens last 15
    minutes; a 10,000-patient run takes longer)."""

    def __init__(self, mint: Callable[[], str]) -> None:
        self.mint = mint
        self.token = mint()
        self.minted = now()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if now() - self.minted > 600:
            self.token, self.minted = self.mint(), now()
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


async def wait_until_served(client: httpx.AsyncClient) -> None:
    """After a timeout the server is still busy with the request: wait until it answers."""
    for _ in range(120):
        with contextlib.suppress(httpx.TransportError):
            if (await client.get("/healthz", timeout=30)).status_code == 200:
                return
    raise RuntimeError("the server stopped answering")


async def timed(
    client: httpx.AsyncClient, rss: RssSampler, path: str, params: Mapping[str, str], n: int
) -> tuple[Timing, Any]:
    """`n` requests one after another; the last answer's body."""
    timing, body = Timing(), None
    rss.section()
    for _ in range(n):
        started = now()
        try:
            response = await client.get(path, params=params)
        except httpx.TimeoutException:
            timing.timeout = True
            await wait_until_served(client)
            break
        timing.samples.append((now() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
        body = response.json()
    timing.rss_peak = rss.peak
    return timing, body


def floor_statements() -> tuple[str, str]:
    """The rows the panel's evaluation reads (`outcomes/loading.py`), as plain SQL: each current
    period's eligible readings and scored check-ins in the baseline window (and the days before
    it a first value may use), the recent days up to today, labs' year, and heights."""
    w, c = RULES.windows, RULES.calendar
    recent = max(w.trend_days, w.observation_days)
    periods = f"""
        SELECT e.id, e.patient_id, e.start_date,
               LEAST(e.start_date + {c.end_of_period_closes_day - 1}, $1::date) AS report
        FROM enrollments e JOIN patients p ON p.id = e.patient_id
        WHERE p.organization_id = $2 AND e.ended_at IS NULL AND e.start_date <= $1::date
          AND e.end_date >= $1::date - {c.shown_after_end_days + 1}
    """  # noqa: S608

    def windows(alias: str, labs: str) -> str:
        return f"""(
            {alias}.local_date BETWEEN pe.start_date - {w.observation_days - 1}
                                   AND pe.start_date + {w.baseline_days - 1}
            OR {alias}.local_date BETWEEN pe.report - {recent - 1} AND pe.report
            OR ({labs} AND {alias}.local_date BETWEEN pe.start_date - {w.lab_days} AND pe.report))
        """

    readings = f"""
        WITH pe AS ({periods})
        SELECT pe.id, r.id, r.type, r.effective_at, r.local_date,
               (r.values ->> 'value')::float, (r.values ->> 'systolic')::float,
               (r.values ->> 'diastolic')::float
        FROM pe JOIN readings r ON r.patient_id = pe.patient_id
        WHERE r.type = ANY($3::text[]) AND r.deleted_at IS NULL AND r.eligible
          AND ((r.type = 'height' AND r.local_date <= $1::date)
               OR {windows("r", "r.type = ANY($4::text[])")})
        ORDER BY r.effective_at, r.id
    """  # noqa: S608
    checkins = f"""
        WITH pe AS ({periods})
        SELECT pe.id, k.id, k.instrument, k.completed_at, k.local_date, k.total, k.t_score
        FROM pe JOIN checkins k ON k.patient_id = pe.patient_id
        WHERE k.instrument = ANY($3::text[]) AND k.scorable AND {windows("k", "false")}
        ORDER BY k.completed_at, k.id
    """  # noqa: S608
    return readings, checkins


async def floor(database_url: str, organization_id: uuid.UUID, n: int) -> tuple[Timing, int]:
    """PostgreSQL alone fetching what the panel evaluates; the number of rows."""
    readings, checkins = floor_statements()
    connection = await asyncpg.connect(dsn(database_url))
    timing, rows = Timing(), 0
    try:
        for _ in range(n + 1):  # the first is a warm-up
            started = now()
            found = await connection.fetch(
                readings, TODAY, organization_id, sorted(READING_SOURCES), sorted(LAB_SOURCES)
            )
            found += await connection.fetch(
                checkins, TODAY, organization_id, sorted(CHECKIN_SOURCES)
            )
            timing.samples.append((now() - started) * 1000)
            rows = len(found)
    finally:
        await connection.close()
    timing.samples.pop(0)
    return timing, rows


async def worker(
    args: argparse.Namespace, database_url: str, client: httpx.AsyncClient, rss: RssSampler
) -> tuple[Timing, Timing, str]:
    """One run of the worker command (`python -m app worker --once --all`: every patient's
    standing re-evaluated), end to end (read when the panel request in flight at its exit
    returns, so up to one request late), and the panel's first page timed one request after
    another while it runs; what the worker printed."""
    command = shlex.split(args.worker_command)
    started = now()
    process = await asyncio.create_subprocess_exec(
        sys.executable, *command, cwd=ROOT, env=server_env(database_url),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    output = asyncio.create_task(process.stdout.read())
    run, panel = Timing(), Timing()
    async with RssSampler(process.pid) as worker_rss:
        rss.section()
        while process.returncode is None:
            if now() - started > args.worker_timeout:
                process.kill()
                run.timeout = True
                break
            begun = now()
            try:
                response = await client.get("/v1/patients", params={"limit": "50"})
            except httpx.TimeoutException:
                panel.timeout = True
                await wait_until_served(client)
                continue
            panel.samples.append((now() - begun) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"panel: {response.status_code} {response.text[:300]}")
        code = await process.wait()
        elapsed = (now() - started) * 1000
        run.rss_peak = worker_rss.highest
    printed = (await output).decode().strip()
    if code != 0 and not run.timeout:
        raise RuntimeError(f"{args.worker_command} exited with {code}: {printed[-300:]}")
    if not run.timeout:
        run.samples.append(elapsed)
    panel.rss_peak = rss.peak
    return run, panel, printed


async def standings(database_url: str) -> dict[str, int]:
    """What the worker left: patients or current periods it did not cover, patients still due,
    and the dead rows each rewrite leaves in the standings tables until autovacuum runs."""
    connection = await asyncpg.connect(dsn(database_url))
    try:
        dead = await connection.fetch(
            "SELECT relname, n_dead_tup FROM pg_stat_user_tables"
            " WHERE relname LIKE '%\\_standings' ORDER BY relname"
        )
        return {
            **{f"{row['relname']} dead rows": row["n_dead_tup"] for row in dead},
            "patients without an evaluated row": await connection.fetchval(
                "SELECT count(*) FROM patients p WHERE NOT EXISTS (SELECT 1 FROM"
                " patient_standings s WHERE s.patient_id = p.id AND s.rules_version <> '')"
            ),
            "current periods without a stored row": await connection.fetchval(
                "SELECT count(*) FROM enrollments e WHERE e.ended_at IS NULL AND NOT EXISTS"
                " (SELECT 1 FROM period_standings s WHERE s.enrollment_id = e.id)"
            ),
            "patients due now": await connection.fetchval(
                "SELECT count(*) FROM patient_standings WHERE due_at <= now()"
            ),
        }
    finally:
        await connection.close()


@dataclass
class SizeResult:
    patients: int
    loaded: dict[str, float]
    volume: dict[str, int]
    timings: dict[str, Timing]
    rss_start: float | None
    rss_highest: float
    notes: list[str]
    floor_rows: int


REQUESTS = (
    ("build", "worker --once --all after the COPY load (builds every standing), end to end"),
    ("panel during build", "panel by need, first 50, while the build runs"),
    ("worker", "daily re-evaluation of all periods (worker --once --all again), end to end"),
    ("panel during worker", "panel by need, first 50, while the daily re-evaluation runs"),
    ("panel first", "panel by need, first 50: first call"),
    ("panel", "panel by need, first 50"),
    ("worklist first", "reporting worklist, first 50: first call"),
    ("worklist", "reporting worklist, first 50"),
    ("attainment first", "organization attainment: first call"),
    ("attainment", "organization attainment"),
    ("progress", "progress, 1 patient (daily BP, a year of CGM)"),
    ("reporting", "reporting calendar, 1 patient"),
    ("floor", "floor: PostgreSQL fetching the rows evaluating every current period reads"),
)
# Issue 12's goals: (request, percentile, limit in ms, what the goal says).
GOALS = (
    ("panel", 99, 100.0, "panel page of 50 by need: p99 <= 100 ms"),
    ("worklist", 99, 100.0, "worklist page of 50: p99 <= 100 ms"),
    ("attainment", 99, 300.0, "organization attainment: p99 <= 300 ms"),
    ("worker", 100, 60_000.0, "daily re-evaluation of all periods: <= 60 s"),
    ("panel during worker", 99, 200.0, "panel while it runs: p99 <= 200 ms"),
)
RSS_LIMIT_MIB = 400.0
# The server runs without its in-process worker: the benchmark runs `python -m app worker`
# itself (as a PostgreSQL deployment with API replicas does), so the server never evaluates.
SERVER_ENV = {"ACCESS_RPM_WORKER_IN_PROCESS": "false"}


async def measure_size(args: argparse.Namespace, count: int) -> SizeResult:
    database_url = f"{args.database_url}_{count}"
    cgm_count = max(1, round(count * args.cgm_share)) if args.cgm_share > 0 else 0
    print(f"-- {count} patients: loading {make_url(database_url).database}", flush=True)
    loaded = await load(
        database_url, count, seed=args.seed, cgm_count=cgm_count, cgm_days=args.cgm_days
    )
    print(f"loaded in {loaded.seconds['total']:.0f} s: {json.dumps(loaded.seconds)}", flush=True)
    connection = await asyncpg.connect(dsn(database_url))
    try:
        patient_id = await connection.fetchval(
            "SELECT p.id FROM patients p JOIN devices d ON d.patient_id = p.id AND d.kind = 'cgm'"
            " ORDER BY p.family_name, p.given_name, p.id LIMIT 1"
        )
    finally:
        await connection.close()
    notes: list[str] = []
    timings: dict[str, Timing] = {}

    def mint() -> str:
        return staff_token(
            database_url, user_id=loaded.clinician_id, organization_id=loaded.organization_id
        )

    n, population_n = args.requests, args.population_requests
    async with (
        serve(database_url, env=SERVER_ENV) as served,
        RssSampler(served.pid) as rss,
        httpx.AsyncClient(
            base_url=served.base, auth=StaffAuth(mint), timeout=args.timeout
        ) as client,
    ):
        rss_start = rss.first
        # COPY bypassed the write path: no standing is stored yet. The first worker run builds
        # them all; the second is the daily re-evaluation, every standing already there.
        for name in ("build", "worker"):
            print(f"timing {args.worker_command} ({name})", flush=True)
            timings[name], timings[f"panel during {name}"], printed = await worker(
                args, database_url, client, rss
            )
            notes.append(f"{name}: the worker printed {printed!r}")
            left = await standings(database_url)
            notes.append(f"after {name}: {json.dumps(left)}")
            print(notes[-2], notes[-1], sep="\n", flush=True)
        rows = await volume(database_url)
        print(f"rows: {json.dumps(rows)}", flush=True)
        population: tuple[tuple[str, str, dict[str, str]], ...] = (
            ("panel", "/v1/patients", {"limit": "50"}),
            ("worklist", "/v1/organization/reporting", {"limit": "50"}),
            ("attainment", "/v1/organization/attainment", {}),
        )
        for name, url, params in population:
            print(f"timing {name}", flush=True)
            timings[f"{name} first"], body = await timed(client, rss, url, params, 1)
            if timings[f"{name} first"].timeout:
                timings[name] = Timing(skipped="not repeated after a timeout")
            else:
                timings[name], body = await timed(client, rss, url, params, population_n)
            if body is not None:
                notes.append(f"{name}: {summary(name, body)}")
        print("timing one patient's progress and reporting calendar", flush=True)
        for name, path in (("progress", "progress"), ("reporting", "reporting")):
            url = f"/v1/patients/{patient_id}/{path}"
            await timed(client, rss, url, {}, 5)  # warm-up
            timings[name], _ = await timed(client, rss, url, {}, n)
        timings["floor"], floor_rows = await floor(database_url, loaded.organization_id, 5)
        rss_highest = rss.highest
    for note in notes:
        print(note, flush=True)
    return SizeResult(
        count, loaded.seconds, rows, timings, rss_start, rss_highest, notes, floor_rows
    )


def summary(name: str, body: Mapping[str, Any]) -> str:
    """What the answer says of the population, so a reader sees the rules were exercised."""
    if name == "attainment":
        keep = ("periods", "rate", "projected_rate", "statuses", "control_group_periods")
        return json.dumps({k: body.get(k) for k in keep if k in body})
    items = body.get("items", [])
    key = "outcome_status" if name == "panel" else "status"
    counts: dict[str, int] = defaultdict(int)
    for item in items:
        counts[str(item.get(key))] += 1
    extra = ""
    if name == "panel":
        urgent = sum(1 for i in items if i.get("open_urgent_alerts"))
        scores = [i["need"]["score"] for i in items]
        extra = f", {urgent} with open urgent alerts, need scores {max(scores)}..{min(scores)}"
    return f"{len(items)} rows, {key}: {dict(counts)}{extra}"


def goals(results: Sequence[SizeResult]) -> str:
    """Each goal of issue 12 at each size: the number measured, and met or not."""
    sizes = [f"{r.patients:,}" for r in results]
    lines = ["| goal | " + " | ".join(sizes) + " |", "|---|" + "---|" * len(results)]
    for key, pct, limit, label in GOALS:
        cells = []
        for r in results:
            t = r.timings.get(key, Timing(skipped="-"))
            if t.skipped is not None or not t.samples:
                cells.append(t.skipped or "timeout: not met")
                continue
            value = percentile(t.samples, pct)
            met = value <= limit and not t.timeout
            shown = f"{value / 1000:.1f} s" if limit >= 10_000 else f"{value:.1f} ms"
            cells.append(f"{shown}: {'met' if met else '**not met**'}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    cells = [
        f"{r.rss_highest:.0f} MiB: {'met' if r.rss_highest < RSS_LIMIT_MIB else '**not met**'}"
        for r in results
    ]
    lines.append(f"| server resident memory < {RSS_LIMIT_MIB:.0f} MiB throughout | ")
    lines[-1] += " | ".join(cells) + " |"
    return "\n".join(lines)


# --- Output --------------------------------------------------------------------------------------


def tables(results: Sequence[SizeResult]) -> str:
    sizes = [f"{r.patients:,}" for r in results]
    lines = ["| request | " + " | ".join(f"{s}: n | p50 ms | p99 ms | max ms" for s in sizes)]
    if len(results) == 2:
        lines[0] += " | p50 growth"
    lines[0] += " |"
    lines.append(
        "|---|" + "---|---|---|---|" * len(results) + ("---|" if len(results) == 2 else "")
    )
    for key, label in REQUESTS:
        timings = [r.timings.get(key, Timing(skipped="-")) for r in results]
        cells = [c for t in timings for c in t.cells()]
        row = f"| {label} | " + " | ".join(cells)
        if len(results) == 2:
            a, b = timings
            grew = (
                f"{percentile(b.samples, 50) / percentile(a.samples, 50):.1f}x"
                if a.samples and b.samples
                else ""
            )
            row += f" | {grew}"
        lines.append(row + " |")
    lines += ["", "| server RSS, MiB | " + " | ".join(sizes) + " |"]
    lines.append("|---|" + "---|" * len(results))
    lines.append(
        "| after startup | " + " | ".join(f"{r.rss_start or 0:.0f}" for r in results) + " |"
    )
    for key in (
        "panel during build",
        "panel during worker",
        "panel",
        "worklist",
        "attainment first",
        "attainment",
        "progress",
        "reporting",
    ):
        peaks = [r.timings[key].rss_peak if key in r.timings else None for r in results]
        lines.append(f"| peak during {key} | " + " | ".join(f"{p or 0:.0f}" for p in peaks) + " |")
    lines.append(
        "| peak over the run | " + " | ".join(f"{r.rss_highest:.0f}" for r in results) + " |"
    )
    for key in ("build", "worker"):
        peaks = [r.timings[key].rss_peak if key in r.timings else None for r in results]
        lines.append(
            f"| (worker process, {key}: peak) | "
            + " | ".join(f"{p or 0:.0f}" for p in peaks)
            + " |"
        )
    lines += ["", "| rows | " + " | ".join(sizes) + " |", "|---|" + "---|" * len(results)]
    names = sorted({k for r in results for k in r.volume if k != "database MiB"})
    for name in [*names, "database MiB"]:
        lines.append(
            f"| {name} | " + " | ".join(f"{r.volume.get(name, 0):,}" for r in results) + " |"
        )
    lines.append(
        "| rows evaluating every current period reads (floor) | "
        + " | ".join(f"{r.floor_rows:,}" for r in results)
        + " |"
    )
    lines += ["", "| load, s | " + " | ".join(sizes) + " |", "|---|" + "---|" * len(results)]
    for step in results[0].loaded:
        lines.append(
            f"| {step} | " + " | ".join(f"{r.loaded.get(step, 0):.0f}" for r in results) + " |"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url", default=DEFAULT_DB, help="each size uses <this>_<patients>"
    )
    parser.add_argument("--patients", default="10000", help="comma-separated sizes")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--requests", type=int, default=100, help="per one-patient request")
    parser.add_argument(
        "--population-requests",
        type=int,
        default=200,
        help="per organization request, after the first",
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    parser.add_argument("--cgm-share", type=float, default=0.01, help="share of patients with CGM")
    parser.add_argument("--cgm-days", type=int, default=365)
    parser.add_argument("--worker-command", default="-m app worker --once --all")
    parser.add_argument("--worker-timeout", type=float, default=600.0)
    args = parser.parse_args()
    print(f"machine: {machine()}", flush=True)
    results = []
    sizes = [int(c) for c in args.patients.split(",")]
    for count in sizes:
        result = await measure_size(args, count)
        results.append(result)
        print(json.dumps({k: t.__dict__ for k, t in result.timings.items()}), flush=True)
    print()
    print(f"machine: {machine()}; today {TODAY.isoformat()} (UTC)")
    print(f"database: {await postgres(f'{args.database_url}_{sizes[-1]}')}")
    print()
    print(tables(results))
    print()
    print(goals(results))
    print()
    for result in results:
        print(f"{result.patients:,} patients:")
        for note in result.notes:
            print(f"- {note}")


if __name__ == "__main__":
    asyncio.run(main())
