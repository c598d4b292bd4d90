"""Organization settings (docs/api.md "FHIR R4", organization settings): the admin reads and
changes the name, ACCESS participant id and NPI its reports to CMS name it by, and where and as
whom they are sent (the client secret write-only, stored encrypted); staff NPIs."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI

from app.cms.secrets import SecretBox, UnreadableSecret, resolve_box
from app.config import ConfigError, Settings
from app.main import create_app
from app.organizations.models import Organization
from tests.conftest import make_settings
from tests.factories import make_org

VALID_NPI = "1234567893"  # CMS's example, check digit right
SECRET = "cms-client-secret-" + "x" * 20


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
        ({"cms_reporting": {}}, "cms_reporting.base_url"),
        (
            {"cms_reporting": {"base_url": "ftp://cms.example", "client_id": "c"}},
            "cms_reporting.base_url",
        ),
        (
            {"cms_reporting": {"base_url": "https://cms.example", "client_id": ""}},
            "cms_reporting.client_id",
        ),
        (
            {"cms_reporting": {"base_url": "https://cms.example", "client_id": "c"}},
            "cms_reporting.client_secret",
        ),
        (
            {
                "cms_reporting": {
                    "base_url": "https://cms.example",
                    "client_id": "c",
                    "client_secret": "s",
                    "x": 1,
                }
            },
            "cms_reporting.x",
        ),
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


async def test_cms_reporting_secret_is_write_only_and_stored_encrypted(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    cms = {
        "base_url": "https://cms.example/access/",
        "client_id": "riverside",
        "client_secret": SECRET,
    }
    changed = await client.patch(
        "/v1/organization", json={"cms_reporting": cms}, headers=org.admin.headers
    )
    assert changed.status_code == 200, changed.text
    expected = {
        "base_url": "https://cms.example/access",
        "client_id": "riverside",
        "client_secret_set": True,
    }
    assert changed.json()["cms_reporting"] == expected
    read = await client.get("/v1/organization", headers=org.admin.headers)
    assert read.json()["cms_reporting"] == expected
    assert SECRET not in read.text
    assert SECRET not in changed.text
    async with app.state.sessionmaker() as session:
        stored = await session.get(Organization, org.id)
    assert stored is not None
    assert stored.cms_client_secret is not None
    assert SECRET not in stored.cms_client_secret
    assert app.state.secret_box.open(stored.cms_client_secret) == SECRET
    # Changing the URL or client id without the secret keeps the stored secret.
    moved = await client.patch(
        "/v1/organization",
        json={"cms_reporting": {"base_url": "https://cms2.example", "client_id": "riverside"}},
        headers=org.admin.headers,
    )
    assert moved.status_code == 200, moved.text
    async with app.state.sessionmaker() as session:
        again = await session.get(Organization, org.id)
    assert again is not None
    assert again.cms_client_secret == stored.cms_client_secret
    # null removes every CMS setting, the secret too.
    removed = await client.patch(
        "/v1/organization", json={"cms_reporting": None}, headers=org.admin.headers
    )
    assert removed.json()["cms_reporting"] is None
    async with app.state.sessionmaker() as session:
        gone = await session.get(Organization, org.id)
    assert gone is not None
    assert gone.cms_client_secret is None


async def test_cms_base_url_must_be_https_in_production(database_url: str) -> None:
    settings = make_settings(
        database_url, ACCESS_RPM_ENV="production", ACCESS_RPM_JWT_SECRET=secrets.token_urlsafe(48)
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            org = await make_org(application)
            body = {"base_url": "http://cms.example", "client_id": "c", "client_secret": "s"}
            refused = await http.patch(
                "/v1/organization", json={"cms_reporting": body}, headers=org.admin.headers
            )
    assert refused.status_code == 422, refused.text
    assert refused.json()["fields"][0]["path"] == "cms_reporting.base_url"
    assert "https" in refused.json()["fields"][0]["message"]


def test_the_secret_box_opens_what_an_older_key_sealed() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = SecretBox([old]).seal(SECRET)
    rotated_box = SecretBox([new, old])
    assert rotated_box.open(sealed) == SECRET
    assert SecretBox([new]).open(rotated_box.rotate(sealed)) == SECRET
    with pytest.raises(UnreadableSecret):
        SecretBox([new]).open(sealed)
    with pytest.raises(ConfigError):
        SecretBox(["not a key"])


def test_production_needs_encryption_keys(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {"ACCESS_RPM_ENV": "production", "ACCESS_RPM_DATA_DIR": str(tmp_path)}
    )
    with pytest.raises(ConfigError, match="ACCESS_RPM_ENCRYPTION_KEYS"):
        resolve_box(settings)
    development = Settings.model_validate({"ACCESS_RPM_DATA_DIR": str(tmp_path)})
    first = resolve_box(development).seal(SECRET)
    assert resolve_box(development).open(first) == SECRET  # the kept key
    assert (tmp_path / "encryption-key").stat().st_mode & 0o077 == 0


async def test_staff_npi(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await make_org(app)
    other = await make_org(app)
    staff = await client.get("/v1/clinicians", headers=org.admin.headers)
    clinician_id = next(s["id"] for s in staff.json()["items"] if s["role"] == "clinician")
    url = f"/v1/clinicians/{clinician_id}"
    changed = await client.patch(url, json={"npi": VALID_NPI}, headers=org.admin.headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["npi"] == VALID_NPI
    bad = await client.patch(url, json={"npi": "1234567890"}, headers=org.admin.headers)
    assert bad.status_code == 422
    assert bad.json()["fields"][0]["path"] == "npi"
    assert (await client.patch(url, json={"npi": None}, headers=org.admin.headers)).json()[
        "npi"
    ] is None
    elsewhere = await client.patch(url, json={"npi": VALID_NPI}, headers=other.admin.headers)
    assert elsewhere.status_code == 404
    clinician = await client.patch(url, json={"npi": VALID_NPI}, headers=org.clinician.headers)
    assert clinician.status_code == 403
    assert (await client.patch(url, json={"npi": VALID_NPI})).status_code == 401
    created = await client.post(
        "/v1/clinicians",
        json={
            "email": "npi-doc@example.org",
            "name": "Dr Npi",
            "password": "correct horse battery staple 42",
            "npi": VALID_NPI,
        },
        headers=org.admin.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["npi"] == VALID_NPI
