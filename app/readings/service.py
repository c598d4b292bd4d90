"""Readings: ingest exactly once, read back, follow changes, daily rollups, CGM metrics.

Invariants:
- Repeats are decided by the database: a unique index on (patient, client_id) and a partial one
  on (patient, identity hash) for readings without client_id. Rows are written with
  INSERT ... ON CONFLICT DO NOTHING RETURNING id, so of two concurrent identical requests each
  reading is stored once and the other request reports it as a duplicate with the stored id;
  nobody gets a unique-violation 500. A tombstoned reading still holds its keys: an offline
  queue resending it cannot bring it back.
- Every write of a patient's readings first takes the patient's feed row
  (`reading_feeds`, INSERT ... ON CONFLICT DO UPDATE last_seq = last_seq + n): that both
  allocates change sequence numbers and holds the row lock until commit, so a patient's writers
  commit in sequence order. A follower reading `seq > cursor` therefore never skips a change
  committed later with a smaller number (gaps from skipped duplicates are harmless). SQLite
  already serialises writers (BEGIN IMMEDIATE).
- A delete tombstones the row and gives it a new sequence number: the feed shows it again as
  op "delete", and a follower from any cursor ends with exactly the live set.
- Daily rollups (`reading_days`) change in the same transaction as the readings: added to on
  insert, recomputed for the one affected day on delete.
- Alerts open in the same transaction, only for readings stored now (a duplicate opens none).
- Every read and write is audited in the same session.
- Days are local days in the reading's IANA zone (the body's `timezone`, else the patient's),
  fixed when stored: a reading at 23:30 in New York counts for that New York day.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache
from operator import itemgetter
from typing import Any, cast
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import Table, and_, bindparam, delete, func, insert, or_, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from app.alerts import service as alerts_service
from app.audit import service as audit_service
from app.auth.principal import Principal
from app.clock import local_today, utcnow
from app.db import dialect_insert, new_id
from app.devices import service as devices_service
from app.devices.models import Device
from app.errors import Conflict, FieldError, Invalid, NotFound
from app.outcomes import baselines
from app.pagination import decode_cursor, encode_cursor, invalid_cursor, keyset_page
from app.patients.models import Patient
from app.readings import units
from app.readings.glucose import GlucoseSample, glucose_metrics
from app.readings.models import Reading, ReadingDay, ReadingFeed
from app.readings.schemas import (
    TYPE_FIELDS,
    BatchItemResult,
    GlucoseMetricsRead,
    IngestResult,
    InvalidReading,
    ReadingModel,
    StepsIn,
)

READINGS = cast("Table", Reading.__table__)
DAYS = cast("Table", ReadingDay.__table__)
FEEDS = cast("Table", ReadingFeed.__table__)

FUTURE_TOLERANCE = timedelta(minutes=10)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
# A step interval is at most one local day, which lasts 25 hours when clocks fall back.
MAX_STEPS_INTERVAL = timedelta(hours=25)
MAX_DAILY_DAYS = 731
MAX_METRICS_DAYS = 90
DEFAULT_DAILY_DAYS = 30
DEFAULT_METRICS_DAYS = 14
CGM_CODE = units.GLUCOSE_LOINC_BY_SPECIMEN["interstitial"]
# UTC offsets in use span -12:00..+14:00: a local day lies within a day either side of the
# same UTC date, which lets date filters use the (patient, type, effective_at) index.
_DAY_MARGIN = timedelta(days=1)

# domain.md "BP categories" and "Glucose": thresholds that open an alert.
BP_CRISIS_SYSTOLIC = 180
BP_CRISIS_DIASTOLIC = 120
GLUCOSE_LEVEL_2 = 54.0
GLUCOSE_LEVEL_1 = 70.0


# --- ingest ------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Candidate:
    index: int
    row: dict[str, Any]
    key: tuple[str, str]  # ("client", uuid) or ("hash", identity hash)
    values_json: str


def _problem(index: int, path: str, message: str) -> BatchItemResult:
    return BatchItemResult(
        index=index, status="invalid", errors=[FieldError(path=path, message=message)]
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def values_json(values: dict[str, Any]) -> str:
    """Canonical JSON of a reading's values: sorted keys, no spaces (stored and hashed)."""
    return orjson.dumps(values, option=orjson.OPT_SORT_KEYS).decode()


def identity_hash(
    *,
    reading_type: str,
    effective_at: datetime,
    end_at: datetime | None,
    values: str,
    source_kind: str,
    device_id: uuid.UUID | None,
) -> str:
    """What makes two readings without client_id the same one: type, time, values and source.

    Times are exact UTC microseconds and `values` the canonical JSON of canonical values (ints
    for whole-number fields, rounded floats otherwise), so 5.5 mmol/L at 09:00-05:00 and
    99.1 mg/dL at 14:00Z are the same reading; 128 bits of SHA-256 are ample for one patient's
    readings.
    """
    end = str((end_at - _EPOCH) // _MICROSECOND) if end_at else ""
    material = "|".join(
        (
            reading_type,
            str((effective_at - _EPOCH) // _MICROSECOND),
            end,
            values,
            source_kind,
            str(device_id) if device_id else "",
        )
    )
    return hashlib.sha256(material.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class _Source:
    """Where a batch's readings come from, resolved once per distinct source."""

    kind: str
    device_id: uuid.UUID | None = None
    device_kind: str | None = None
    # domain.md data rules: BP counts only from a validated cuff transmitting automatically and
    # verifiably, i.e. sent with that device's own credentials. Manual (or relayed) BP is kept
    # and shown, but not eligible.
    bp_eligible: bool = False


class _Provenance:
    """Resolves each item's source and device: a device token is always its own device."""

    def __init__(self, principal: Principal, devices: dict[uuid.UUID, Device]) -> None:
        self.devices = devices
        self.own: _Source | None = None
        if principal.role == "device":
            device = devices[principal.id]
            self.own = _Source(
                "device",
                device.id,
                device.kind,
                bp_eligible=device.kind == "bp_cuff" and device.validated,
            )
        self.declared: dict[tuple[str, uuid.UUID | None], _Source] = {}

    def resolve(self, model: ReadingModel) -> _Source | FieldError:
        if self.own is not None:
            return self.own
        source = model.source
        if source is None:
            return _MANUAL
        if source.device_id is None and source.kind == "device":
            return FieldError(
                path="source.device_id",
                message="source.device_id is required when source.kind is device",
            )
        key = (source.kind, source.device_id)
        if key not in self.declared:
            device = self.devices.get(source.device_id) if source.device_id else None
            if source.device_id is not None and device is None:
                return FieldError(
                    path="source.device_id",
                    message=f"device {source.device_id} is not one of the patient's registered,"
                    " unrevoked devices",
                )
            self.declared[key] = _Source(
                source.kind, source.device_id, device.kind if device else None
            )
        return self.declared[key]


_MANUAL = _Source("manual")


async def _devices(
    session: AsyncSession,
    principal: Principal,
    patient: Patient,
    items: Sequence[ReadingModel | InvalidReading],
) -> dict[uuid.UUID, Device]:
    if principal.role == "device":
        device = await session.get(Device, principal.id)
        assert device is not None  # get_principal checked it exists, unrevoked, this patient's
        return {device.id: device}
    wanted = {
        item.source.device_id
        for item in items
        if not isinstance(item, InvalidReading) and item.source and item.source.device_id
    }
    found: dict[uuid.UUID, Device] = {}
    for device_id in wanted:
        device = await devices_service.get_patient_device(
            session, patient_id=patient.id, device_id=device_id
        )
        if device is not None:
            found[device_id] = device
    return found


@dataclass(frozen=True, slots=True)
class _Batch:
    """What every item of one request shares."""

    patient_id: uuid.UUID
    patient_timezone: str
    provenance: _Provenance
    now: datetime


def _prepare(
    index: int, item: ReadingModel | InvalidReading, batch: _Batch
) -> _Candidate | BatchItemResult:
    if isinstance(item, InvalidReading):
        return BatchItemResult(index=index, status="invalid", errors=item.errors)
    # The model's fields as they are: normalize ignores the envelope and treats None as absent.
    normalized = units.normalize(item.type, vars(item))
    if not normalized.ok:
        return BatchItemResult(
            index=index,
            status="invalid",
            errors=[FieldError(path=p.path, message=p.message) for p in normalized.problems],
        )
    # Compared, hashed and stored in UTC: converted once, since every operation on the parsed
    # offset asks it for utcoffset() again.
    offset = item.effective_at.utcoffset() or timedelta(0)
    effective_at = item.effective_at.astimezone(UTC)
    latest = batch.now + FUTURE_TOLERANCE
    if effective_at > latest:
        return _problem(
            index,
            "effective_at",
            f"effective_at {item.effective_at.isoformat()} is more than 10 minutes in the future",
        )
    if effective_at < EARLIEST:
        return _problem(index, "effective_at", "effective_at must be in 2000 or later")
    end_at = item.end_at.astimezone(UTC) if isinstance(item, StepsIn) else None
    if end_at is not None:
        if not effective_at < end_at <= effective_at + MAX_STEPS_INTERVAL:
            return _problem(
                index,
                "end_at",
                "end_at must be after effective_at and at most 25 hours later (one local day)",
            )
        if end_at > latest:
            return _problem(index, "end_at", "end_at is more than 10 minutes in the future")

    source = batch.provenance.resolve(item)
    if isinstance(source, FieldError):
        return BatchItemResult(index=index, status="invalid", errors=[source])

    values = normalized.values
    if item.type == "glucose" and "specimen" not in values and source.device_kind == "cgm":
        # A CGM sensor measures interstitial fluid by construction.
        values["specimen"] = "interstitial"
    eligible = item.type != "blood_pressure" or source.bp_eligible
    zone = item.timezone or batch.patient_timezone
    encoded = values_json(values)
    digest = identity_hash(
        reading_type=item.type,
        effective_at=effective_at,
        end_at=end_at,
        values=encoded,
        source_kind=source.kind,
        device_id=source.device_id,
    )
    row = {
        "patient_id": batch.patient_id,
        "type": item.type,
        "code": units.loinc_code(item.type, values),
        "effective_at": effective_at,
        "utc_offset_minutes": int(offset.total_seconds() // 60),
        "timezone": zone,
        "local_date": effective_at.astimezone(ZoneInfo(zone)).date(),
        "end_at": end_at,
        "values": values,
        "source_kind": source.kind,
        "device_id": source.device_id,
        "eligible": eligible,
        "client_id": item.client_id,
        "identity_hash": digest,
        "received_at": batch.now,
        "deleted_at": None,
    }
    key = ("client", str(item.client_id)) if item.client_id else ("hash", digest)
    return _Candidate(index=index, row=row, key=key, values_json=encoded)


# PostgreSQL: one INSERT ... SELECT FROM unnest(rows), the batch as one array of
# `reading_batch_row` records (migration 9b3e52c1d7a4; these fields in this order): one
# parameter instead of one per value (5,000+ for a CGM day), and asyncpg checks one element per
# reading instead of one per column and reading. What is the same for the whole batch is a
# scalar: the patient, the receipt time and the first sequence number (the rest follow in
# order); ids are drawn by the database.
PG_BATCH_ROW_FIELDS = (
    "type",
    "code",
    "effective_at",
    "utc_offset_minutes",
    "timezone",
    "local_date",
    "end_at",
    "source_kind",
    "device_id",
    "eligible",
    "client_id",
    "identity_hash",
    "values",  # canonical JSON text
)
_pg_row_head = itemgetter(*PG_BATCH_ROW_FIELDS[:-1])
_PG_COLUMNS = ", ".join(f'"{name}"' for name in PG_BATCH_ROW_FIELDS)
_PG_SELECTED = _PG_COLUMNS.replace('"values"', 'CAST("values" AS JSONB)')
# Built from the constant field list above, never from input.
_PG_INSERT = text(
    f'INSERT INTO readings ("id", "patient_id", "seq", "received_at", {_PG_COLUMNS}) '  # noqa: S608
    "SELECT gen_random_uuid(), CAST(:patient_id AS uuid), "
    "CAST(:first_seq AS bigint) + t.position - 1, CAST(:received_at AS timestamptz), "
    f"{_PG_SELECTED} FROM unnest(CAST(:rows AS reading_batch_row[])) "
    f"WITH ORDINALITY AS t({_PG_COLUMNS}, position) "
    "ON CONFLICT DO NOTHING RETURNING seq, id"
)


async def _insert_new(session: AsyncSession, candidates: list[_Candidate]) -> dict[int, uuid.UUID]:
    """Insert the rows that are not repeats (unique indexes decide); the new ids by seq."""
    if session.get_bind().dialect.name == "postgresql":
        first = candidates[0].row
        params = {
            "rows": [(*_pg_row_head(c.row), c.values_json) for c in candidates],
            "patient_id": first["patient_id"],
            "received_at": first["received_at"],
            "first_seq": first["seq"],
        }
        result = await session.execute(_PG_INSERT, params)
    else:
        statement = sqlite.insert(READINGS).on_conflict_do_nothing()
        result = await session.execute(
            statement.returning(READINGS.c.seq, READINGS.c.id),
            [{**c.row, "id": new_id()} for c in candidates],
        )
    return {row[0]: row[1] for row in result}  # seq -> id


async def _allocate_seq(session: AsyncSession, patient_id: uuid.UUID, count: int) -> int:
    """Reserve `count` sequence numbers; returns the last. Holds the patient's feed row lock."""
    statement = _allocate_statement(session.get_bind().dialect.name)
    result = await session.execute(statement, {"patient_id": patient_id, "last_seq": count})
    last: int = result.scalar_one()
    return last


# Upserts are built once per dialect: building them cost about as much as running them.
@lru_cache
def _allocate_statement(dialect: str) -> Any:
    insert = dialect_insert(dialect)(FEEDS)
    return insert.on_conflict_do_update(
        index_elements=["patient_id"],
        set_={"last_seq": FEEDS.c.last_seq + insert.excluded.last_seq},
    ).returning(FEEDS.c.last_seq)


@lru_cache
def _add_to_days_statement(dialect: str) -> Any:
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


async def ingest(
    session: AsyncSession,
    *,
    principal: Principal,
    patient: Patient,
    readings: Sequence[ReadingModel | InvalidReading],
) -> list[BatchItemResult]:
    """Store the valid readings together; one result per item, in order."""
    devices = await _devices(session, principal, patient, readings)
    now = utcnow()
    provenance = _Provenance(principal, devices)
    batch = _Batch(patient.id, patient.timezone, provenance, now)
    results: list[BatchItemResult | None] = [None] * len(readings)
    candidates: list[_Candidate] = []
    first_by_key: dict[tuple[str, str], _Candidate] = {}
    repeats: list[tuple[int, _Candidate]] = []  # repeats inside this batch
    for index, item in enumerate(readings):
        prepared = _prepare(index, item, batch)
        if isinstance(prepared, BatchItemResult):
            results[index] = prepared
        elif prepared.key in first_by_key:
            repeats.append((index, first_by_key[prepared.key]))
        else:
            first_by_key[prepared.key] = prepared
            candidates.append(prepared)

    if candidates:
        last = await _allocate_seq(session, patient.id, len(candidates))
        for seq, candidate in enumerate(candidates, start=last - len(candidates) + 1):
            candidate.row["seq"] = seq
        new_ids = await _insert_new(session, candidates)  # by seq; the rest were repeats
        created = [c for c in candidates if c.row["seq"] in new_ids]
        for candidate in created:
            candidate.row["id"] = new_ids[candidate.row["seq"]]
        existing = await _existing_ids(
            session, patient.id, [c for c in candidates if c.row["seq"] not in new_ids]
        )
        for candidate in candidates:
            if candidate.row["seq"] in new_ids:
                results[candidate.index] = BatchItemResult(
                    index=candidate.index, status="created", id=candidate.row["id"]
                )
            else:
                results[candidate.index] = BatchItemResult(
                    index=candidate.index, status="duplicate", id=existing[candidate.key]
                )
        if created:
            await _add_to_days(session, patient.id, [c.row for c in created])
            # A late reading inside a closed baseline window changes that baseline.
            await baselines.invalidate(
                session,
                patient.id,
                [
                    c.row["local_date"]
                    for c in created
                    if c.row["eligible"] and c.row["type"] in baselines.CACHED_SOURCES
                ],
            )
            await alerts_service.open_alerts(
                session,
                principal=principal,
                patient=patient,
                specs=[s for c in created for s in alert_specs(c.row)],
            )
            audit_service.record_patient(
                session,
                principal=principal,
                patient=patient,
                action="create",
                resource_type="reading",
                resource_id=created[0].row["id"] if len(created) == 1 else None,
            )
    for index, first in repeats:
        first_result = results[first.index]
        assert first_result is not None
        results[index] = BatchItemResult(index=index, status="duplicate", id=first_result.id)
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


async def ingest_one(
    session: AsyncSession,
    *,
    principal: Principal,
    patient: Patient,
    reading: ReadingModel | InvalidReading,
) -> IngestResult:
    """Store one reading; a repeat answers its stored id; invalid values are a 422."""
    (result,) = await ingest(session, principal=principal, patient=patient, readings=[reading])
    if result.status == "invalid":
        errors = result.errors or []
        summary = "; ".join(f"{e.path}: {e.message}" for e in errors[:3])
        raise Invalid(f"Invalid reading: {summary}", fields=errors)
    assert result.id is not None
    return IngestResult(id=result.id, status=result.status)


async def _existing_ids(
    session: AsyncSession, patient_id: uuid.UUID, missing: Sequence[_Candidate]
) -> dict[tuple[str, str], uuid.UUID]:
    if not missing:
        return {}
    client_ids = [c.row["client_id"] for c in missing if c.row["client_id"] is not None]
    hashes = [c.row["identity_hash"] for c in missing if c.row["client_id"] is None]
    conditions: list[ColumnElement[bool]] = []
    if client_ids:
        conditions.append(Reading.client_id.in_(client_ids))
    if hashes:
        conditions.append(and_(Reading.client_id.is_(None), Reading.identity_hash.in_(hashes)))
    rows = await session.execute(
        select(Reading.id, Reading.client_id, Reading.identity_hash).where(
            Reading.patient_id == patient_id, or_(*conditions)
        )
    )
    found: dict[tuple[str, str], uuid.UUID] = {}
    for reading_id, client_id, digest in rows:
        key = ("client", str(client_id)) if client_id else ("hash", digest)
        found[key] = reading_id
    if any(c.key not in found for c in missing):
        # Only possible if a row conflicted on something other than its repeat keys.
        raise Conflict("A concurrent write conflicted with this one; retry the request.")
    return found


def alert_specs(row: dict[str, Any]) -> list[alerts_service.AlertSpec]:
    """The alerts a newly stored reading opens (domain.md thresholds)."""
    values = row["values"]
    if row["type"] == "blood_pressure":
        systolic, diastolic = values["systolic"], values["diastolic"]
        if systolic >= BP_CRISIS_SYSTOLIC or diastolic >= BP_CRISIS_DIASTOLIC:
            return [
                alerts_service.AlertSpec(
                    kind="blood_pressure_crisis",
                    severity="urgent",
                    source_type="reading",
                    source_id=row["id"],
                    details={"systolic": systolic, "diastolic": diastolic},
                )
            ]
    elif row["type"] == "glucose":
        value = values["value"]
        if value < GLUCOSE_LEVEL_2:
            return [
                alerts_service.AlertSpec(
                    kind="hypoglycemia_level_2",
                    severity="urgent",
                    source_type="reading",
                    source_id=row["id"],
                    details={"value": value, "unit": "mg/dL"},
                )
            ]
        if value < GLUCOSE_LEVEL_1:
            return [
                alerts_service.AlertSpec(
                    kind="hypoglycemia_level_1",
                    severity="warning",
                    source_type="reading",
                    source_id=row["id"],
                    details={"value": value, "unit": "mg/dL"},
                )
            ]
    return []


# --- daily rollups -----------------------------------------------------------------------------


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


def _aggregate(
    rows: Sequence[tuple[str, date, dict[str, Any]]],
) -> dict[tuple[str, str, date], _Day]:
    days: dict[tuple[str, str, date], _Day] = defaultdict(_Day)
    for reading_type, local_date, values in rows:
        for component in units.NUMERIC_FIELDS[reading_type]:
            value = values.get(component)
            if isinstance(value, int | float):
                days[(reading_type, component, local_date)].add(float(value))
    return days


async def _add_to_days(
    session: AsyncSession, patient_id: uuid.UUID, rows: Sequence[dict[str, Any]]
) -> None:
    days = _aggregate([(r["type"], r["local_date"], r["values"]) for r in rows])
    await session.execute(
        _add_to_days_statement(session.get_bind().dialect.name),
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


def _local_day_bounds(first: date, last: date) -> list[ColumnElement[bool]]:
    """Conditions selecting readings on local days first..last, using the time index."""
    low = datetime.combine(first, time(), UTC) - _DAY_MARGIN
    high = datetime.combine(last + timedelta(days=1), time(), UTC) + _DAY_MARGIN
    return [
        Reading.effective_at >= low,
        Reading.effective_at < high,
        Reading.local_date >= first,
        Reading.local_date <= last,
    ]


async def _recompute_day(
    session: AsyncSession, patient_id: uuid.UUID, reading_type: str, local_date: date
) -> None:
    rows = await session.execute(
        select(Reading.type, Reading.local_date, Reading.values).where(
            Reading.patient_id == patient_id,
            Reading.type == reading_type,
            Reading.deleted_at.is_(None),
            *_local_day_bounds(local_date, local_date),
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
    days = _aggregate([(t, d, v) for t, d, v in rows])
    if days:
        await _add_to_days_exact(session, patient_id, days)


async def _add_to_days_exact(
    session: AsyncSession, patient_id: uuid.UUID, days: dict[tuple[str, str, date], _Day]
) -> None:
    await session.execute(
        insert(DAYS),
        [
            {
                "patient_id": patient_id,
                "type": t,
                "component": c,
                "local_date": d,
                "count": day.count,
                "sum": day.sum,
                "min": day.min,
                "max": day.max,
            }
            for (t, c, d), day in days.items()
        ],
    )


# --- delete ------------------------------------------------------------------------------------


async def delete_reading(
    session: AsyncSession, *, principal: Principal, patient: Patient, reading_id: uuid.UUID
) -> None:
    """Tombstone a reading (idempotent); it reappears in the feed as a delete."""
    seq = await _allocate_seq(session, patient.id, 1)
    row = (
        await session.execute(
            update(Reading)
            .where(
                Reading.id == reading_id,
                Reading.patient_id == patient.id,
                Reading.deleted_at.is_(None),
            )
            .values(deleted_at=utcnow(), seq=seq)
            .returning(Reading.type, Reading.local_date)
            .execution_options(synchronize_session=False)
        )
    ).first()
    if row is None:
        exists = await session.scalar(
            select(Reading.id).where(Reading.id == reading_id, Reading.patient_id == patient.id)
        )
        if exists is None:
            raise NotFound("No such reading.")
        return
    await _recompute_day(session, patient.id, row[0], row[1])
    if row[0] in baselines.CACHED_SOURCES:
        await baselines.invalidate(session, patient.id, [row[1]])
    audit_service.record_patient(
        session,
        principal=principal,
        patient=patient,
        action="delete",
        resource_type="reading",
        resource_id=reading_id,
    )


# --- read back ---------------------------------------------------------------------------------


VALUE_FIELDS = tuple(name for name in TYPE_FIELDS if name != "end_at")
UNITS = {name: spec.unit for name, spec in units.READING_TYPES.items()}


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


Bound = date | datetime


def parse_bound(raw: str | None, name: str) -> Bound | None:
    """A `from`/`to` query value: a date (local day) or a timestamp with offset."""
    if raw is None:
        return None
    problem = f"{name} must be a date (YYYY-MM-DD) or a timestamp with an offset"
    if len(raw) == 10:
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    else:
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    raise Invalid(
        f"Invalid query: {problem}.", fields=[FieldError(path=f"query.{name}", message=problem)]
    )


def _bound_conditions(first: Bound | None, last: Bound | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if isinstance(first, datetime):
        conditions.append(Reading.effective_at >= first)
    elif isinstance(first, date):
        conditions += [
            Reading.local_date >= first,
            Reading.effective_at >= datetime.combine(first, time(), UTC) - _DAY_MARGIN,
        ]
    if isinstance(last, datetime):
        conditions.append(Reading.effective_at <= last)
    elif isinstance(last, date):
        conditions += [
            Reading.local_date <= last,
            Reading.effective_at
            < datetime.combine(last + timedelta(days=1), time(), UTC) + _DAY_MARGIN,
        ]
    return conditions


def _audit_read(session: AsyncSession, principal: Principal, patient: Patient, what: str) -> None:
    audit_service.record_patient(
        session,
        principal=principal,
        patient=patient,
        action="read",
        resource_type=what,
    )


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
    """Live readings newest first, keyset-paginated by (effective_at, id)."""
    statement = select(*READ_COLUMNS).where(
        Reading.patient_id == patient.id,
        Reading.deleted_at.is_(None),
        *_bound_conditions(first, last),
    )
    if reading_type is not None:
        statement = statement.where(Reading.type == reading_type)
    rows: list[Any]
    rows, next_cursor = await keyset_page(
        session,
        statement,
        time_column=Reading.effective_at,
        id_column=Reading.id,
        limit=limit,
        cursor=cursor,
        plain_rows=True,
    )
    _audit_read(session, principal, patient, "reading")
    return [to_read(r) for r in rows], next_cursor


def _decode_seq(cursor: str | None) -> int:
    if cursor is None:
        return 0
    values = decode_cursor(cursor)
    try:
        (seq,) = values
        return int(seq)
    except ValueError:
        raise invalid_cursor() from None


async def changes(
    session: AsyncSession,
    *,
    principal: Principal,
    patient: Patient,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """Changes after `cursor` in sequence (commit) order; tombstones as op "delete"
    (`ChangesPage`'s shape)."""
    after = _decode_seq(cursor)
    rows = list(
        (
            await session.execute(
                select(*READ_COLUMNS)
                .where(READINGS.c.patient_id == patient.id, READINGS.c.seq > after)
                .order_by(READINGS.c.seq)
                .limit(limit + 1)
            )
        ).all()
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    _audit_read(session, principal, patient, "reading")
    next_cursor = encode_cursor([rows[-1].seq]) if rows else cursor
    return {
        "changes": [
            {"op": "delete" if r.deleted_at else "upsert", "reading": to_read(r)} for r in rows
        ],
        "next_cursor": next_cursor,
        "has_more": has_more,
    }


def _day_range(
    patient: Patient, first: Bound | None, last: Bound | None, default_days: int, max_days: int
) -> tuple[date, date]:
    """Local-day range from `from`/`to` (timestamps map to the patient's local day)."""
    zone = ZoneInfo(patient.timezone)

    def as_date(bound: Bound) -> date:
        return bound.astimezone(zone).date() if isinstance(bound, datetime) else bound

    end = as_date(last) if last is not None else local_today(patient.timezone)
    start = as_date(first) if first is not None else end - timedelta(days=default_days - 1)
    if start > end:
        raise Invalid(
            "Invalid query: from is after to.",
            fields=[FieldError(path="query.from", message="from must not be after to")],
        )
    if (end - start).days + 1 > max_days:
        message = f"the range may span at most {max_days} days"
        raise Invalid(
            f"Invalid query: {message}.", fields=[FieldError(path="query.from", message=message)]
        )
    return start, end


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
    """Per local day and numeric component: count, mean, min, max (from the rollups), as
    plain data in `DailyList`'s shape (a year of blood pressure is 1,000+ items)."""
    start, end = _day_range(patient, first, last, DEFAULT_DAILY_DAYS, MAX_DAILY_DAYS)
    # Plain rows (no ORM objects): a year is 365+ rows per request on a hot path.
    connection = await session.connection()
    rows = await connection.execute(
        _DAILY, {"patient_id": patient.id, "type": reading_type, "first": start, "last": end}
    )
    spec = units.READING_TYPES[reading_type]
    order = {name: i for i, name in enumerate(units.NUMERIC_FIELDS[reading_type])}
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
    _audit_read(session, principal, patient, "reading_daily")
    return {"type": reading_type, "unit": spec.unit, "items": items}  # DailyList's shape


async def glucose_metrics_for(
    session: AsyncSession,
    *,
    principal: Principal,
    patient: Patient,
    first: Bound | None,
    last: Bound | None,
) -> GlucoseMetricsRead:
    """CGM consensus metrics over local days (interstitial glucose only; default 14 days)."""
    start, end = _day_range(patient, first, last, DEFAULT_METRICS_DAYS, MAX_METRICS_DAYS)
    rows = await session.execute(
        select(Reading.effective_at, Reading.local_date, Reading.values).where(
            Reading.patient_id == patient.id,
            Reading.type == "glucose",
            Reading.code == CGM_CODE,
            Reading.deleted_at.is_(None),
            *_local_day_bounds(start, end),
        )
    )
    samples = [GlucoseSample(at, day, float(values["value"])) for at, day, values in rows]
    metrics = glucose_metrics(samples, days=(end - start).days + 1)
    _audit_read(session, principal, patient, "glucose_metrics")
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
