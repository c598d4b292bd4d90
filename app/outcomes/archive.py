"""Reports as they are stored and as the rules read them back.

A report's measures are frozen as JSON (`frozen`) when it is prepared; the rules read them back
as `ReportFacts` (`facts`), so a baseline report's values are the period's baselines without
recomputing anything. Invariants: what is stored is exactly what the report showed (values,
units, times, counts, the ids used); reading it back never consults current data.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.outcomes.calendar import ReportFacts
from app.outcomes.models import Report
from app.outcomes.observations import Value
from app.outcomes.snapshot import MeasureSnapshot, Snapshot


def _measure_json(m: MeasureSnapshot) -> dict[str, Any]:
    item: dict[str, Any] = {"measure": m.rule.name, "unit": m.rule.unit, "source_ids": []}
    if m.value is not None:
        v = m.value
        item |= {
            "value": v.value,
            "at": v.at.isoformat(),
            "n": v.n,
            "source_ids": [str(i) for i in v.ids],
        }
        if v.secondary is not None:
            item["diastolic"] = v.secondary
        if v.bmi is not None:
            item["bmi"] = v.bmi
            item["height_id"] = str(v.height_id)
        if v.components:
            item["components"] = dict(v.components)
    if m.judgement is not None:
        item["status"] = m.judgement
    return item


def frozen(snapshot: Snapshot) -> list[dict[str, Any]]:
    """The snapshot's measures as stored in `reports.measures`."""
    return [_measure_json(m) for m in snapshot.measures]


def _value(item: dict[str, Any]) -> Value | None:
    if item.get("value") is None:
        return None
    height = item.get("height_id")
    return Value(
        value=float(item["value"]),
        at=datetime.fromisoformat(item["at"]),
        n=int(item["n"]),
        ids=tuple(uuid.UUID(i) for i in item["source_ids"]),
        secondary=item.get("diastolic"),
        components=dict(item.get("components") or {}),
        bmi=item.get("bmi"),
        height_id=uuid.UUID(height) if height else None,
    )


def facts(report: Report) -> ReportFacts:
    """A stored report as the rules read it."""
    return ReportFacts(
        id=report.id,
        type=report.type,  # type: ignore[arg-type]  # one of REPORT_TYPES, written by prepare
        report_date=report.report_date,
        complete=report.complete,
        attained=report.attained,
        values={item["measure"]: _value(item) for item in report.measures},
    )


async def reports_of(
    session: AsyncSession, *, enrollment_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ReportFacts]]:
    """The stored reports of each enrollment, oldest report date first."""
    found: dict[uuid.UUID, list[ReportFacts]] = defaultdict(list)
    if not enrollment_ids:
        return found
    rows = await session.scalars(
        select(Report)
        .where(Report.enrollment_id.in_(enrollment_ids))
        .order_by(Report.report_date, Report.created_at)
    )
    for report in rows:
        found[report.enrollment_id].append(facts(report))
    return found
