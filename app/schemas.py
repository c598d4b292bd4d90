"""Shared schema building blocks: strict request models and validated scalar types."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import available_timezones

from fastapi import Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter
from pydantic_core import PydanticCustomError

from app.auth import password_policy


class StrictModel(BaseModel):
    """Request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _check_timezone(name: str) -> str:
    if name not in _zones():
        raise ValueError(f"{name!r} is not an IANA time zone name (for example America/New_York)")
    return name


Timezone = Annotated[str, StringConstraints(max_length=64), AfterValidator(_check_timezone)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        max_length=320,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
    ),
]


def _check_password(password: str) -> str:
    problem = password_policy.weakness(password)
    if problem is not None:
        raise PydanticCustomError("weak_password", problem)
    return password


# Where the login is known, services also refuse a password containing it (password_policy).
Password = Annotated[
    str,
    StringConstraints(min_length=password_policy.MIN_LENGTH, max_length=128),
    AfterValidator(_check_password),
    Field(
        description="8 to 128 characters; not a commonly used password or word, not a repeated "
        "or sequential run of characters, and not containing the email or activation code "
        "(NIST SP 800-63B)."
    ),
]


_ANY = TypeAdapter(Any)


def data_response(data: Any) -> Response:
    """Plain dicts and lists serialized by pydantic (same date, UUID and number formats as the
    models), for lists too large to build a model per item; the route's `response_model`
    documents the shape and the tests check the two agree."""
    return Response(_ANY.dump_json(data), media_type="application/json")


def json_response(
    model: BaseModel, *, status_code: int = 200, exclude_none: bool = False
) -> Response:
    """Serialize once, in pydantic's serializer, for large lists on hot paths.

    Returned as a Response, FastAPI skips validating the model a second time against the
    route's `response_model` (which still documents the schema).
    """
    return Response(
        model.model_dump_json(exclude_none=exclude_none),
        status_code=status_code,
        media_type="application/json",
    )
