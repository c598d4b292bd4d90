"""Reading bodies, HTTP shortcuts and generated writes for the readings and alerts tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.readings.models import Reading
from tests.factories import Actor, OrgWorld, PatientWorld, make_patient

# A fixed past instant, so bodies are never "in the future" and days are predictable.
BASE_TIME = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)


async def make_reading_patient(app: FastAPI, org: OrgWorld, **options: Any) -> PatientWorld:
    """A patient with no readings yet: without `height_cm`, which would store a height reading
    (tests/patients covers that), so these tests see exactly the readings they write."""
    return await make_patient(app, org, height_cm=None, **options)


def at(minutes: int = 0, *, base: datetime = BASE_TIME) -> str:
    return (base + timedelta(minutes=minutes)).isoformat()


def bp(systolic: int = 120, diastolic: int = 80, minutes: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "type": "blood_pressure",
        "systolic": systolic,
        "diastolic": diastolic,
        "effective_at": at(minutes),
        **extra,
    }


def glucose(
    value: float = 100, minutes: int = 0, unit: str = "mg/dL", **extra: Any
) -> dict[str, Any]:
    return {"type": "glucose", "value": value, "unit": unit, "effective_at": at(minutes), **extra}


def cgm(value: float, when: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "type": "glucose",
        "value": value,
        "unit": "mg/dL",
        "specimen": "interstitial",
        "effective_at": when.isoformat(),
        **extra,
    }


def with_client_id(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "client_id": str(uuid.uuid4())}


def url(patient: uuid.UUID | str, suffix: str = "") -> str:
    return f"/v1/patients/{patient}/readings{suffix}"


async def post_one(
    client: httpx.AsyncClient, actor: Actor, patient: uuid.UUID | str, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(url(patient), json=body, headers=actor.headers)


async def post_batch(
    client: httpx.AsyncClient,
    actor: Actor,
    patient: uuid.UUID | str,
    readings: list[dict[str, Any]],
) -> httpx.Response:
    return await client.post(
        url(patient, "/batch"), json={"readings": readings}, headers=actor.headers
    )


def statuses(response: httpx.Response) -> dict[str, int]:
    assert response.status_code == 200, response.text
    counts: dict[str, int] = {}
    for result in response.json()["results"]:
        counts[result["status"]] = counts.get(result["status"], 0) + 1
    return counts


async def list_all(
    client: httpx.AsyncClient, actor: Actor, patient: uuid.UUID | str, **params: Any
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(url(patient), params=query, headers=actor.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


async def count_rows(app: FastAPI, patient: uuid.UUID, *, live_only: bool = False) -> int:
    statement = select(func.count()).select_from(Reading).where(Reading.patient_id == patient)
    if live_only:
        statement = statement.where(Reading.deleted_at.is_(None))
    async with app.state.sessionmaker() as session:
        return int(await session.scalar(statement) or 0)


# Property tests run on every test run: a modest number of examples, the same ones every run
# (derandomized, no example database), and no deadline (database round trips vary in time).
PROPERTY = settings(max_examples=60, derandomize=True, database=None, deadline=None)
# Over the app: every example makes its own organization and patient, so reusing the test's
# app and client (function-scoped fixtures) across examples shares no state between them.
APP_PROPERTY = settings(
    PROPERTY, max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


# --- generated writes --------------------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    readings: list[dict[str, Any]]


@dataclass(frozen=True)
class Resend:
    which: int  # an earlier post, modulo how many there were


@dataclass(frozen=True)
class Delete:
    which: int  # a stored reading (maybe deleted already), modulo how many there are


Write = Post | Resend | Delete


def write_sequences(
    bodies: st.SearchStrategy[dict[str, Any]], *others: st.SearchStrategy[Any], max_size: int
) -> st.SearchStrategy[list[Any]]:
    """Sequences of writes (batches of up to 4 of `bodies`, resends, deletes) and `others`,
    starting with a batch so that resends and deletes have something to act on."""
    post = st.builds(Post, st.lists(bodies, min_size=1, max_size=4))
    step = st.one_of(
        post, st.builds(Resend, st.integers(0, 20)), st.builds(Delete, st.integers(0, 40)), *others
    )
    return st.tuples(post, st.lists(step, max_size=max_size)).map(lambda t: [t[0], *t[1]])


@dataclass
class Writer:
    """Replays generated writes for one patient over HTTP, as that patient."""

    client: httpx.AsyncClient
    actor: Actor
    patient_id: uuid.UUID
    posted: list[list[dict[str, Any]]] = field(default_factory=list)
    stored: list[str] = field(default_factory=list)  # ids of the readings created

    async def write(self, step: Write) -> None:
        if isinstance(step, Delete):
            if self.stored:
                reading_id = self.stored[step.which % len(self.stored)]
                response = await self.client.delete(
                    url(self.patient_id, f"/{reading_id}"), headers=self.actor.headers
                )
                assert response.status_code == 204, response.text
            return
        if isinstance(step, Post):
            readings = step.readings
        elif self.posted:
            readings = self.posted[step.which % len(self.posted)]
        else:
            return
        response = await post_batch(self.client, self.actor, self.patient_id, readings)
        assert "invalid" not in statuses(response), response.text
        self.posted.append(readings)
        results = response.json()["results"]
        self.stored += [r["id"] for r in results if r["status"] == "created"]
