"""Hostile and careless input, route by route: never a 5xx, always the field it is about.

Each case is what an attacker or a broken client sent once (issue 11, points 1 and 9): times at
the ends of the calendar, hand-made cursors, NUL and other control characters, bidirectional
overrides, invisible names, an over-long login. The answer is a 422 naming the field
(`fields[].path`), or at the OAuth token endpoint the 400 `invalid_request` RFC 6749 defines,
on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app import clock
from tests.factories import OrgWorld, PatientWorld, make_org, make_patient

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
TODAY = NOW.date()
LAST_DAY = "9999-12-31T23:59:59-14:00"  # 10000-01-01 in UTC: OverflowError when converted
FIRST_DAY = "0001-01-01T00:00:00+14:00"  # year 0 in UTC
ENROLLMENT = {"track": "eCKM", "conditions": ["hypertension"], "start_date": TODAY.isoformat()}
PATIENT = {
    "given_name": "Ann",
    "family_name": "Lee",
    "birth_date": "1950-02-03",
    "sex": "female",
    "timezone": "America/New_York",
}
DEVICE = {"kind": "scale", "manufacturer": "Acme", "model": "S1", "serial": "A-1"}
REFERRER = {"name": "Dr. Rivera", "organization": "Main Street Practice"}
STRONG_PASSWORD = "vQ7-tarn-Plum-9x"
ANY_ID = "3f2b8a4e-4c1d-4e8f-9a6b-0c2d4e6f8a10"


def cursor(*values: Any) -> str:
    """A cursor made by hand, in the server's encoding (base64url of a JSON list)."""
    raw = json.dumps(list(values)).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def hours_ago(hours: float) -> str:
    return (NOW - timedelta(hours=hours)).isoformat()


def bp(effective_at: str) -> dict[str, Any]:
    return {
        "type": "blood_pressure",
        "systolic": 120,
        "diastolic": 80,
        "effective_at": effective_at,
    }


def steps(end_at: str) -> dict[str, Any]:
    return {"type": "steps", "count": 500, "effective_at": hours_ago(1), "end_at": end_at}


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str  # {patient}, {enrollment}: the world's ids
    actor: str  # admin, clinician, patient, device, anonymous
    field: str  # the `fields[].path` the answer must name
    json: Any = None
    params: dict[str, str] | None = None
    form: dict[str, str] | None = None
    status: int = 422


READINGS = "/v1/patients/me/readings"
ENROLLMENTS = "/v1/patients/{patient}/enrollments"


def _time_cases() -> Iterator[Case]:
    for name, moment in (("year_9999", LAST_DAY), ("year_1", FIRST_DAY)):
        yield Case(
            f"reading_effective_at_{name}",
            "POST",
            READINGS,
            "patient",
            "effective_at",
            json=bp(moment),
        )
        yield Case(
            f"device_reading_effective_at_{name}",
            "POST",
            READINGS,
            "device",
            "effective_at",
            json=bp(moment),
        )
        yield Case(
            f"steps_end_at_{name}", "POST", READINGS, "patient", "end_at", json=steps(moment)
        )
    for name, day, moment in (
        ("year_1", "0001-01-01", FIRST_DAY),
        ("year_9999", "9999-12-31", LAST_DAY),
    ):
        for param in ("from", "to"):
            yield Case(
                f"readings_{param}_date_{name}",
                "GET",
                READINGS,
                "patient",
                f"query.{param}",
                params={param: day},
            )
            yield Case(
                f"readings_{param}_timestamp_{name}",
                "GET",
                READINGS,
                "patient",
                f"query.{param}",
                params={param: moment},
            )
            yield Case(
                f"daily_{param}_{name}",
                "GET",
                f"{READINGS}/daily",
                "patient",
                f"query.{param}",
                params={"type": "weight", param: day},
            )
            yield Case(
                f"glucose_metrics_{param}_{name}",
                "GET",
                f"{READINGS}/glucose-metrics",
                "patient",
                f"query.{param}",
                params={param: day},
            )
        yield Case(
            f"daily_from_timestamp_{name}",
            "GET",
            f"{READINGS}/daily",
            "patient",
            "query.from",
            params={"type": "weight", "from": moment},
        )
        yield Case(
            f"progress_as_of_{name}",
            "GET",
            "/v1/patients/me/progress",
            "patient",
            "query.as_of",
            params={"as_of": day},
        )
        yield Case(
            f"attainment_as_of_{name}",
            "GET",
            "/v1/organization/attainment",
            "clinician",
            "query.as_of",
            params={"as_of": day},
        )
        yield Case(
            f"report_date_{name}",
            "POST",
            "/v1/patients/{patient}/reports",
            "clinician",
            "report_date",
            json={"enrollment_id": "{enrollment}", "type": "baseline", "report_date": day},
        )
        yield Case(
            f"enrollment_start_date_{name}",
            "POST",
            ENROLLMENTS,
            "clinician",
            "start_date",
            json={**ENROLLMENT, "track": "BH", "conditions": ["anxiety"], "start_date": day},
        )
    yield Case(
        "attainment_cohort_9999",
        "GET",
        "/v1/organization/attainment",
        "clinician",
        "query.cohort",
        params={"cohort": "9999"},
    )
    # A care period starts from two years before today to a year after.
    for name, start in (
        ("three_years_ago", TODAY - timedelta(days=3 * 365)),
        ("two_years_ahead", TODAY + timedelta(days=2 * 365)),
    ):
        yield Case(
            f"enrollment_start_date_{name}",
            "POST",
            ENROLLMENTS,
            "clinician",
            "start_date",
            json={
                **ENROLLMENT,
                "track": "BH",
                "conditions": ["anxiety"],
                "start_date": start.isoformat(),
            },
        )


# Hand-made cursors, list by list: each list's own key (keyset lists: a time with its offset and
# an id; the changes feed: a 64-bit sequence number).
NAIVE = cursor("2026-11-20T10:00:00", ANY_ID)
YEAR_1 = cursor(FIRST_DAY, ANY_ID)
THREE_VALUES = cursor(NOW.isoformat(), ANY_ID, "x")
KEYSET_LISTS = {
    "readings": ("/v1/patients/me/readings", "patient", {}),
    "alerts": ("/v1/alerts", "clinician", {}),
    "access_log": ("/v1/patients/me/access-log", "patient", {}),
    "clinicians": ("/v1/clinicians", "admin", {}),
    "panel_newest": ("/v1/patients", "clinician", {"order": "newest"}),
    "checkins": ("/v1/patients/me/checkins", "patient", {}),
    "reports": ("/v1/patients/me/reports", "patient", {}),
}


def _cursor_cases() -> Iterator[Any]:
    for name, (path, actor, params) in KEYSET_LISTS.items():
        for kind, value in (
            ("naive_datetime", NAIVE),
            ("year_1_at_plus_14", YEAR_1),
            ("three_values", THREE_VALUES),
        ):
            yield Case(
                f"cursor_{name}_{kind}",
                "GET",
                path,
                actor,
                "query.cursor",
                params={**params, "cursor": value},
            )
    changes = "/v1/patients/me/readings/changes"
    for kind, value in (("huge_integer", "9" * 30), ("negative_huge_integer", "-" + "9" * 30)):
        yield Case(
            f"cursor_changes_{kind}",
            "GET",
            changes,
            "patient",
            "query.cursor",
            params={"cursor": cursor(value)},
        )
    yield pytest.param(
        Case(
            "cursor_panel_need_three_values",
            "GET",
            "/v1/patients",
            "clinician",
            "query.cursor",
            params={"cursor": cursor("1", "lee", "ann")},
        ),
        id="cursor_panel_need_three_values",
    )
    yield pytest.param(
        Case(
            "cursor_worklist_naive_datetime",
            "GET",
            "/v1/organization/reporting",
            "clinician",
            "query.cursor",
            params={"cursor": cursor("2026-11-20T10:00:00", ANY_ID, ANY_ID, "baseline")},
        ),
        id="cursor_worklist_naive_datetime",
    )


# Text a person typed, where they type it: (case id prefix, method, path, actor, body, field).
TEXT_FIELDS: list[tuple[str, str, str, str, dict[str, Any], str]] = [
    ("patient_given_name", "POST", "/v1/patients", "clinician", PATIENT, "given_name"),
    ("patient_family_name", "POST", "/v1/patients", "clinician", PATIENT, "family_name"),
    (
        "patient_update_family_name",
        "PATCH",
        "/v1/patients/{patient}",
        "clinician",
        {},
        "family_name",
    ),
    (
        "clinician_name",
        "POST",
        "/v1/clinicians",
        "admin",
        {"email": "new.clinician@example.org", "name": "Dr. New", "password": STRONG_PASSWORD},
        "name",
    ),
    (
        "device_manufacturer",
        "POST",
        "/v1/patients/{patient}/devices",
        "clinician",
        DEVICE,
        "manufacturer",
    ),
    ("device_model", "POST", "/v1/patients/{patient}/devices", "clinician", DEVICE, "model"),
    ("device_serial", "POST", "/v1/patients/{patient}/devices", "clinician", DEVICE, "serial"),
]
REFERRER_FIELDS = ("name", "organization")
BAD_TEXT = {
    "nul": "Ann\x00Lee",
    "newline": "Ann\nLee",
    "ansi_escape": "\x1b[31mAnn\x1b[0m",
    "c1_control": "Ann\x85Lee",
    "bidi_override": "Ann\u202eeeL",
    "bidi_isolate": "\u2067Ann\u2069",
    "zero_width_only": "\u200b\u200c\u200d",
    "bom_only": "\ufeff",
}


def _set(body: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    head, _, rest = dotted.partition(".")
    copy = dict(body)
    copy[head] = _set(copy.get(head) or {}, rest, value) if rest else value
    return copy


def _text_cases() -> Iterator[Case]:
    for prefix, method, path, actor, body, field in TEXT_FIELDS:
        for name, text in BAD_TEXT.items():
            yield Case(f"{prefix}_{name}", method, path, actor, field, json=_set(body, field, text))
    enroll = {**ENROLLMENT, "track": "BH", "conditions": ["anxiety"]}
    for field in REFERRER_FIELDS:
        for name, text in BAD_TEXT.items():
            yield Case(
                f"referring_clinician_{field}_{name}",
                "POST",
                ENROLLMENTS,
                "clinician",
                f"referring_clinician.{field}",
                json={**enroll, "referring_clinician": {**REFERRER, field: text}},
            )
    yield Case(
        "referring_clinician_update_name_nul",
        "PATCH",
        ENROLLMENTS + "/{enrollment}",
        "clinician",
        "referring_clinician.name",
        json={"referring_clinician": {"name": "Dr.\x00Who"}},
    )
    yield Case(
        "referring_clinician_direct_address_nul",
        "POST",
        ENROLLMENTS,
        "clinician",
        "referring_clinician.direct_address",
        json={
            **enroll,
            "referring_clinician": {**REFERRER, "direct_address": "dr\x00@direct.example"},
        },
    )
    yield Case(
        "clinician_email_nul",
        "POST",
        "/v1/clinicians",
        "admin",
        "email",
        json={"email": "dr\x00kim@example.org", "name": "Dr. Kim", "password": STRONG_PASSWORD},
    )
    yield Case(
        "activation_email_nul",
        "POST",
        "/v1/auth/activate",
        "anonymous",
        "email",
        json={
            "code": "ABCD-EFGH-JKMN",
            "password": STRONG_PASSWORD,
            "email": "pat\x00@example.org",
        },
    )
    token = "/v1/auth/token"
    password_grant = {"grant_type": "password", "password": STRONG_PASSWORD}
    device_grant = {"grant_type": "client_credentials", "client_secret": "s" * 40}
    yield Case(
        "token_username_nul",
        "POST",
        token,
        "anonymous",
        "username",
        status=400,
        form={**password_grant, "username": "dr\x00kim@example.org"},
    )
    yield Case(
        "token_username_340_chars",
        "POST",
        token,
        "anonymous",
        "username",
        status=400,
        form={**password_grant, "username": "a" * 328 + "@example.org"},
    )
    yield Case(
        "token_username_ansi_escape",
        "POST",
        token,
        "anonymous",
        "username",
        status=400,
        form={**password_grant, "username": "\x1b[2Jdr@example.org"},
    )
    yield Case(
        "token_client_id_nul",
        "POST",
        token,
        "anonymous",
        "client_id",
        status=400,
        form={**device_grant, "client_id": "dev_\x00abc"},
    )
    yield Case(
        "token_client_id_too_long",
        "POST",
        token,
        "anonymous",
        "client_id",
        status=400,
        form={**device_grant, "client_id": "dev_" + "a" * 100},
    )


CASES = [
    *(pytest.param(c, id=c.id) for c in _time_cases()),
    *(c if not isinstance(c, Case) else pytest.param(c, id=c.id) for c in _cursor_cases()),
    *(pytest.param(c, id=c.id) for c in _text_cases()),
]


@dataclass
class World:
    org: OrgWorld
    patient: PatientWorld
    enrollment_id: str

    def actor_headers(self, actor: str) -> dict[str, str]:
        return {
            "admin": self.org.admin.headers,
            "clinician": self.org.clinician.headers,
            "patient": self.patient.user.headers,
            "device": self.patient.device.headers,
            "anonymous": {},
        }[actor]

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("{patient}", str(self.patient.id)).replace(
                "{enrollment}", self.enrollment_id
            )
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with clock.frozen_at(NOW):
        yield


@pytest.fixture
async def world(app: FastAPI, client: httpx.AsyncClient) -> World:
    org = await make_org(app)
    patient = await make_patient(app, org, enroll=ENROLLMENT, device_kind="scale", height_cm=None)
    enrollments = await client.get(
        f"/v1/patients/{patient.id}/enrollments", headers=org.clinician.headers
    )
    stored = await client.post(
        f"/v1/patients/{patient.id}/readings/batch",
        json={"readings": [bp(hours_ago(2)), bp(hours_ago(1))]},
        headers=patient.user.headers,
    )
    assert stored.status_code == 200, stored.text
    return World(org=org, patient=patient, enrollment_id=enrollments.json()["items"][0]["id"])


async def send(client: httpx.AsyncClient, world: World, case: Case) -> httpx.Response:
    return await client.request(
        case.method,
        world.fill(case.path),
        headers=world.actor_headers(case.actor),
        params=case.params,
        json=world.fill(case.json) if case.json is not None else None,
        data=case.form,
    )


@pytest.mark.parametrize("case", CASES)
async def test_hostile_input_is_refused_naming_the_field(
    client: httpx.AsyncClient, world: World, case: Case
) -> None:
    response = await send(client, world, case)
    answer = f"{response.status_code} {response.text}"
    assert response.status_code < 500, answer
    assert response.status_code == case.status, answer
    body = response.json()
    if case.status == 400:
        assert body["error"] == "invalid_request", body
    paths = [f["path"] for f in body.get("fields") or []]
    assert case.field in paths, body


async def test_a_batch_stores_its_valid_readings_beside_hostile_ones(
    client: httpx.AsyncClient, world: World
) -> None:
    """A phone resending its offline queue: the hostile items are `invalid`, the rest stored,
    and the same queue sent again changes nothing."""
    queue = [
        bp(hours_ago(5)),
        bp(LAST_DAY),
        steps(FIRST_DAY),
        bp(hours_ago(4)),
        steps(LAST_DAY),
        bp(FIRST_DAY),
    ]
    url = "/v1/patients/me/readings/batch"
    headers = world.patient.user.headers
    first = await client.post(url, json={"readings": queue}, headers=headers)
    assert first.status_code == 200, first.text
    results = first.json()["results"]
    assert [r["status"] for r in results] == [
        "created",
        "invalid",
        "invalid",
        "created",
        "invalid",
        "invalid",
    ]
    assert [[e["path"] for e in r.get("errors", [])] for r in results] == [
        [],
        ["effective_at"],
        ["end_at"],
        [],
        ["end_at"],
        ["effective_at"],
    ]
    again = await client.post(url, json={"readings": queue}, headers=headers)
    assert [r["status"] for r in again.json()["results"]] == [
        "duplicate",
        "invalid",
        "invalid",
        "duplicate",
        "invalid",
        "invalid",
    ]
    listed = await client.get("/v1/patients/me/readings", headers=headers)
    assert len(listed.json()["items"]) == 4  # the world's two and the queue's two


async def test_names_are_stored_in_nfc(client: httpx.AsyncClient, world: World) -> None:
    """The same name typed on two keyboards (decomposed or composed) is the same text."""
    created = await client.post(
        "/v1/patients",
        json={**PATIENT, "given_name": "  Zoe\u0301 ", "family_name": "Mu\u0308ller"},
        headers=world.org.clinician.headers,
    )
    assert created.status_code == 201, created.text
    assert (created.json()["given_name"], created.json()["family_name"]) == ("Zoé", "Müller")
    device = await client.post(
        f"/v1/patients/{world.patient.id}/devices",
        json={**DEVICE, "manufacturer": "Nore\u0301n"},
        headers=world.org.clinician.headers,
    )
    assert device.status_code == 201, device.text
    assert device.json()["manufacturer"] == "Norén"


async def test_the_panel_cursor_of_long_names_is_accepted(
    client: httpx.AsyncClient, world: World
) -> None:
    """A cursor this server issued is never refused: the panel's key holds two names of up to
    100 characters each."""
    headers = world.org.clinician.headers
    for family in ("A" * 100, "B" * 100):
        body = {**PATIENT, "given_name": "C" * 100, "family_name": family}
        created = await client.post("/v1/patients", json=body, headers=headers)
        assert created.status_code == 201, created.text
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 1}
    while True:  # every page, one patient at a time
        page = await client.get("/v1/patients", params=params, headers=headers)
        assert page.status_code == 200, page.text
        seen += [item["id"] for item in page.json()["items"]]
        if page.json()["next_cursor"] is None:
            break
        params["cursor"] = page.json()["next_cursor"]
    assert len(set(seen)) == len(seen) == 3  # the world's patient and these two
