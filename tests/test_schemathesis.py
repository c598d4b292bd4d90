"""Schemathesis over the app's own OpenAPI schema, in process over ASGI: clinician and patient.

Every operation gets generated requests (valid and invalid); no answer may be a 5xx, and every
documented answer must match its documented schema. Path ids are often the seeded patient's real
ones (or `me`), so the deep paths run, not only their 404s.

The rows are seeded through a second app instance on pytest's loop; the app under test runs its
own lifespan on schemathesis' ASGI event loop (one engine per loop, as asyncpg requires).
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core import NotSet
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy import select

from app.main import create_app
from app.patients.models import Enrollment
from tests.conftest import TEST_DATABASE_URL, make_settings, truncate_all
from tests.dates import start_day
from tests.factories import make_org, make_patient

if TYPE_CHECKING:
    from schemathesis.specs.openapi.schemas import OpenApiCase

ENROLL = {"track": "eCKM", "conditions": ["hypertension"], "start_date": start_day()}
ROLES = ("clinician", "patient")


@dataclass(frozen=True)
class World:
    app: FastAPI
    bearer: dict[str, dict[str, str]]
    """Authorization headers by role."""
    path_ids: dict[str, dict[str, list[str]]]
    """By role: path parameter -> real values worth sending."""


@pytest.fixture(scope="module")
async def world(
    migrated_template: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    if TEST_DATABASE_URL is not None:
        url = TEST_DATABASE_URL
    else:
        target = tmp_path_factory.mktemp("schemathesis") / "test.db"
        with sqlite3.connect(migrated_template) as source, sqlite3.connect(target) as copy:
            source.backup(copy)
        url = f"sqlite+aiosqlite:///{target}"
    app_settings = make_settings(url)

    seeder = create_app(app_settings)
    async with seeder.router.lifespan_context(seeder):
        org = await make_org(seeder)
        patient = await make_patient(seeder, org, enroll=ENROLL)
        async with seeder.state.sessionmaker() as session:
            enrollment_ids = await session.scalars(
                select(Enrollment.id).where(Enrollment.patient_id == patient.id)
            )
            enrollments = [str(i) for i in enrollment_ids]

    real = {
        "patient_id": [str(patient.id)],
        "enrollment_id": enrollments,
        "device_id": [str(patient.device.id)],
    }
    yield World(
        # Same settings (database, signing secret), so the seeded tokens are valid here.
        app=create_app(app_settings),
        bearer={"clinician": org.clinician.headers, "patient": patient.user.headers},
        path_ids={"clinician": real, "patient": {**real, "patient_id": [str(patient.id), "me"]}},
    )
    if TEST_DATABASE_URL is not None:
        await truncate_all(url)


@pytest.fixture(scope="module", params=ROLES)
def role(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


def _pin_real_ids(case: OpenApiCase, real_ids: dict[str, list[str]]) -> None:
    """Often swap generated path ids for real ones, so the routes get past their 404.

    The choice is a pure function of the case (not a counter or a random draw, and not
    `@schema.given`, which would turn off the coverage phase) so a failing case replays.
    """
    params = case.path_parameters
    body = None if isinstance(case.body, NotSet) else case.body
    for name in list(params):
        if name in real_ids:
            options = [params[name], *real_ids[name]]
            digest = zlib.crc32(f"{name} {params!r} {body!r}".encode())
            params[name] = options[digest % len(options)]


pytestmark = pytest.mark.schemathesis

# The live app's schema, from a throwaway instance; requests go to the `world` fixture's app.
schema = schemathesis.openapi.from_dict(create_app(make_settings("sqlite+aiosqlite://")).openapi())


@settings(
    max_examples=20,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@schema.parametrize()
def test_api(case: OpenApiCase, world: World, role: str) -> None:
    _pin_real_ids(case, world.path_ids[role])
    case.call_and_validate(
        app=world.app,
        headers=world.bearer[role],
        checks=[not_a_server_error, response_schema_conformance],
    )
