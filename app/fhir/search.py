"""FHIR search parameters: which a route takes, and their values parsed. Pure: no I/O.

Invariants:
- a parameter the route does not take (a typo, a modifier such as `code:text`, `_sort`) is a
  400 naming it, and so is a second value of a parameter that takes one: FHIR lets a server
  ignore what it does not support, but a search of patient data that silently widened would
  show more than was asked for (http://hl7.org/fhir/R4/search.html#errors);
- the patterns the schema declares are exactly what is parsed here, so a value the schema
  admits is never refused;
- a `date` selects by the range its precision implies (http://hl7.org/fhir/R4/search.html#date):
  a year, a month or a day in the patient's time zone (as `/v1`'s days are the patient's local
  days), a minute, a second or a fraction of one with its offset; a time needs its offset;
  years are 1900-2099, as everywhere in the API.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

from app.fhir.errors import bad_parameter
from app.schemas import CALENDAR_DAY, HOUR_MINUTE, OFFSET, SECONDS

LOINC: Final = "http://loinc.org"
# The next page of a searchset is its `next` link, whose `_cursor` is opaque (app/pagination.py).
PAGE_CURSOR: Final = "_cursor"
COUNT: Final = "_count"
FORMAT: Final = "_format"
FORMATS: Final = ("json", "application/json", "application/fhir+json")
DEFAULT_COUNT: Final = 100
MAX_COUNT: Final = 1000

_COMMON = frozenset({FORMAT})
_PAGED = _COMMON | {COUNT, PAGE_CURSOR}
READ_PARAMETERS: Final = _COMMON
OBSERVATION_PARAMETERS: Final = _PAGED | {"patient", "code", "date"}
QUESTIONNAIRE_RESPONSE_PARAMETERS: Final = _PAGED | {"patient", "questionnaire"}
REPEATABLE: Final = frozenset({"date"})

# A resource id (http://hl7.org/fhir/R4/datatypes.html#id).
FHIR_ID: Final = r"[A-Za-z0-9\-.]{1,64}"
PATIENT_PATTERN: Final = f"^(Patient/)?{FHIR_ID}$"
# Printable ASCII but the space and the separators `,` and `|` (JSON Schema's ECMA-262 `\s`
# and Python's differ, so the patterns spell out what they admit).
_TEXT = r"[!-+\--{}~]"
# Tokens `[system|]code`, comma-separated (any of them).
_CODING = f"({_TEXT}+\\|)?{_TEXT}+"
CODE_PATTERN: Final = f"^{_CODING}(,{_CODING})*$"
# Canonical URLs `url[|version]`, comma-separated.
_CANONICAL = f"{_TEXT}+(\\|{_TEXT}+)?"
QUESTIONNAIRE_PATTERN: Final = f"^{_CANONICAL}(,{_CANONICAL})*$"
Prefix = Literal["eq", "ge", "gt", "le", "lt"]
_PREFIXES: Final[tuple[Prefix, ...]] = ("eq", "ge", "gt", "le", "lt")
_YEAR = "(19|20)[0-9]{2}"
_MONTH = "(0[1-9]|1[0-2])"
DATE_PATTERN: Final = (
    f"^(eq|ge|gt|le|lt)?({_YEAR}|{_YEAR}-{_MONTH}"
    f"|{CALENDAR_DAY}(T{HOUR_MINUTE}({SECONDS})?{OFFSET})?)$"
)
_DATE = re.compile(DATE_PATTERN)
_PATIENT = re.compile(PATIENT_PATTERN)
_CODES = re.compile(CODE_PATTERN)
_QUESTIONNAIRES = re.compile(QUESTIONNAIRE_PATTERN)
_TIME = re.compile(r"T\d\d:\d\d(?P<seconds>:\d\d)?(?P<fraction>\.\d+)?")
DATE_MESSAGE: Final = (
    "must be a date (YYYY, YYYY-MM, YYYY-MM-DD) or a time with its offset"
    " (YYYY-MM-DDThh:mm[:ss]+hh:mm or Z) from 1900 to 2099, after an optional prefix"
    " eq, ge, gt, le or lt"
)


def check_parameters(names: Iterable[str], *, known: frozenset[str]) -> None:
    """400 for a parameter the route does not take, or one given twice that takes one value."""
    seen: set[str] = set()
    for name in names:
        if name not in known:
            supported = ", ".join(sorted(known))
            raise bad_parameter(name, f"is not supported here (supported: {supported})")
        if name in seen and name not in REPEATABLE:
            raise bad_parameter(name, "may be given only once")
        seen.add(name)


def patient_id(raw: str) -> str:
    """The id of `patient=<id>` or `patient=Patient/<id>`."""
    if _PATIENT.fullmatch(raw) is None:
        raise bad_parameter("patient", "must be a patient id or Patient/<id>")
    return raw.removeprefix("Patient/")


def loinc_codes(raw: str) -> frozenset[str]:
    """The LOINC codes of `code=` (`8480-6`, `http://loinc.org|8480-6`, comma-separated); a
    token of another system matches nothing here, so it adds no code."""
    if _CODES.fullmatch(raw) is None:
        raise bad_parameter("code", "must be codes or system|code tokens, comma-separated")
    codes: set[str] = set()
    for token in raw.split(","):
        system, _, code = token.rpartition("|")
        if system in ("", LOINC):
            codes.add(code)
    return frozenset(codes)


def canonicals(raw: str) -> list[tuple[str, str | None]]:
    """The (url, version) pairs of `questionnaire=url[|version],...`."""
    if _QUESTIONNAIRES.fullmatch(raw) is None:
        raise bad_parameter(
            "questionnaire", "must be Questionnaire canonical URLs (url or url|version)"
        )
    pairs: list[tuple[str, str | None]] = []
    for token in raw.split(","):
        url, _, version = token.partition("|")
        pairs.append((url, version or None))
    return pairs


@dataclass(frozen=True, slots=True)
class DateParam:
    """One `date=` value: its prefix and the value's text, checked against `DATE_PATTERN`."""

    prefix: Prefix
    value: str

    def bounds(self, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
        """The instants a time must lie in, [lower, upper): None where the range is open."""
        start, end = _value_range(self.value, zone)
        match self.prefix:
            case "ge":
                return start, None
            case "gt":
                return end, None
            case "le":
                return None, end
            case "lt":
                return None, start
            case _:
                return start, end


def dates(raw: Iterable[str]) -> list[DateParam]:
    parsed: list[DateParam] = []
    for text in raw:
        if _DATE.fullmatch(text) is None:
            raise bad_parameter("date", f"{DATE_MESSAGE} (got {text[:40]!r})")
        prefix: Prefix = "eq"
        for known in _PREFIXES:
            if text.startswith(known):
                prefix, text = known, text[len(known) :]
                break
        parsed.append(DateParam(prefix, text))
    return parsed


def _value_range(value: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a date or time at its precision; days and coarser in `zone`."""
    if len(value) == 4:
        year = int(value)
        return _midnight(date(year, 1, 1), zone), _midnight(date(year + 1, 1, 1), zone)
    if len(value) == 7:
        year, month = int(value[:4]), int(value[5:])
        following = date(year + month // 12, month % 12 + 1, 1)
        return _midnight(date(year, month, 1), zone), _midnight(following, zone)
    if len(value) == 10:
        day = date.fromisoformat(value)
        return _midnight(day, zone), _midnight(day + timedelta(days=1), zone)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    shape = _TIME.search(value)
    assert shape is not None  # DATE_PATTERN admits a time only in this shape
    if shape["fraction"]:
        digits = min(len(shape["fraction"]) - 1, 6)
        step = timedelta(microseconds=10 ** (6 - digits))
    elif shape["seconds"]:
        step = timedelta(seconds=1)
    else:
        step = timedelta(minutes=1)
    return moment, moment + step


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone)
