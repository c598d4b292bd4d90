"""Which passwords are refused (NIST SP 800-63B-4, 3.1.1.2): commonly used ones, repeated or
sequential characters, and ones equal to or containing the login; all with a 422 on `password`."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from pydantic import TypeAdapter, ValidationError

from app.auth.password_policy import login_problem, weakness
from app.schemas import Password
from tests.factories import make_org

WEAK = [
    "12345678",
    "password",
    "PassWord",  # the list is matched whatever the case
    "p@ssw0rd",
    "iloveyou",
    "qwertyuiop",
    "football",
    "        ",  # eight spaces
    "aaaaaaaaaaaa",
    "abcabcabcabc",
    "abcdefgh",
    "87654321",
    "zyxwvuts",
]
STRONG = [
    "correct horse battery",
    "long-enough-1",
    "admin-password-1",
    "clinic-pass-1",
    "xk4!pq9z",
    "  spaced out words  ",
    "Übergrößenträger",
]


@pytest.mark.parametrize("password", WEAK)
def test_weak_passwords(password: str) -> None:
    assert weakness(password) is not None
    with pytest.raises(ValidationError):
        TypeAdapter(Password).validate_python(password)


@pytest.mark.parametrize("password", STRONG)
def test_acceptable_passwords(password: str) -> None:
    assert weakness(password) is None
    assert TypeAdapter(Password).validate_python(password) == password


@pytest.mark.parametrize(
    ("password", "email", "code", "refused"),
    [
        ("dr.kim@clinic.example", "dr.kim@clinic.example", None, True),
        ("DR.KIM@Clinic.Example", "dr.kim@clinic.example", None, True),
        ("my dr.kim@clinic.example!", "dr.kim@clinic.example", None, True),
        ("admin-password-1", "admin@clinic.example", None, False),  # the whole login only
        ("ABCD-EFGH-JKMN", None, "ABCD-EFGH-JKMN", True),
        ("my abcdefghjkmn code", None, "abcd-efgh-jkmn", True),
        ("correct horse battery", "dr.kim@clinic.example", "ABCD-EFGH-JKMN", False),
    ],
)
def test_the_login_is_not_the_password(
    password: str, email: str | None, code: str | None, refused: bool
) -> None:
    assert (login_problem(password, email=email, activation_code=code) is not None) is refused


def _refused_on_password(response: httpx.Response) -> str:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "ValidationError"
    assert [field["path"] for field in body["fields"]] == ["password"]
    message: str = body["fields"][0]["message"]
    return message


@pytest.mark.parametrize(
    ("password", "said"), [("12345678", "common"), ("password", "common"), ("        ", "repeat")]
)
async def test_clinician_with_a_weak_password_is_422(
    app: FastAPI, client: httpx.AsyncClient, password: str, said: str
) -> None:
    org = await make_org(app)
    body = {"email": "dr.kim@clinic.example", "name": "Dr. Kim", "password": password}
    response = await client.post("/v1/clinicians", json=body, headers=org.admin.headers)
    assert said in _refused_on_password(response)


@pytest.mark.parametrize("password", ["dr.kim@clinic.example", "Dr.Kim@Clinic.example-1"])
async def test_clinician_whose_password_contains_the_email_is_422(
    app: FastAPI, client: httpx.AsyncClient, password: str
) -> None:
    org = await make_org(app)
    body = {"email": "Dr.Kim@Clinic.example", "name": "Dr. Kim", "password": password}
    response = await client.post("/v1/clinicians", json=body, headers=org.admin.headers)
    assert "email" in _refused_on_password(response)


async def test_activation_refuses_the_email_or_code_as_password(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org = await make_org(app)
    created = await client.post(
        "/v1/patients",
        json={
            "given_name": "Ana",
            "family_name": "Silva",
            "birth_date": "1957-04-02",
            "sex": "female",
            "timezone": "America/New_York",
        },
        headers=org.clinician.headers,
    )
    code = created.json()["activation_code"]
    with_email = {
        "code": code,
        "password": "ana.silva@mail.example",
        "email": "ana.silva@mail.example",
    }
    assert "email" in _refused_on_password(await client.post("/v1/auth/activate", json=with_email))
    assert "code" in _refused_on_password(
        await client.post("/v1/auth/activate", json={"code": code, "password": f"{code}!"})
    )
    assert "common" in _refused_on_password(
        await client.post("/v1/auth/activate", json={"code": code, "password": "password1"})
    )
    # None of these used the code up.
    done = await client.post("/v1/auth/activate", json={"code": code, "password": "long-enough"})
    assert done.status_code == 200, done.text
