"""A follower of the changes feed ends with the live set, whatever happens between its reads.

Property-based: random interleavings of creates, resends (duplicates), deletes and partial
follows (a few pages of a random size from the follower's cursor) go through the HTTP API.
At the end the follower catches up, and its mirror must equal `GET .../readings`; so must the
mirror of a follower that starts from nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import Actor, make_org, make_patient
from tests.readings.helpers import (
    APP_PROPERTY,
    BASE_TIME,
    Write,
    Writer,
    list_all,
    url,
    write_sequences,
)

Mirror = dict[str, dict[str, Any]]


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A glucose reading; few distinct times and values, so identical bodies (repeats) occur."""
    at = BASE_TIME - timedelta(minutes=draw(st.integers(0, 30)))
    body = {"type": "glucose", "value": draw(st.integers(100, 110)), "unit": "mg/dL"}
    if draw(st.booleans()):
        body["client_id"] = str(uuid.UUID(int=draw(st.integers(1, 10))))
    return {**body, "effective_at": at.isoformat()}


@dataclass(frozen=True)
class Follow:
    limit: int
    pages: int  # at most this many pages, then stop wherever the follower is


operations = write_sequences(
    bodies(), st.builds(Follow, st.integers(1, 4), st.integers(1, 3)), max_size=14
)


@dataclass
class Follower:
    """A client mirroring the patient's readings from the feed."""

    client: httpx.AsyncClient
    actor: Actor
    patient_id: uuid.UUID
    mirror: Mirror = field(default_factory=dict)
    cursor: str | None = None

    async def follow(self, limit: int, pages: int | None = None) -> None:
        """Apply up to `pages` pages of changes (all of them when None)."""
        while pages is None or pages > 0:
            params: dict[str, Any] = {"limit": limit}
            if self.cursor is not None:
                params["cursor"] = self.cursor
            response = await self.client.get(
                url(self.patient_id, "/changes"), params=params, headers=self.actor.headers
            )
            assert response.status_code == 200, response.text
            page = response.json()
            for change in page["changes"]:
                reading = change["reading"]
                if change["op"] == "delete":
                    self.mirror.pop(reading["id"], None)
                else:
                    self.mirror[reading["id"]] = reading
            self.cursor = page["next_cursor"]
            if not page["has_more"]:
                return
            pages = None if pages is None else pages - 1


@APP_PROPERTY
@given(steps=operations, catch_up_limit=st.integers(1, 5))
async def test_follower_ends_with_the_live_set(
    app: FastAPI,
    client: httpx.AsyncClient,
    steps: list[Write | Follow],
    catch_up_limit: int,
) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org)
    follower = Follower(client, patient.user, patient.id)
    writer = Writer(client, patient.user, patient.id)
    for step in steps:
        if isinstance(step, Follow):
            await follower.follow(step.limit, step.pages)
        else:
            await writer.write(step)

    await follower.follow(catch_up_limit)
    live = {r["id"]: r for r in await list_all(client, patient.user, patient.id)}
    assert follower.mirror == live
    latecomer = Follower(client, patient.user, patient.id)
    await latecomer.follow(catch_up_limit)
    assert latecomer.mirror == live
