"""Schemathesis over the app's own OpenAPI schema, in process over ASGI: clinician and patient.

Every operation gets generated requests (valid and invalid) and every check schemathesis has
(issue 11, point 13): no 5xx; each answer documented, in its documented shape; a request the
schema admits is accepted (or refused for who is asking, never for its values) and one it
refuses is refused; an undeclared method is a 405 whose `Allow` lists the path's methods. So the
schema must state every rule the server enforces; the few no JSON Schema can state are met by
the generated requests before they are sent (`_within_rules_no_schema_states`). Path ids are
often the seeded patient's real ones (or `me`), so the deep paths run, not only their 404s.

The rows are seeded through a second app instance on pytest's loop; the app under test runs its
own lifespan on schemathesis' ASGI event loop (one engine per loop, as asyncpg requires).
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.core import NotSet
from schemathesis.core.parameters import ParameterLocation
from sqlalchemy import select

from app.auth.password_policy import login_problem
from app.clock import utc_today, utcnow
from app.main import create_app
from app.patients.models import Enrollment
from app.patients.schemas import START_DATE_AHEAD, START_DATE_BACK
from app.readings.ingest import EARLIEST, MAX_STEPS_INTERVAL
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
    source_device: str
    """A device of the patient's for a reading's `source.device_id`."""


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
        # A device for readings to name as their source; not a path id, so no generated
        # DELETE revokes it.
        transport = httpx.ASGITransport(app=seeder)
        async with httpx.AsyncClient(transport=transport, base_url="http://seed") as http:
            registered = await http.post(
                f"/v1/patients/{patient.id}/devices",
                json={"kind": "scale", "manufacturer": "Acme", "model": "S1"},
                headers=org.clinician.headers,
            )
            source_device = registered.json()["id"]

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
        source_device=source_device,
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
    `@schema.given`, which would turn off the coverage phase) so a failing case replays. A path
    made invalid on purpose (too long, not a UUID) stays as generated: a real id in its place
    would turn the request the server must refuse into one it rightly accepts.
    """
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH):
        return
    params = case.path_parameters
    body = None if isinstance(case.body, NotSet) else case.body
    for name in list(params):
        if name in real_ids:
            options = [params[name], *real_ids[name]]
            digest = zlib.crc32(f"{name} {params!r} {body!r}".encode())
            params[name] = options[digest % len(options)]


def _drop_made_up_cursor(case: OpenApiCase) -> None:
    """A cursor is a position only the server issues: any string is valid by the schema, and
    almost none is one the server could have issued (refused with 422, docs/api.md "Cursors").
    So a schema-valid generated cursor is not sent, and the first page is asked for; an invalid
    one (too long) still is, for the server to refuse."""
    if case.meta is None or not case.meta.is_negative_at(ParameterLocation.QUERY):
        case.query.pop("cursor", None)


# A password no policy refuses (docs/api.md "Passwords"), with no "@", so no email fits in it.
STRONG_PASSWORD = "Quill-Harbor-Mosaic-47-Tundra"
# An NPI whose check digit is right (CMS's own example).
VALID_NPI = "1234567893"
# A moment inside every measurement's window (2000-01-01 to a few minutes from now).
PAST_MOMENT = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=2)))


def _moment(text: str) -> datetime:
    """A schema-valid timestamp, moved into the window when it lies outside."""
    moment = datetime.fromisoformat(text)
    return moment if EARLIEST <= moment <= utcnow() else PAST_MOMENT


def _body_fields(body: object) -> list[dict[str, Any]]:
    """Every object in a JSON body, the body first."""
    if isinstance(body, dict):
        return [body, *(o for value in body.values() for o in _body_fields(value))]
    if isinstance(body, list):
        return [o for value in body for o in _body_fields(value)]
    return []


def _within_rules_no_schema_states(case: OpenApiCase, world: World) -> None:
    """Bring a schema-valid body and query within the rules a JSON Schema cannot state, which
    the schema gives in words (docs/api.md) and the server enforces with a 422:

    - a password's policy: common passwords and words, runs, the login in it;
    - an NPI's check digit;
    - windows relative to today: measurement times from 2000 to a few minutes from now, a birth
      date not after today, an enrollment start from two years before today to a year after;
    - relations between fields: diastolic below systolic, a steps interval of at most a day
      after its start, `to` not before `from` and a span of days the route allows;
    - the patient's own records: a reading's source device must be one of theirs, and a
      follow-on period needs an earlier period of its track near its end (docs/rules.md "Care
      periods"; tests/patients/test_care_periods.py tests those), so generated enrollments
      start initial periods.

    Bodies and queries made invalid on purpose are left as generated, for the server to refuse.
    """
    negative = case.meta.is_negative_at if case.meta is not None else lambda _: False
    if not negative(ParameterLocation.BODY) and not isinstance(case.body, NotSet):
        today = utc_today()
        for fields in _body_fields(case.body):
            if isinstance(fields.get("new_password"), str):
                fields["new_password"] = STRONG_PASSWORD
            if isinstance(fields.get("password"), str):
                fields["password"] = STRONG_PASSWORD
                code = fields.get("code")
                if isinstance(code, str) and login_problem(STRONG_PASSWORD, activation_code=code):
                    fields["code"] = "unissued-code"
            if isinstance(fields.get("npi"), str):
                fields["npi"] = VALID_NPI
            for name in ("effective_at", "completed_at"):
                if isinstance(fields.get(name), str):
                    fields[name] = _moment(fields[name]).isoformat()
            interval = fields.get("effective_at"), fields.get("end_at")
            if all(isinstance(moment, str) for moment in interval):
                start, end = (datetime.fromisoformat(str(moment)) for moment in interval)
                if not start < end <= min(start + MAX_STEPS_INTERVAL, utcnow()):
                    fields["end_at"] = (start + timedelta(minutes=1)).isoformat()
            if isinstance(fields.get("birth_date"), str):
                fields["birth_date"] = min(fields["birth_date"], today.isoformat())
            day_one = fields.get("start_date")
            if isinstance(day_one, str) and not (
                today - START_DATE_BACK <= date.fromisoformat(day_one) <= today + START_DATE_AHEAD
            ):
                fields["start_date"] = start_day()
            systolic, diastolic = fields.get("systolic"), fields.get("diastolic")
            if (
                isinstance(systolic, float | int)
                and isinstance(diastolic, float | int)
                and (diastolic >= systolic)
            ):
                fields["diastolic"] = systolic - 1
            source = fields.get("source")
            if isinstance(source, dict) and source.get("device_id") is not None:
                source["device_id"] = world.source_device
            if "track" in fields and fields.get("period") == "follow_on":
                fields["period"] = "initial"
    if not negative(ParameterLocation.QUERY) and "from" in case.query:
        case.query["to"] = case.query["from"]


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
    _drop_made_up_cursor(case)
    _within_rules_no_schema_states(case, world)
    case.call_and_validate(
        app=world.app,
        headers=world.bearer[role],
    )
