"""Shared schema building blocks: strict request models and validated scalar types."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import available_timezones

from fastapi import Response
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    TypeAdapter,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

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


@dataclass(frozen=True, slots=True)
class JsonPattern:
    """Declares in the JSON schema a pattern that the type's validators enforce: on a type that
    is not a string (a date), or where the refusal must read as a sentence, not a regex."""

    pattern: str

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = self.pattern
        return json_schema


# --- A line of text a person typed (docs/api.md "Conventions") ----------------------------------
# Refused anywhere in it: C0 and C1 control characters (NUL, which PostgreSQL cannot store in
# text; the ESC that starts ANSI terminal sequences; line breaks), DEL, the line and paragraph
# separators, and the bidirectional embeddings, overrides and isolates that make text display in
# another order than it is stored (Unicode UAX #9; "Trojan Source", CVE-2021-42574).
_CONTROL = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
_BIDI = r"\u202a-\u202e\u2066-\u2069"
# Characters that show nothing: spaces, zero-width and other invisible format characters,
# fillers. A line must have at least one character that is none of these.
_BLANK = (
    r" \xa0\xad\u034f\u061c\u115f\u1160\u1680\u17b4\u17b5\u180b-\u180f\u2000-\u200f"
    r"\u202f\u205f-\u2064\u206a-\u206f\u3000\u3164\ufe00-\ufe0f\ufeff\uffa0"
)
TEXT_PATTERN = rf"^[^{_CONTROL}{_BIDI}]*[^{_CONTROL}{_BIDI}{_BLANK}][^{_CONTROL}{_BIDI}]*$"
# Logins, ids and tokens: anything but control characters.
NO_CONTROL_PATTERN = rf"^[^{_CONTROL}]*$"
CONTROL_CHAR = re.compile(f"[{_CONTROL}]")
_BIDI_CHAR = re.compile(f"[{_BIDI}]")
_VISIBLE_CHAR = re.compile(f"[^{_CONTROL}{_BIDI}{_BLANK}]")


@dataclass(frozen=True, slots=True)
class TextLine:
    """A `str` that is one line of text a person typed (a name, a device's model): 1 to
    `max_length` characters as sent, at least one of them visible, none of them a control or
    bidirectional formatting character (`TEXT_PATTERN`, declared in the schema). Stored with
    the surrounding whitespace removed, in Unicode NFC, so the same name typed on two keyboards
    (composed or decomposed accents) is the same text."""

    max_length: int

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(
            self.validate, core_schema.str_schema(min_length=1, max_length=self.max_length)
        )

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = TEXT_PATTERN
        return json_schema

    def validate(self, value: str) -> str:
        if found := CONTROL_CHAR.search(value):
            raise _text_error("control characters or line breaks", found.group())
        if found := _BIDI_CHAR.search(value):
            raise _text_error("bidirectional overrides or isolates", found.group())
        if _VISIBLE_CHAR.search(value) is None:
            raise PydanticCustomError("text_blank", "must contain a visible character")
        text = unicodedata.normalize("NFC", value.strip())
        if len(text) > self.max_length:  # NFC lengthens a few scripts' characters
            raise PydanticCustomError(
                "text_too_long",
                "must be at most {max_length} characters",
                {"max_length": self.max_length},
            )
        return text


def _text_error(kind: str, char: str) -> PydanticCustomError:
    return PydanticCustomError(
        "text_character",
        "must not contain {kind} (found U+{code})",
        {"kind": kind, "code": f"{ord(char):04X}"},
    )


Name = Annotated[str, TextLine(max_length=100)]
# Emails and ids keep their own patterns; an email never holds a control or bidi character.
_EMAIL_CHAR = rf"[^@\s{_CONTROL}{_BIDI}]"
EMAIL_PATTERN = rf"^{_EMAIL_CHAR}+@{_EMAIL_CHAR}+\.{_EMAIL_CHAR}+$"
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, max_length=320, pattern=EMAIL_PATTERN),
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


# --- Days and times a person could mean (docs/api.md "Conventions") -----------------------------
# Outside these, a date is a typing slip or an attack; the ends of the calendar (year 1, 9999)
# overflow the moment they are converted or shifted by a day.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2099, 12, 31)
DAY_PATTERN = r"^(19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}$"
_DAY_FORMAT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DAY_RANGE = f"between {EARLIEST_DAY.isoformat()} and {LATEST_DAY.isoformat()}"


def _day_format(value: Any) -> Any:
    # A date as YYYY-MM-DD only (pydantic would also take a timestamp at midnight).
    if isinstance(value, str) and not _DAY_FORMAT.fullmatch(value):
        raise PydanticCustomError("day_format", "must be a date (YYYY-MM-DD)")
    return value


def _check_day(value: date) -> date:
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise PydanticCustomError("day_range", f"must be a date {DAY_RANGE}")
    return value


Day = Annotated[
    date, BeforeValidator(_day_format), AfterValidator(_check_day), JsonPattern(DAY_PATTERN)
]

# A measurement may be stamped up to this far ahead of the server's clock (a device's clock runs
# a little fast).
FUTURE_TOLERANCE = timedelta(minutes=10)


def utc_between(
    value: datetime, *, name: str, earliest: datetime, latest: datetime
) -> datetime | str:
    """`value` in UTC when it lies from `earliest` to `latest` (now + FUTURE_TOLERANCE), else
    the sentence saying what `name` must be. Cheap: ingest calls it for every reading."""
    # The calendar year first: 0001-01-01T00:00+14:00 or 9999-12-31T23:59-14:00 cannot be
    # converted to UTC (OverflowError); a year either side of the range always can.
    if earliest.year - 1 <= value.year <= latest.year + 1:
        utc = value.astimezone(UTC)
        if earliest <= utc <= latest:
            return utc
    return f"{name} must be between {earliest.date().isoformat()} and 10 minutes from now"


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
