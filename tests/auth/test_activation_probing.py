"""Activation cannot be used to find out which emails have accounts.

A taken email is refused with a message that says nothing of whose it is, and each refusal
counts against the activation code: after `login_max_failures` of them the code answers 429
until it expires, so one code probes a handful of emails, not any number.
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from app.config import Settings
from tests.factories import make_org

PASSWORD = "correct horse battery"


async def _new_patient(client: httpx.AsyncClient, headers: dict[str, str]) -> tuple[str, str]:
    """(patient id, activation code) of a patient the clinic just created."""
    created = await client.post(
        "/v1/patients",
        json={
            "given_name": "Ana",
            "family_name": "Silva",
            "birth_date": "1957-04-02",
            "sex": "female",
            "timezone": "America/New_York",
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    return body["id"], body["activation_code"]


async def test_one_code_probes_a_handful_of_emails_at_most(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    org = await make_org(app)
    others = [await make_org(app, f"Elsewhere {n}") for n in range(8)]
    patient_id, code = await _new_patient(client, org.clinician.headers)
    answers = [
        await client.post(
            "/v1/auth/activate",
            json={"code": code, "password": PASSWORD, "email": other.admin.principal.email},
        )
        for other in others
    ]
    limit = settings.login_max_failures
    assert [a.status_code for a in answers] == [409] * limit + [429] * (len(others) - limit)
    refused = answers[0].json()
    assert "exist" not in refused["detail"].lower()
    assert "already" not in refused["detail"].lower()
    assert int(answers[-1].headers["retry-after"]) > 0
    # Even a free email waits now: the answer may no longer tell free from taken.
    free = await client.post(
        "/v1/auth/activate", json={"code": code, "password": PASSWORD, "email": "new@x.example"}
    )
    assert free.status_code == 429
    # A new code from the clinic works.
    url = f"/v1/patients/{patient_id}/activation-code"
    fresh = (await client.post(url, headers=org.clinician.headers)).json()["activation_code"]
    done = await client.post(
        "/v1/auth/activate", json={"code": fresh, "password": PASSWORD, "email": "new@x.example"}
    )
    assert done.status_code == 200, done.text


async def test_taken_here_or_elsewhere_reads_the_same(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    other = await make_org(app, "Elsewhere")
    _patient_id, code = await _new_patient(client, org.clinician.headers)

    async def activate(email: str) -> httpx.Response:
        return await client.post(
            "/v1/auth/activate", json={"code": code, "password": PASSWORD, "email": email}
        )

    here = await activate(org.admin.principal.email or "")
    elsewhere = await activate(other.admin.principal.email or "")
    assert here.status_code == elsewhere.status_code == 409
    assert here.json() == elsewhere.json()
