"""Organization settings (docs/api.md "FHIR R4", organization settings): the admin reads and
changes the name, ACCESS participant id and NPI its reports to CMS name it by."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import make_org

VALID_NPI = "1234567893"  # CMS's example, check digit right


async def test_the_admin_reads_and_changes_the_settings(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app, "Riverside Clinic")
    other = await make_org(app, "Elsewhere")
    read = await client.get("/v1/organization", headers=org.admin.headers)
    assert read.status_code == 200, read.text
    assert (read.json()["name"], read.json()["access_participant_id"], read.json()["npi"]) == (
        "Riverside Clinic",
        None,
        None,
    )
    changed = await client.patch(
        "/v1/organization",
        json={"access_participant_id": "ACCES12345", "npi": VALID_NPI},
        headers=org.admin.headers,
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["name"], body["access_participant_id"], body["npi"]) == (
        "Riverside Clinic",
        "ACCES12345",
        VALID_NPI,
    )
    # Only the fields sent change; null clears an optional one.
    cleared = await client.patch("/v1/organization", json={"npi": None}, headers=org.admin.headers)
    assert (cleared.json()["access_participant_id"], cleared.json()["npi"]) == ("ACCES12345", None)
    # Each admin sees their own organization only.
    elsewhere = await client.get("/v1/organization", headers=other.admin.headers)
    assert elsewhere.json()["access_participant_id"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"access_participant_id": "ACCES1234"}, "access_participant_id"),
        ({"access_participant_id": "acces12345"}, "access_participant_id"),
        ({"npi": "1234567890"}, "npi"),  # check digit wrong
        ({"npi": "12345"}, "npi"),
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"cms_reporting": {}}, "cms_reporting"),  # not built yet: an unknown field
    ],
)
async def test_bad_settings_are_422_naming_the_field(
    app: FastAPI, client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    org = await make_org(app)
    refused = await client.patch("/v1/organization", json=body, headers=org.admin.headers)
    assert refused.status_code == 422, refused.text
    assert any(f["path"].endswith(field) for f in refused.json()["fields"]), refused.text


async def test_only_the_admin(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    for method in ("GET", "PATCH"):
        kwargs: dict[str, Any] = {"json": {"npi": VALID_NPI}} if method == "PATCH" else {}
        clinician = await client.request(
            method, "/v1/organization", headers=org.clinician.headers, **kwargs
        )
        assert clinician.status_code == 403
        assert (await client.request(method, "/v1/organization", **kwargs)).status_code == 401
