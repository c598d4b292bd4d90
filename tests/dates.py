"""Dates for tests that enroll patients without moving the clock: relative to today, so a test
passes on any day (enrollment start dates must lie near today)."""

from __future__ import annotations

from datetime import timedelta

from app.clock import utc_today

# A care period started a month ago: active, its baseline window open.
STARTED_DAYS_AGO = 30


def start_day(days_after: int = 0) -> str:
    """An enrollment start date, `days_after` the standard one (30 days ago)."""
    return (utc_today() - timedelta(days=STARTED_DAYS_AGO - days_after)).isoformat()
