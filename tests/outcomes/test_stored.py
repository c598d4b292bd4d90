"""The stored standing equals a fresh evaluation, whatever happens and whenever it is read.

Property-based: random timelines go through the HTTP API (cuff readings on the day or late,
labs, deletions, check-ins, reports, alerts acknowledged and resolved, disenrolment) while the
clock moves
forward; after each step, and after the worker's pass at each move, the rows stored for the
patients equal what `stored.evaluate` computes afresh from the database at that moment.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.outcomes import stored
from app.outcomes.models import PatientStanding, PeriodStanding, WindowStanding
from tests.factories import Actor, OrgWorld, PatientWorld, make_org, make_patient
from tests.outcomes.helpers import (
    LAB_UNITS,
    checkin,
    enrollment,
    enrollment_id,
    on_day,
    post_readings,
    prepare,
    when,
    worker_pass,
)
from tests.readings.helpers import APP_PROPERTY

Row = dict[str, Any]


def _key(row: Row) -> tuple[str, ...]:
    return tuple(str(row.get(k)) for k in ("patient_id", "enrollment_id", "type", "opens"))


async def _stored_rows(app: FastAPI, patient_ids: list[uuid.UUID]) -> stored.Rows:
    async with app.state.sessionmaker() as session:
        found = []
        for model in (PeriodStanding, WindowStanding, PatientStanding):
            table = model.__table__
            result = await session.execute(select(table).where(table.c.patient_id.in_(patient_ids)))
            found.append([dict(row._mapping) for row in result])
    return stored.Rows(*found)


async def _fresh_rows(app: FastAPI, patient_ids: list[uuid.UUID]) -> stored.Rows:
    async with app.state.sessionmaker() as session:
        return await stored.evaluate(
            session, rules=app.state.rules, patient_ids=sorted(patient_ids)
        )


async def assert_agree(app: FastAPI, patient_ids: list[uuid.UUID]) -> None:
    kept, fresh = await _stored_rows(app, patient_ids), await _fresh_rows(app, patient_ids)
    for name in ("periods", "windows", "patients"):
        ours = sorted(getattr(kept, name), key=_key)
        theirs = sorted(getattr(fresh, name), key=_key)
        for row in (*ours, *theirs):
            row.pop("evaluated_at", None)  # when it was written, not what it says
        assert ours == theirs, name


@dataclass(frozen=True)
class Cuff:
    days_back: int  # 0: today; more: a late reading
    systolic: int


@dataclass(frozen=True)
class Lab:
    kind: str
    days_back: int
    value: float


@dataclass(frozen=True)
class Delete:
    pick: int


@dataclass(frozen=True)
class Checkin:
    raw: int


@dataclass(frozen=True)
class Report:
    type: str


@dataclass(frozen=True)
class Acknowledge:
    pass


@dataclass(frozen=True)
class Resolve:
    pass


@dataclass(frozen=True)
class Disenroll:
    pass


@dataclass(frozen=True)
class Advance:
    days: int


Step = Cuff | Lab | Delete | Checkin | Report | Acknowledge | Resolve | Disenroll | Advance

steps = st.lists(
    st.one_of(
        st.builds(Cuff, st.integers(0, 20), st.sampled_from([118, 128, 138, 150, 186])),
        st.builds(Lab, st.just("hba1c"), st.integers(0, 40), st.sampled_from([5.4, 6.9, 8.2])),
        st.builds(Lab, st.just("ldl"), st.integers(0, 40), st.sampled_from([62.0, 140.0])),
        st.builds(Delete, st.integers(0, 50)),
        st.builds(Checkin, st.integers(0, 27)),
        st.builds(Report, st.sampled_from(["baseline", "quarterly", "end_of_period"])),
        st.just(Acknowledge()),
        st.just(Resolve()),
        st.just(Disenroll()),
        st.builds(Advance, st.sampled_from([1, 3, 14, 30, 61, 90])),
    ),
    min_size=1,
    max_size=10,
)


@dataclass
class Timeline:
    client: httpx.AsyncClient
    org: OrgWorld
    eckm: PatientWorld
    bh: PatientWorld
    day: int = 1
    disenrolled: bool = False

    def __post_init__(self) -> None:
        self.readings: list[uuid.UUID] = []
        self.minute = 0

    async def post(self, actor: Actor, body: dict[str, Any], day: int) -> None:
        """One reading, at a minute of its own (so none is a repeat of another)."""
        self.minute += 1
        at = when(day, 6 + self.minute // 60, self.minute % 60)
        (created,) = await post_readings(
            self.client,
            actor,
            self.eckm.id if actor.principal.role != "device" else "me",
            [{**body, "effective_at": at}],
        )
        self.readings.append(created)

    async def run(self, step: Step) -> None:
        staff: Actor = self.org.clinician
        if isinstance(step, Cuff):
            day = max(1, self.day - step.days_back)
            body = {"type": "blood_pressure", "systolic": step.systolic, "diastolic": 80}
            await self.post(self.eckm.device, body, day)
        elif isinstance(step, Lab):
            body = {"type": step.kind, "value": step.value, "unit": LAB_UNITS[step.kind]}
            body["source"] = {"kind": "lab"}
            await self.post(staff, body, max(1, self.day - step.days_back))
        elif isinstance(step, Delete) and self.readings:
            reading = self.readings.pop(step.pick % len(self.readings))
            url = f"/v1/patients/{self.eckm.id}/readings/{reading}"
            assert (await self.client.delete(url, headers=staff.headers)).status_code == 204
        elif isinstance(step, Checkin):
            await checkin(self.client, self.bh.user, "phq9", self.day, step.raw)
        elif isinstance(step, Report):
            for patient in (self.eckm, self.bh):
                eid = await enrollment_id(self.client, staff, patient.id)
                response = await prepare(self.client, staff, patient.id, eid, step.type)
                assert response.status_code < 500, response.text
        elif isinstance(step, Acknowledge | Resolve):
            # The date's alerts (no_data, report_due) as well as the readings' and check-ins'.
            action = "acknowledge" if isinstance(step, Acknowledge) else "resolve"
            alerts = await self.client.get(
                "/v1/alerts", params={"status": "open"}, headers=staff.headers
            )
            for alert in alerts.json()["items"][:1]:
                url = f"/v1/alerts/{alert['id']}/{action}"
                assert (await self.client.post(url, headers=staff.headers)).status_code == 200
        elif isinstance(step, Disenroll) and not self.disenrolled:
            eid = await enrollment_id(self.client, staff, self.bh.id)
            response = await self.client.post(
                f"/v1/patients/{self.bh.id}/enrollments/{eid}/disenroll",
                json={"reason": "patient_initiated"},
                headers=staff.headers,
            )
            assert response.status_code == 200, response.text
            self.disenrolled = True


@settings(APP_PROPERTY, max_examples=15)
@given(timeline=steps)
async def test_stored_standing_equals_a_fresh_evaluation(
    app: FastAPI, client: httpx.AsyncClient, timeline: list[Step]
) -> None:
    org = await make_org(app)
    with on_day(1):
        eckm = await make_patient(app, org, enroll=enrollment("eCKM", "hypertension"))
        bh = await make_patient(app, org, enroll=enrollment("BH", "depression"))
    ids = [eckm.id, bh.id]
    state = Timeline(client, org, eckm, bh)
    for step in timeline:
        if isinstance(step, Advance):
            state.day += step.days
            with on_day(state.day):
                await worker_pass(app)
                await assert_agree(app, ids)
            continue
        with on_day(state.day):
            await state.run(step)
            await assert_agree(app, ids)
