"""Every route is checked from the app's own route table, so new routes are covered unedited.

Patient-scoped routes (a `{patient_id}` in the path): another patient, a clinician of another
organization and another patient's device get 404; anonymous gets 401; a role the route's guard
does not allow gets 403. Other /v1 routes: anonymous 401, disallowed roles 403.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from app.auth.dependencies import RequireRole
from app.patients.dependencies import RequirePatient
from tests.dates import start_day
from tests.factories import Actor, make_org, make_patient

PUBLIC_PREFIXES = ("/v1/auth/",)
ENROLL = {"track": "eCKM", "conditions": ["hypertension"], "start_date": start_day()}


def _guards(dependant: Dependant) -> Iterator[object]:
    for sub in dependant.dependencies:
        if isinstance(sub.call, RequirePatient | RequireRole):
            yield sub.call
        yield from _guards(sub)


def _routes(app: FastAPI) -> list[tuple[str, str, frozenset[str], bool]]:
    """(method, path, allowed roles, patient-scoped) for every /v1 route."""
    found = []
    for context in iter_route_contexts(app.routes):
        # The path as documented: `{reading_id}`, not its routing form `{reading_id:uuid}`.
        route, path = context.original_route, context.path_format or ""
        if not isinstance(route, APIRoute) or not path.startswith("/v1/"):
            continue
        if path.startswith(PUBLIC_PREFIXES) or path == "/v1/me":
            continue
        guards = list(_guards(route.dependant))
        scoped = "{patient_id}" in path
        kind = RequirePatient if scoped else RequireRole
        policy = [g for g in guards if isinstance(g, kind)]
        assert policy, f"{path} declares no {kind.__name__} guard"
        roles: frozenset[str] = policy[0].roles
        for method in sorted(route.methods or ()):
            found.append((method, path, roles, scoped))
    return found


def _url(path: str, patient_id: uuid.UUID) -> str:
    url = path.replace("{patient_id}", str(patient_id))
    return re.sub(r"\{[a-z_]+\}", lambda _: str(uuid.uuid4()), url)


async def _call(
    client: httpx.AsyncClient, method: str, url: str, actor: Actor | None
) -> httpx.Response:
    headers = actor.headers if actor else {}
    body: dict[str, object] | None = {} if method in ("POST", "PATCH", "PUT") else None
    return await client.request(method, url, json=body, headers=headers)


async def test_matrix_covers_routes(app: FastAPI) -> None:
    routes = _routes(app)
    scoped = {path for _, path, _, is_scoped in routes if is_scoped}
    assert "/v1/patients/{patient_id}" in scoped
    assert "/v1/patients/{patient_id}/access-log" in scoped
    assert len(scoped) >= 6


async def test_patient_scoped_routes(app: FastAPI, client: httpx.AsyncClient) -> None:
    home = await make_org(app, "Home")
    target = await make_patient(app, home, enroll=ENROLL)
    neighbour = await make_patient(app, home, enroll=ENROLL)
    elsewhere = await make_org(app, "Elsewhere")
    await make_patient(app, elsewhere, enroll=ENROLL)
    same_side = {
        "patient": target.user,
        "device": target.device,
        "clinician": home.clinician,
        "admin": home.admin,
    }
    outsiders = {
        "another patient": neighbour.user,
        "another patient's device": neighbour.device,
        "another organization's clinician": elsewhere.clinician,
        "another organization's admin": elsewhere.admin,
    }
    checked = 0
    for method, path, roles, scoped in _routes(app):
        if not scoped:
            continue
        url = _url(path, target.id)
        anonymous = await _call(client, method, url, None)
        assert anonymous.status_code == 401, (method, path)
        assert anonymous.json()["error"] == "Unauthorized"
        for who, actor in outsiders.items():
            response = await _call(client, method, url, actor)
            assert response.status_code == 404, (method, path, who, response.text)
            assert response.json()["error"] == "NotFound"
        for role, actor in same_side.items():
            response = await _call(client, method, url, actor)
            if role in roles:
                assert response.status_code not in (401, 403), (method, path, role)
            else:
                assert response.status_code == 403, (method, path, role, response.text)
        checked += 1
    assert checked >= 6


async def test_other_routes(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    patient = await make_patient(app, org)
    actors = {
        "patient": patient.user,
        "device": patient.device,
        "clinician": org.clinician,
        "admin": org.admin,
    }
    for method, path, roles, scoped in _routes(app):
        if scoped:
            continue
        url = _url(path, patient.id)
        assert (await _call(client, method, url, None)).status_code == 401, (method, path)
        for role, actor in actors.items():
            response = await _call(client, method, url, actor)
            expected_forbidden = role not in roles
            assert (response.status_code == 403) is expected_forbidden, (method, path, role)


@pytest.mark.parametrize("ref", ["me", "not-a-uuid", "0b7c8f3e-5a51-4c1e-9d2b-2f4f6b1a9c10"])
async def test_staff_cannot_use_me_or_unknown_ids(
    app: FastAPI, client: httpx.AsyncClient, ref: str
) -> None:
    org = await make_org(app)
    response = await client.get(f"/v1/patients/{ref}", headers=org.clinician.headers)
    assert response.status_code == 404
