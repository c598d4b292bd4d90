"""The clock: one "now" for the whole service, local days by zone, and a frozen clock for tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from app import clock

# 03:30 UTC on 2 March: still 1 March in New York (UTC-5), already 2 March in Tokyo (UTC+9).
INSTANT = datetime(2027, 3, 2, 3, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("America/New_York", date(2027, 3, 1)),
        ("Asia/Tokyo", date(2027, 3, 2)),
        ("UTC", date(2027, 3, 2)),
        ("Pacific/Kiritimati", date(2027, 3, 2)),  # UTC+14
        ("Pacific/Pago_Pago", date(2027, 3, 1)),  # UTC-11
    ],
)
def test_local_date_is_the_day_in_that_zone(zone: str, expected: date) -> None:
    assert clock.local_date(INSTANT, zone=zone) == expected


def test_frozen_clock_moves_every_reader_and_is_restored() -> None:
    before = clock.utcnow()
    with clock.frozen_at(INSTANT.astimezone(timezone(timedelta(hours=-5)))):
        assert clock.utcnow() == INSTANT
        assert clock.utcnow().tzinfo is UTC
        assert clock.local_today("America/New_York") == date(2027, 3, 1)
        assert clock.local_today("Asia/Tokyo") == date(2027, 3, 2)
        assert clock.utc_today() == date(2027, 3, 2)
    assert clock.utcnow() >= before
    assert abs(clock.utcnow() - datetime.now(UTC)) < timedelta(seconds=5)


def test_frozen_clock_needs_an_aware_instant() -> None:
    with pytest.raises(ValueError, match="timezone-aware"), clock.frozen_at(datetime(2027, 1, 1)):
        pass  # pragma: no cover
