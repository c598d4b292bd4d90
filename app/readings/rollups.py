"""Daily rollups (`reading_days`): count, sum, min and max per type, component and local day.

Invariants:
- Rollups change in the same transaction as the readings: added to on insert (an upsert that
  adds count and sum and widens min and max), recomputed from the live readings for the one
  affected day on delete. So at every commit a day's row equals the aggregate of its live
  readings (a property test holds this for random inserts and deletes).
- A reading counts for its local day, fixed when stored (`local_date`, in the patient's zone).
- Rows are written sorted by key, so two transactions touching the same days lock them in one
  order.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Table, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import dialect_insert
from app.readings import catalog
from app.readings.bounds import local_days
from app.readings.models import Reading, ReadingDay

DAYS = cast("Table", ReadingDay.__table__)

DayKey = tuple[str, str, date]  # (type, component, local day)


@dataclass(slots=True)
class _Day:
    count: int = 0
    sum: float = 0.0
    min: float = math.inf
    max: float = -math.inf

    def add(self, value: float) -> None:
        self.count += 1
        self.sum += value
        self.min = min(self.min, value)
        self.max = max(self.max, value)


def _aggregate(rows: Sequence[tuple[str, date, dict[str, Any]]]) -> dict[DayKey, _Day]:
    """Each numeric component of (type, local day, values) rows, aggregated per day."""
    days: dict[DayKey, _Day] = defaultdict(_Day)
    for reading_type, local_date, values in rows:
        for component in catalog.NUMERIC_FIELDS[reading_type]:
            value = values.get(component)
            if isinstance(value, int | float):
                days[(reading_type, component, local_date)].add(float(value))
    return days


# Built once per dialect: building the upsert cost about as much as running it.
@lru_cache
def _add_statement(dialect: str) -> Any:
    insert = dialect_insert(dialect)(DAYS)
    # PostgreSQL spells two-argument min/max LEAST/GREATEST; SQLite's scalar min/max do it.
    smaller = func.least if dialect == "postgresql" else func.min
    larger = func.greatest if dialect == "postgresql" else func.max
    return insert.on_conflict_do_update(
        index_elements=["patient_id", "type", "component", "local_date"],
        set_={
            "count": DAYS.c.count + insert.excluded.count,
            "sum": DAYS.c.sum + insert.excluded.sum,
            "min": smaller(DAYS.c.min, insert.excluded.min),
            "max": larger(DAYS.c.max, insert.excluded.max),
        },
    )


async def _add_days(session: AsyncSession, patient_id: uuid.UUID, days: dict[DayKey, _Day]) -> None:
    if not days:
        return
    await session.execute(
        _add_statement(session.get_bind().dialect.name),
        [
            {
                "patient_id": patient_id,
                "type": reading_type,
                "component": component,
                "local_date": local_date,
                "count": day.count,
                "sum": day.sum,
                "min": day.min,
                "max": day.max,
            }
            # Sorted so two transactions touching the same days would lock them in one order.
            for (reading_type, component, local_date), day in sorted(days.items())
        ],
    )


async def add(
    session: AsyncSession, *, patient_id: uuid.UUID, rows: Sequence[dict[str, Any]]
) -> None:
    """Add newly stored readings (rows with `type`, `local_date`, `values`) to their days."""
    await _add_days(
        session, patient_id, _aggregate([(r["type"], r["local_date"], r["values"]) for r in rows])
    )


async def recompute_day(
    session: AsyncSession, *, patient_id: uuid.UUID, reading_type: str, local_date: date
) -> None:
    """Rebuild one type's rollups for one local day from its live readings."""
    rows = await session.execute(
        select(Reading.type, Reading.local_date, Reading.values).where(
            Reading.patient_id == patient_id,
            Reading.type == reading_type,
            Reading.deleted_at.is_(None),
            *local_days(local_date, last=local_date),
        )
    )
    await session.execute(
        delete(ReadingDay)
        .where(
            ReadingDay.patient_id == patient_id,
            ReadingDay.type == reading_type,
            ReadingDay.local_date == local_date,
        )
        .execution_options(synchronize_session=False)
    )
    await _add_days(session, patient_id, _aggregate([(t, d, v) for t, d, v in rows]))
