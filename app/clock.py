"""The one clock: what time it is, and which day it is where the patient lives.

Every "now" and "today" in the service comes from here, so a test can move time for the whole
service (`frozen_at`) instead of sleeping or depending on the day it runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def _system_now() -> datetime:
    return datetime.now(UTC)


_now: Callable[[], datetime] = _system_now


def utcnow() -> datetime:
    """The current instant, timezone-aware (UTC)."""
    return _now()


def local_date(at: datetime, *, zone: str) -> date:
    """The calendar day that instant `at` falls on in the IANA zone `zone`."""
    return at.astimezone(ZoneInfo(zone)).date()


def local_today(zone: str) -> date:
    """Today in the IANA zone `zone` (a patient's day)."""
    return local_date(utcnow(), zone=zone)


def utc_today() -> date:
    """Today in UTC: the day organization-wide views use unless asked for another."""
    return utcnow().date()


@contextmanager
def frozen_at(at: datetime) -> Iterator[None]:
    """Within the block, the service's clock reads `at` (tests: a date-dependent scenario)."""
    if at.tzinfo is None:
        raise ValueError("frozen_at needs a timezone-aware instant")
    global _now
    previous = _now
    _now = lambda: at.astimezone(UTC)  # noqa: E731
    try:
        yield
    finally:
        _now = previous
