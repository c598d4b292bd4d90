"""Reading back: the reading's read shape, the list, daily rollups and CGM metrics.

Invariants:
- only live readings are listed and measured; tombstones are seen only in the changes feed
  (`app/readings/feed.py`);
- a reading reads back as written: the fields it was sent with, canonical units, its original
  UTC offset; type fields it has no value for are left out;
- hot paths (the list, the changes feed, daily) return plain dicts in their schema's shape from
  plain rows, several times cheaper than ORM objects and models; a test holds them to the
  schemas. Everything else returns schemas;
- days are local days fixed when stored (`app/readings/bounds.py`); daily reads the rollups
  (`reading_days`), never a range of raw readings;
- every read is audited in the same session.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta, timezone
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.auth.principal import Principal
from app.devices.models import Device
from app.devices.schemas import DEFAULT_SAMPLING_MINUTES
from app.pagination import keyset_page
from app.patients.models import Patient
from app.readings import catalog
from app.readings.bounds import Bound, bound_conditions, check_order, day_range, local_days
from app.readings.glucose import GlucoseSample, glucose_metrics
from app.readings.models import Reading, ReadingDay
from app.readings.reads import TYPE_FIELDS
from app.readings.schemas import GlucoseMetricsRead

READINGS = cast("Table", Reading.__table__)

_audit_readings = audit_service.Trail("reading")
_audit_daily = audit_service.Trail("reading_daily")
_audit_metrics = audit_service.Trail("glucose_metrics")

MAX_DAILY_DAYS = 731
MAX_METRICS_DAYS = 90
DEFAULT_DAILY_DAYS = 30
DEFAULT_METRICS_DAYS = 14
CGM_CODE = catalog.GLUCOSE_LOINC_BY_SPECIMEN["interstitial"]

VALUE_FIELDS = tuple(name for name in TYPE_FIELDS if name != "end_at")
UNITS = {name: spec.unit for name, spec in catalog.READING_TYPES.items()}


@lru_cache(maxsize=64)
def _offset(minutes: int) -> timezone:
    return timezone(timedelta(minutes=minutes))


# The columns a read-back needs, in the order `to_read` unpacks them (plain rows are several
# times cheaper than ORM objects when a page holds 1,000 readings).
READ_COLUMNS = (
    READINGS.c.id,
    READINGS.c.type,
    READINGS.c.client_id,
    READINGS.c.effective_at,
    READINGS.c.utc_offset_minutes,
    READINGS.c.timezone,
    READINGS.c.local_date,
    READINGS.c.code,
    READINGS.c.source_kind,
    READINGS.c.device_id,
    READINGS.c.eligible,
    READINGS.c.received_at,
    READINGS.c.deleted_at,
    READINGS.c["values"],  # `.c.values` is the collection's method
    READINGS.c.end_at,
    READINGS.c.seq,
)


def to_read(row: Sequence[Any]) -> dict[str, Any]:
    """A reading as clients read it back (`ReadingRead`'s shape) from a row of READ_COLUMNS:
    the fields it was written with, canonical units, its original offset; type fields it has
    no value for are left out."""
    (
        reading_id, kind, client_id, effective_at, offset_minutes, zone, local_date, code,
        source_kind, device_id, eligible, received_at, deleted_at, values, end_at, _seq,
    ) = row  # fmt: skip
    offset = _offset(offset_minutes)
    source: dict[str, Any] = {"kind": source_kind}
    if device_id is not None:
        source["device_id"] = device_id
    item: dict[str, Any] = {
        "id": reading_id,
        "type": kind,
        "client_id": client_id,
        "effective_at": effective_at.astimezone(offset),
        "timezone": zone,
        "local_date": local_date,
        "code": code,
        "unit": UNITS[kind],
        "source": source,
        "eligible": eligible,
        "received_at": received_at,
        "deleted_at": deleted_at,
    }
    for name in VALUE_FIELDS:
        value = values.get(name)
        if value is not None:
            item[name] = value
    if end_at is not None:
        item["end_at"] = end_at.astimezone(offset)
    return item


async def list_readings(
    session: AsyncSession,
    *,
    principal: Principal,
    patient: Patient,
    reading_type: str | None,
    first: Bound | None,
    last: Bound | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Live readings newest first, keyset-paginated by (effective_at, id), and the next cursor.

    A hot path: dicts in `ReadingRead`'s shape, from plain rows; a page holds up to 1,000
    readings.
    """
    check_order(first, last, zone=patient.timezone)
    statement = select(*READ_COLUMNS).where(
        Reading.patient_id == patient.id,
        Reading.deleted_at.is_(None),
        *bound_conditions(first, last=last),
    )
    if reading_type is not None:
        statement = statement.where(Reading.type == reading_type)
    rows: list[Any]
    rows, next_cursor = await keyset_page(
        session,
        statement=statement,
        time_column=Reading.effective_at,
        id_column=Reading.id,
        limit=limit,
        cursor=cursor,
        plain_rows=True,
    )
    _audit_readings(session, principal=principal, patient=patient, action="read")
    return [to_read(r) for r in rows], next_cursor


# Built once: composing it cost about as much as running it.
_DAILY = (
    select(
        ReadingDay.local_date,
        ReadingDay.component,
        ReadingDay.count,
        ReadingDay.sum,
        ReadingDay.min,
        ReadingDay.max,
    )
    .where(
        ReadingDay.patient_id == bindparam("patient_id"),
        ReadingDay.type == bindparam("type"),
        ReadingDay.local_date >= bindparam("first"),
        ReadingDay.local_date <= bindparam("last"),
    )
    .order_by(ReadingDay.local_date)
)


async def daily(
    session: AsyncSession,
    *,
    principal: Principal,
    patient: Patient,
    reading_type: str,
    first: Bound | None,
    last: Bound | None,
) -> dict[str, Any]:
    """Per local day and numeric component: count, mean, min, max (from the rollups).

    A hot path: a dict in `DailyList`'s shape, from plain rows; a year of blood pressure is
    1,000+ items.
    """
    start, end = day_range(
        patient, first=first, last=last, default_days=DEFAULT_DAILY_DAYS, max_days=MAX_DAILY_DAYS
    )
    # Plain rows (no ORM objects): a year is 365+ rows per request on a hot path.
    connection = await session.connection()
    rows = await connection.execute(
        _DAILY, {"patient_id": patient.id, "type": reading_type, "first": start, "last": end}
    )
    spec = catalog.READING_TYPES[reading_type]
    order = {name: i for i, name in enumerate(catalog.NUMERIC_FIELDS[reading_type])}
    decimals = {f.name: f.decimals for f in spec.numeric}
    items: list[dict[str, Any]] = [
        {
            "date": day,
            "component": component,
            "count": count,
            # round(): a mean has no exact decimal ties worth the cost of half-up rounding.
            "mean": round(total / count, max(1, decimals[component])),
            "min": low,
            "max": high,
            # Stored values are at the field's resolution; round() only removes float noise.
            "sum": round(total, decimals[component]),
        }
        for day, component, count, total, low, high in rows
    ]
    items.sort(key=lambda i: (i["date"], order[i["component"]]))
    _audit_daily(session, principal=principal, patient=patient, action="read")
    return {"type": reading_type, "unit": spec.unit, "items": items}  # DailyList's shape


async def glucose_metrics_for(
    session: AsyncSession,
    *,
    principal: Principal,
    patient: Patient,
    first: Bound | None,
    last: Bound | None,
) -> GlucoseMetricsRead:
    """CGM consensus metrics over local days (interstitial glucose only; default 14 days).

    Each reading counts for its device's sampling interval of wear; a reading from no device,
    or from one that declares none, for the default (docs/rules.md "CGM").
    """
    start, end = day_range(
        patient,
        first=first,
        last=last,
        default_days=DEFAULT_METRICS_DAYS,
        max_days=MAX_METRICS_DAYS,
    )
    rows = await session.execute(
        select(Reading.effective_at, Reading.local_date, Reading.values, Device.sampling_minutes)
        .outerjoin(Device, Device.id == Reading.device_id)
        .where(
            Reading.patient_id == patient.id,
            Reading.type == "glucose",
            Reading.code == CGM_CODE,
            Reading.deleted_at.is_(None),
            *local_days(start, last=end),
        )
    )
    samples = [
        GlucoseSample(at, day, float(values["value"]), minutes or DEFAULT_SAMPLING_MINUTES)
        for at, day, values, minutes in rows
    ]
    metrics = glucose_metrics(samples, days=(end - start).days + 1)
    _audit_metrics(session, principal=principal, patient=patient, action="read")
    return GlucoseMetricsRead(
        from_date=start,
        to_date=end,
        mean_mg_dl=metrics.mean_mg_dl,
        gmi_percent=metrics.gmi_percent,
        cv_percent=metrics.cv_percent,
        tir_percent=metrics.tir_percent,
        tbr_70_percent=metrics.tbr_70_percent,
        tbr_54_percent=metrics.tbr_54_percent,
        tar_180_percent=metrics.tar_180_percent,
        tar_250_percent=metrics.tar_250_percent,
        days_with_data=metrics.days_with_data,
        readings=metrics.readings,
        wear_percent=metrics.wear_percent,
        sufficient=metrics.sufficient,
    )
