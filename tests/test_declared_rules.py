"""What the OpenAPI schema declares is exactly what the validators accept (docs/api.md, "Errors,
refined"): a value the schema admits is never refused for its shape, and one it refuses never
passes. Patterns are written beside validators that give a sentence, so each pair is held equal
here, over every day of the calendar or over generated text."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from app.errors import Invalid
from app.patients.schemas import MBI, MBI_PATTERN
from app.readings.bounds import BOUND_PATTERN, parse_bound
from app.schemas import DAY_PATTERN, TIMESTAMP_PATTERN, Day, Timestamp, Timezone, timezone_names

PROPERTY = settings(max_examples=300, derandomize=True, database=None, deadline=None)


def _accepts(adapter: TypeAdapter[Any], value: object) -> bool:
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True


def _text_of_days(first: date, last: date) -> list[str]:
    """Every YYYY-MM-DD from first to last, and for each month the days 00 and 29-32."""
    days = [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]
    impossible = [
        f"{year:04d}-{month:02d}-{day:02d}"
        for year in range(first.year, last.year + 1)
        for month in range(0, 14)
        for day in (0, 29, 30, 31, 32)
    ]
    return sorted(set(days + impossible))


CALENDAR = _text_of_days(date(1899, 1, 1), date(2100, 12, 31))


def test_the_day_pattern_is_the_day_validator() -> None:
    """1900-2099, and only the days the calendar has (29 February 2000 and 2096, not 1900)."""
    pattern, day = re.compile(DAY_PATTERN), TypeAdapter[date](Day)
    assert TypeAdapter[date](Day).json_schema()["pattern"] == DAY_PATTERN
    for text in CALENDAR:
        assert bool(pattern.fullmatch(text)) is _accepts(day, text), text


# Anything shaped like an RFC 3339 timestamp, in or out of range, with or without its parts.
TIMESTAMPISH = st.from_regex(
    r"(1899|19[0-9]{2}|20[0-9]{2}|2100|0001|9999)-[0-9]{2}-[0-9]{2}[T ]?([0-9]{2}:[0-9]{2}"
    r"(:[0-9]{2}(\.[0-9]{1,7})?)?)?(Z|z|[+-][0-9]{2}:?[0-9]{2})?",
    fullmatch=True,
)


@PROPERTY
@given(text=TIMESTAMPISH)
@example(text="2000-02-29T23:59:59.999999+23:59")
@example(text="1900-02-29T00:00:00Z")
@example(text="2024-05-06 07:08:09Z")
@example(text="2024-05-06T07:08Z")
def test_the_timestamp_pattern_is_the_timestamp_validator(text: str) -> None:
    """Within the declared years (a measurement's window is narrower still), the pattern and
    the validator agree on every text."""
    pattern, timestamp = re.compile(TIMESTAMP_PATTERN), TypeAdapter[Any](Timestamp)
    in_years = text[:2] in ("19", "20")
    assert bool(pattern.fullmatch(text)) is (in_years and _accepts(timestamp, text)), text


@PROPERTY
@given(text=TIMESTAMPISH | st.sampled_from(CALENDAR))
@example(text="2024-05-06 07:08Z")
@example(text="2024-05-06T07:08:09.1234567+02:00")
def test_the_bound_pattern_is_what_from_and_to_take(text: str) -> None:
    try:
        parse_bound(text, name="from")
    except Invalid:
        accepted = False
    else:
        accepted = True
    assert bool(re.compile(BOUND_PATTERN).fullmatch(text)) is accepted, text


def test_the_timezone_pattern_lists_exactly_the_zones_accepted() -> None:
    timezone = TypeAdapter[str](Timezone)
    pattern = re.compile(timezone.json_schema()["pattern"])
    for name in timezone_names():
        assert pattern.fullmatch(name)
        assert _accepts(timezone, name)
    for other in ("localtime", "posixrules", "", "America", "America/", "Etc/GMT+15", "utc"):
        assert not pattern.fullmatch(other)
        assert not _accepts(timezone, other)


MBI_LIKE = st.from_regex(r"[- ]{0,2}[0-9A-Za-z]([0-9A-Za-z]|[- ]){9,12}[- ]{0,2}", fullmatch=True)


@PROPERTY
@given(text=MBI_LIKE | st.from_regex(MBI_PATTERN, fullmatch=True))
@example(text="1EG4-TE5-MK73")
@example(text="1eg4 te5 mk73")
@example(text="1EG4TE5MK7\N{LATIN SMALL LIGATURE FF}")
@example(text="1EG4TE5MK73\n")
def test_the_mbi_pattern_is_the_mbi_validator(text: str) -> None:
    mbi = TypeAdapter[str](MBI)
    assert mbi.json_schema()["pattern"] == MBI_PATTERN
    declared = bool(re.compile(MBI_PATTERN).fullmatch(text)) and len(text) <= 13
    assert declared is _accepts(mbi, text), text


@pytest.mark.parametrize("text", ["1EG4-TE5-MK73", " 1eg4te5mk73 "])
def test_an_mbi_is_stored_bare_and_in_capitals(text: str) -> None:
    assert TypeAdapter[str](MBI).validate_python(text) == "1EG4TE5MK73"
