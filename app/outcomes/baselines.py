"""Transitional: the cache of closed baselines is being removed (reports and the data rules
replace it); readings still drop its rows until their calls go."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from app.outcomes.models import OutcomeBaseline

CACHED_SOURCES = frozenset({"blood_pressure", "weight"})


async def invalidate(session: AsyncSession, *, patient_id: uuid.UUID, days: Iterable[date]) -> None:
    """Drop the patient's kept baselines whose window reaches any of `days`."""
    earliest = min(days, default=None)
    if earliest is None:
        return
    await session.execute(
        delete(OutcomeBaseline).where(
            OutcomeBaseline.patient_id == patient_id, OutcomeBaseline.window_last >= earliest
        )
    )
