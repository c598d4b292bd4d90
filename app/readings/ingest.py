"""Ingest: store each reading exactly once, and everything that follows from storing it.

Invariants:
- Repeats (docs/api.md "Readings") are decided by the database: a unique index on
  (patient, client_id) and a partial one on (patient, identity hash) for readings without
  client_id (`app/readings/identity.py`).
  Rows are written with INSERT ... ON CONFLICT DO NOTHING RETURNING, so of two concurrent
  identical requests each reading is stored once and the other request reports it as a
  duplicate with the stored id; nobody gets a unique-violation 500. A tombstoned reading still
  holds its keys: an offline queue resending it cannot bring it back.
- A repeat inside one batch is stored once and reported as a duplicate of the first.
- Every write first takes the patient's feed row (`feed.allocate_seq`), which numbers the new
  readings and serialises the patient's writers in sequence order (`app/readings/feed.py`).
- One result per item, in order: created, duplicate (with the stored id) or invalid (with its
  field errors); an invalid item never fails the others.
- Values are stored in canonical units; `effective_at` (and a steps `end_at`) from 2000-01-01
  to 10 minutes from now (docs/rules.md "Data rules"): never converted before its year is known
  to be convertible, so no timestamp can overflow; a steps interval ends after it starts and
  within 25 hours (one local day).
- Days are local days in the patient's IANA zone, fixed when stored, whatever zone the body
  names: a New York patient's reading at 23:30 in New York counts for that New York day, sent
  with `timezone: Asia/Tokyo` too (docs/rules.md "Data rules"). The body's `timezone` is kept
  as sent (default: the patient's).
- In the same transaction, for readings stored now only (a duplicate changes nothing): the
  daily rollups are added to, alert episodes open or change (`app/readings/alert_rules.py`,
  `alerts.service.readings_stored`, under the patient's feed lock), and the write is audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, and_, or_, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from app.alerts import service as alerts_service
from app.audit import service as audit_service
from app.auth.principal import Principal
from app.clock import utcnow
from app.db import new_id
from app.errors import Conflict, FieldError, Invalid
from app.outcomes.touch import touch
from app.patients.models import Patient
from app.readings import catalog, feed, rollups, units
from app.readings.identity import identity_hash, values_json
from app.readings.models import Reading
from app.readings.provenance import Provenance, load_devices
from app.readings.schemas import (
    BatchItemResult,
    HeightIn,
    IngestResult,
    InvalidReading,
    ReadingModel,
    Source,
    StepsIn,
    first_problem_summary,
)
from app.schemas import FUTURE_TOLERANCE, utc_between
from app.webhooks import events as webhook_events

READINGS = cast("Table", Reading.__table__)

_audit = audit_service.Trail("reading")

# docs/rules.md "Data rules": no reading before 2000: a device whose clock was reset stamps
# 1970-01-01 (the Unix epoch) or the like, and such a reading must not pass for a real one.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
# A step interval is at most one local day, which lasts 25 hours when clocks fall back.
MAX_STEPS_INTERVAL = timedelta(hours=25)


@dataclass(slots=True)
class Candidate:
    """A valid item ready to insert: its row, and the key that makes it a repeat."""

    index: int
    row: dict[str, Any]
    key: tuple[str, str]  # ("client", uuid) or ("hash", identity hash)
    values_json: str


@dataclass(frozen=True, slots=True)
class Batch:
    """What every item of one request shares."""

    patient_id: uuid.UUID
    patient_timezone: str
    provenance: Provenance
    now: datetime
    # Every local day of the batch is a day in the patient's zone: resolved once, not per item.
    patient_zone: ZoneInfo = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "patient_zone", ZoneInfo(self.patient_timezone))


def _problem(index: int, path: str, message: str) -> BatchItemResult:
    return BatchItemResult(
        index=index, status="invalid", errors=[FieldError(path=path, message=message)]
    )


def prepare(
    item: ReadingModel | InvalidReading, *, index: int, batch: Batch
) -> Candidate | BatchItemResult:
    """An item's row to store (canonical values, UTC times, identity hash), or why it is invalid.

    Pure: no I/O.
    """
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
    latest = batch.now + FUTURE_TOLERANCE
    effective_at = utc_between(
        item.effective_at, name="effective_at", earliest=EARLIEST, latest=latest
    )
    if isinstance(effective_at, str):
        return _problem(index, "effective_at", effective_at)
    offset = item.effective_at.utcoffset() or timedelta(0)
    end_at: datetime | None = None
    if isinstance(item, StepsIn):
        end = utc_between(item.end_at, name="end_at", earliest=EARLIEST, latest=latest)
        if isinstance(end, str):
            return _problem(index, "end_at", end)
        end_at = end
        if not effective_at < end_at <= effective_at + MAX_STEPS_INTERVAL:
            return _problem(
                index,
                "end_at",
                "end_at must be after effective_at and at most 25 hours later (one local day)",
            )

    source = batch.provenance.resolve(item)
    if isinstance(source, FieldError):
        return BatchItemResult(index=index, status="invalid", errors=[source])

    values = normalized.values
    if item.type == "glucose" and "specimen" not in values and source.device_kind == "cgm":
        # A CGM sensor measures interstitial fluid by construction.
        values["specimen"] = "interstitial"
    eligible = item.type != "blood_pressure" or source.bp_eligible
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
        "code": catalog.loinc_code(item.type, values),
        "effective_at": effective_at,
        "utc_offset_minutes": int(offset.total_seconds() // 60),
        "timezone": item.timezone or batch.patient_timezone,
        "local_date": effective_at.astimezone(batch.patient_zone).date(),
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
    return Candidate(index=index, row=row, key=key, values_json=encoded)


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
_SQLITE_INSERT = (
    sqlite.insert(READINGS).on_conflict_do_nothing().returning(READINGS.c.seq, READINGS.c.id)
)


async def _insert_new(session: AsyncSession, candidates: list[Candidate]) -> dict[int, uuid.UUID]:
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
        result = await session.execute(
            _SQLITE_INSERT, [{**c.row, "id": new_id()} for c in candidates]
        )
    return {row[0]: row[1] for row in result}  # seq -> id


async def _existing_ids(
    session: AsyncSession, patient_id: uuid.UUID, missing: Sequence[Candidate]
) -> dict[tuple[str, str], uuid.UUID]:
    """The stored ids of candidates that were repeats, by repeat key."""
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


async def ingest(
    session: AsyncSession,
    *,
    principal: Principal,
    patient: Patient,
    readings: Sequence[ReadingModel | InvalidReading],
) -> list[BatchItemResult]:
    """Store the valid readings together; one result per item, in order."""
    devices = await load_devices(session, principal=principal, patient=patient, items=readings)
    batch = Batch(
        patient_id=patient.id,
        patient_timezone=patient.timezone,
        provenance=Provenance(principal, devices=devices),
        now=utcnow(),
    )
    results: list[BatchItemResult | None] = [None] * len(readings)
    candidates: list[Candidate] = []
    first_by_key: dict[tuple[str, str], Candidate] = {}
    repeats: list[tuple[int, Candidate]] = []  # repeats inside this batch
    for index, item in enumerate(readings):
        prepared = prepare(item, index=index, batch=batch)
        if isinstance(prepared, BatchItemResult):
            results[index] = prepared
        elif prepared.key in first_by_key:
            repeats.append((index, first_by_key[prepared.key]))
        else:
            first_by_key[prepared.key] = prepared
            candidates.append(prepared)

    if candidates:
        last = await feed.allocate_seq(session, patient_id=patient.id, count=len(candidates))
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
            await _after_insert(session, principal, patient, [c.row for c in created])
    for index, first in repeats:
        first_result = results[first.index]
        assert first_result is not None
        results[index] = BatchItemResult(index=index, status="duplicate", id=first_result.id)
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


async def _after_insert(
    session: AsyncSession, principal: Principal, patient: Patient, rows: list[dict[str, Any]]
) -> None:
    """What storing new readings changes, in the same transaction: rollups, alerts, the
    stored standing, and one `reading.created` webhook event naming them."""
    await rollups.add(session, patient_id=patient.id, rows=rows)
    touch(session, patient.id, reading_types={r["type"] for r in rows})
    await alerts_service.readings_stored(session, principal=principal, patient=patient, rows=rows)
    await webhook_events.emit(
        session,
        organization_id=patient.organization_id,
        event="reading.created",
        data={"patient_id": str(patient.id), "reading_ids": [str(r["id"]) for r in rows]},
    )
    _audit(
        session,
        principal=principal,
        patient=patient,
        action="create",
        resource_id=rows[0]["id"] if len(rows) == 1 else None,
    )


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
        raise Invalid(f"Invalid reading: {first_problem_summary(errors)}", fields=errors)
    assert result.id is not None
    return IngestResult(id=result.id, status=result.status)


async def record_height(
    session: AsyncSession, *, principal: Principal, patient: Patient, height_cm: float
) -> IngestResult:
    """A height given with the patient's details, stored as a manual reading taken now.

    BMI uses a height dated at or before the weight (docs/rules.md "Data rules"), so the
    patient's `height_cm` is recorded as a reading and a later edit never changes history. The
    same height given again at the same instant is a repeat, stored once.
    """
    reading = HeightIn(
        type="height",
        value=float(height_cm),
        unit="cm",
        effective_at=utcnow(),
        source=Source(kind="manual"),
    )
    return await ingest_one(session, principal=principal, patient=patient, reading=reading)
