"""The `from`/`to` of read-backs: parsing, local-day ranges, and the conditions they select.

Invariants:
- a bound is a date (a local day, inclusive) or a timestamp with an offset, from 1900 to 2099
  (`BOUND_PATTERN`, declared in the schema); anything else is a 422 naming the query field
  (docs/api.md "Conventions", "Readings"), so no bound can overflow when it is converted or
  widened by a day;
- days are local days in the patient's IANA zone, fixed when stored (`local_date`): a New York
  patient's reading at 23:30 in New York counts for that New York day (docs/rules.md "Data
  rules");
- a local-day condition is always paired with a UTC time window one day wider on each side, so
  date filters use the (patient, type, effective_at) index and still select exactly by
  `local_date`;
- `from` after `to` is a 422 naming both, on every route that takes them (an empty answer
  would read as "no data"); a day against a timestamp is compared in the patient's local days;
- a day range (daily, metrics) maps timestamps to the patient's local day and spans at most
  the caller's maximum.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.sql import ColumnElement

from app.clock import local_today
from app.errors import FieldError, Invalid
from app.patients.models import Patient
from app.readings.models import Reading
from app.schemas import CALENDAR_DAY, DAY_RANGE, HOUR_MINUTE, OFFSET, SECONDS

Bound = date | datetime

# A day, or a timestamp with its offset (RFC 3339; the seconds may be left out), in the years
# 1900-2099 (app.schemas.Day), each part one the calendar and the clock have.
BOUND_PATTERN = f"^{CALENDAR_DAY}([T ]{HOUR_MINUTE}({SECONDS})?{OFFSET})?$"
_BOUND = re.compile(BOUND_PATTERN)

# UTC offsets in use span -12:00..+14:00: a local day lies within a day either side of the
# same UTC date, which lets date filters use the (patient, type, effective_at) index.
_DAY_MARGIN = timedelta(days=1)


def parse_bound(raw: str | None, *, name: str) -> Bound | None:
    """A `from`/`to` query value: a date (local day) or a timestamp with offset."""
    if raw is None:
        return None
    problem = f"{name} must be a date (YYYY-MM-DD) or a timestamp with an offset, {DAY_RANGE}"
    if _BOUND.fullmatch(raw) is not None:
        try:
            if len(raw) == 10:
                return date.fromisoformat(raw)
            return datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:  # unreachable: the pattern admits only days and times that exist
            pass
    raise Invalid(
        f"Invalid query: {problem}.", fields=[FieldError(path=f"query.{name}", message=problem)]
    )


def check_order(first: Bound | None, last: Bound | None, *, zone: str) -> None:
    """422 naming both fields when `from` lies after `to`: two timestamps as instants, a day
    and a timestamp as the patient's local days (a day bound means the whole day)."""
    if first is None or last is None:
        return
    if isinstance(first, datetime) and isinstance(last, datetime):
        reversed_ = first > last
    else:
        reversed_ = _local_day(first, zone) > _local_day(last, zone)
    if reversed_:
        raise Invalid(
            f"Invalid query: from ({first.isoformat()}) is after to ({last.isoformat()}).",
            fields=[
                FieldError(path="query.from", message="must not be after to"),
                FieldError(path="query.to", message="must not be before from"),
            ],
        )


def _local_day(bound: Bound, zone: str) -> date:
    return bound.astimezone(ZoneInfo(zone)).date() if isinstance(bound, datetime) else bound


def _from_day(first: date) -> list[ColumnElement[bool]]:
    return [
        Reading.local_date >= first,
        Reading.effective_at >= datetime.combine(first, time(), UTC) - _DAY_MARGIN,
    ]


def _to_day(last: date) -> list[ColumnElement[bool]]:
    return [
        Reading.local_date <= last,
        Reading.effective_at
        < datetime.combine(last + timedelta(days=1), time(), UTC) + _DAY_MARGIN,
    ]


def local_days(first: date, *, last: date) -> list[ColumnElement[bool]]:
    """Conditions selecting readings on local days first..last, using the time index."""
    return [*_from_day(first), *_to_day(last)]


def bound_conditions(first: Bound | None, *, last: Bound | None) -> list[ColumnElement[bool]]:
    """Conditions selecting readings from `first` to `last` (either may be absent)."""
    conditions: list[ColumnElement[bool]] = []
    if isinstance(first, datetime):
        conditions.append(Reading.effective_at >= first)
    elif isinstance(first, date):
        conditions += _from_day(first)
    if isinstance(last, datetime):
        conditions.append(Reading.effective_at <= last)
    elif isinstance(last, date):
        conditions += _to_day(last)
    return conditions


def day_range(
    patient: Patient, *, first: Bound | None, last: Bound | None, default_days: int, max_days: int
) -> tuple[date, date]:
    """Local-day range from `from`/`to` (timestamps map to the patient's local day)."""
    zone = patient.timezone
    check_order(first, last, zone=zone)
    end = _local_day(last, zone) if last is not None else local_today(zone)
    start = _local_day(first, zone) if first is not None else end - timedelta(days=default_days - 1)
    if start > end:  # `to` left out: today, and `from` after it
        raise Invalid(
            f"Invalid query: from ({start.isoformat()}) is after today ({end.isoformat()}),"
            " the default to.",
            fields=[FieldError(path="query.from", message="must not be after today")],
        )
    if (end - start).days + 1 > max_days:
        message = f"the range may span at most {max_days} days"
        raise Invalid(
            f"Invalid query: {message}.", fields=[FieldError(path="query.from", message=message)]
        )
    return start, end
