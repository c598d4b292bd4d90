"""Shared schema building blocks: strict request models and validated scalar types."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Annotated, Any, ClassVar

from fastapi import Response
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    TypeAdapter,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from app.auth import password_policy


class StrictModel(BaseModel):
    """Request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


def _keep_set_in_schema(schema: dict[str, Any], model: type[BaseModel]) -> None:
    # Declares `NOT_NULL`: such a field is either left out or a value (no null, no null default).
    for name in getattr(model, "NOT_NULL", ()):
        field = schema["properties"][name]
        field.pop("default", None)
        branches = [b for b in field.pop("anyOf") if b != {"type": "null"}]
        if len(branches) == 1:
            field.update(branches[0])
        else:
            field["anyOf"] = branches


class PatchModel(StrictModel):
    """A PATCH body: a field left out stays as it is. The fields in `NOT_NULL` hold a value every
    record keeps (a name, a flag), so they may be left out but not set to null; the schema says
    so, and null is a 422 naming the field."""

    model_config = ConfigDict(json_schema_extra=_keep_set_in_schema)
    NOT_NULL: ClassVar[tuple[str, ...]] = ()

    @field_validator("*")
    @classmethod
    def _refuse_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name in cls.NOT_NULL:
            raise PydanticCustomError("not_null", "cannot be null; leave it out to keep it")
        return value


def one_of_constraints(schema: dict[str, Any], branches: list[dict[str, Any]]) -> None:
    """Declares that an object meets exactly one of `branches`, each constraining the model's
    own fields (a unit's range, an instrument's items, a track's conditions).

    Written `allOf: [{oneOf: branches}]`, which JSON Schema reads exactly as a `oneOf` beside
    `properties`. Client generators read a `oneOf` at the top of an object as a union of
    alternative shapes (openapi-python-client made `WeightIn` a union of two fragments holding
    only `unit` and `value`), and an `allOf` member as more of the same object: so the model
    keeps its fields in generated clients, and the branches stay what they are, constraints."""
    schema.setdefault("allOf", []).append({"oneOf": branches})


def integral(value: object) -> object:
    """For a strict `int` field, as a `mode="before"` validator: JSON has one number type, and
    5.0 is the whole number 5 (JSON Schema's `integer` says so too), while 7.5, "15" and true
    stay refused by the strict `int` after this."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


@lru_cache(maxsize=1)
def timezone_names() -> tuple[str, ...]:
    """The IANA zones a patient or a reading may name: the tzdata package's list (a pinned
    dependency, and where `zoneinfo.available_timezones()` starts), so every host accepts, and
    the schema lists, the same zones; a host's own extra files (`localtime`) name no place."""
    listed = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    return tuple(sorted(listed.split()))


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(timezone_names())


def _check_timezone(name: str) -> str:
    if name not in _zones():
        raise ValueError(f"{name!r} is not an IANA time zone name (for example America/New_York)")
    return name


def _timezone_pattern() -> str:
    # A pattern rather than an `enum`: a schema tool enumerates an enum's every value for every
    # field that holds one, some 600 requests per reading type. Names are grouped by area
    # (`America/(Adak|...)`), which keeps the pattern short for tools that parse it often.
    return f"^({_alternatives(timezone_names())})$"


def _alternatives(names: Iterable[str]) -> str:
    leaves: list[str] = []
    areas: dict[str, list[str]] = {}
    for name in names:
        area, slash, rest = name.partition("/")
        if slash:
            areas.setdefault(area, []).append(rest)
        else:
            leaves.append(name)
    parts = [
        *map(_literal, leaves),
        *(f"{_literal(area)}/({_alternatives(rest)})" for area, rest in areas.items()),
    ]
    return "|".join(parts)


def _literal(text: str) -> str:
    # "+" (Etc/GMT+5) is the one character of the zone names a pattern reads as syntax.
    return text.replace("+", r"\+")


class _TimezoneName:
    """A `str` naming an IANA zone; the schema lists them once, as the component `Timezone`."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        listed = core_schema.str_schema(
            max_length=64,
            metadata={
                "pydantic_js_updates": {
                    "pattern": _timezone_pattern(),
                    "description": "The name of an IANA time zone (for example America/New_York):"
                    " one of those of the tz database the server runs, which the pattern lists.",
                }
            },
        )
        return core_schema.no_info_after_validator_function(_check_timezone, listed, ref="Timezone")


Timezone = Annotated[str, _TimezoneName]


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
    # Read where a 422 states the allowed length (app.field_messages.declared_bounds).
    min_length: ClassVar[int] = 1

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(
            self.validate,
            core_schema.str_schema(min_length=self.min_length, max_length=self.max_length),
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
DAY_RANGE = f"between {EARLIEST_DAY.isoformat()} and {LATEST_DAY.isoformat()}"
# The schema's statement of these days and times, exactly what the validators below accept: a day
# of 1900-2099 that the calendar has (29 February in leap years only: 2000 is one, 1900 is not),
# and RFC 3339 times of day and offsets (hours 00-23, no leap second, as Python reads them); a
# timestamp is RFC 3339's `date-time`, with its "T".
_YEAR = "(19|20)[0-9]{2}"
CALENDAR_DAY = (
    f"({_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
    f"|{_YEAR}-(0[13-9]|1[0-2])-(29|30)"
    f"|{_YEAR}-(0[13578]|1[02])-31"
    "|(19|20)(0[48]|[2468][048]|[13579][26])-02-29"
    "|2000-02-29)"
)
HOUR_MINUTE = "([01][0-9]|2[0-3]):[0-5][0-9]"
SECONDS = r":[0-5][0-9](\.[0-9]{1,6})?"
OFFSET = f"(Z|[+-]{HOUR_MINUTE})"
DAY_PATTERN = f"^{CALENDAR_DAY}$"
TIMESTAMP_PATTERN = f"^{CALENDAR_DAY}T{HOUR_MINUTE}{SECONDS}{OFFSET}$"
# The shapes checked before parsing (the parser then refuses days the calendar lacks, and the
# range checks the years), so each refusal reads as a sentence rather than as the pattern.
_DAY_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIMESTAMP_SHAPE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})"
)


def day_text(value: Any) -> Any:
    """A date as YYYY-MM-DD text only: pydantic would also take a timestamp at midnight, or a
    number as seconds since 1970."""
    if isinstance(value, date) or (isinstance(value, str) and _DAY_SHAPE.fullmatch(value)):
        return value
    raise PydanticCustomError("day_format", "must be a date (YYYY-MM-DD)")


def _check_day(value: date) -> date:
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise PydanticCustomError("day_range", f"must be a date {DAY_RANGE}")
    return value


Day = Annotated[
    date, BeforeValidator(day_text), AfterValidator(_check_day), JsonPattern(DAY_PATTERN)
]


def _timestamp_text(value: Any) -> Any:
    # RFC 3339 text only: pydantic would also take a number (or digits) as seconds since 1970,
    # and a time without seconds.
    if isinstance(value, datetime) or (
        isinstance(value, str) and _TIMESTAMP_SHAPE.fullmatch(value)
    ):
        return value
    raise PydanticCustomError(
        "timestamp_format",
        "must be a timestamp with an offset (RFC 3339, e.g. 2026-03-10T23:30:00-04:00)",
    )


# A moment a person or device recorded; the caller checks its window (2000 to a few minutes
# from now for measurements, which also keeps it inside the declared years).
Timestamp = Annotated[
    AwareDatetime, BeforeValidator(_timestamp_text), JsonPattern(TIMESTAMP_PATTERN)
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
