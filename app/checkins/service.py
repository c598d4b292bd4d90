"""Check-ins: submission (scored once, idempotent, with the safety net) and history; what is
due is `due_list.py`.

Invariants:
- a repeat is decided by the partial unique index (patient_id, client_id) with INSERT ... ON
  CONFLICT DO NOTHING, never by a read-then-write: concurrent retries store one row, and a
  repeat returns the stored result and opens no second alert;
- the score is computed once, when the check-in is stored, and kept with the answers: history
  and outcomes read it back, never rescore;
- the instrument version is fixed within a care period: a check-in of another version than the
  one already used in the same active enrollment's care period is 409;
- a PHQ-9 with item 9 above 0 opens one urgent alert, and one with item 9 unanswered one warning
  alert, in the same transaction as the check-in (docs/rules.md "PHQ-9");
- days are the patient's local days (their time zone); every read and write is audited in the
  same session.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts import service as alerts_service
from app.audit import service as audit_service
from app.auth.principal import Principal
from app.checkins import safety, schedule, scoring
from app.checkins.instruments import CATALOG, Instrument, get_instrument
from app.checkins.models import Checkin
from app.checkins.schemas import (
    CheckinCreate,
    CheckinRead,
    CheckinResult,
    InstrumentList,
    InstrumentRead,
    ItemRead,
    OptionRead,
    ScoreRead,
)
from app.clock import local_date, utcnow
from app.db import new_id, upsert_insert
from app.errors import Conflict, FieldError, Invalid
from app.outcomes.touch import touch
from app.pagination import keyset_page
from app.patients.models import Enrollment, Patient

RESOURCE = "checkin"


# --- Catalog ------------------------------------------------------------------------------------


def _instrument_read(instrument: Instrument) -> InstrumentRead:
    return InstrumentRead.model_validate(
        {
            "code": instrument.code,
            "version": instrument.version,
            "title": instrument.title,
            "recall": instrument.recall,
            "loinc": instrument.loinc,
            "score_loinc": instrument.score_loinc,
            "items": [
                ItemRead(
                    id=item.id,
                    loinc=item.loinc,
                    text=item.text,
                    options=[OptionRead(value=o.value, label=o.label) for o in item.options],
                    scored=item.scored,
                )
                for item in instrument.items
            ],
        }
    )


def catalog() -> InstrumentList:
    """The instrument catalog (not patient data: nothing to audit)."""
    return InstrumentList(items=[_instrument_read(i) for i in CATALOG.values()])


# --- Helpers ------------------------------------------------------------------------------------


_audit = audit_service.Trail(RESOURCE)


def _score_read(row: Checkin) -> ScoreRead:
    return ScoreRead(
        total=row.total,
        t_score=row.t_score,
        se=row.se,
        band=row.band,
        scorable=row.scorable,
        prorated=row.prorated,
        missing=list(row.missing),
    )


def to_result(row: Checkin) -> CheckinResult:
    flags = list(row.flags)
    return CheckinResult.model_validate(
        {
            "id": row.id,
            "instrument": row.instrument,
            "version": row.version,
            "score": _score_read(row),
            "flags": flags,
            "completed_at": row.completed_at,
            "local_date": row.local_date,
            "enrollment_id": row.enrollment_id,
            "crisis_resources": safety.crisis_resources(flags),
        }
    )


def to_read(row: Checkin) -> CheckinRead:
    return CheckinRead.model_validate(
        {
            "id": row.id,
            "patient_id": row.patient_id,
            "enrollment_id": row.enrollment_id,
            "instrument": row.instrument,
            "version": row.version,
            "answers": row.answers,
            "score": _score_read(row),
            "flags": list(row.flags),
            "completed_at": row.completed_at,
            "local_date": row.local_date,
            "client_id": row.client_id,
            "entered_by_role": row.entered_by_role,
            "received_at": row.received_at,
        }
    )


async def care_periods(
    session: AsyncSession, *, patient_id: uuid.UUID
) -> list[schedule.CarePeriod]:
    """The patient's enrollments not disenrolled, as the schedule sees them (the schedule
    keeps those that cover the day asked)."""
    rows = await session.scalars(
        select(Enrollment).where(Enrollment.patient_id == patient_id, Enrollment.ended_at.is_(None))
    )
    return [
        schedule.CarePeriod(
            enrollment_id=e.id,
            track=e.track,
            conditions=tuple(e.conditions),
            start=e.start_date,
            end=e.end_date,
        )
        for e in rows
    ]


# --- Submission ---------------------------------------------------------------------------------


def _version(instrument: Instrument, requested: str | None) -> str:
    if requested is None or requested == instrument.version:
        return instrument.version
    raise Invalid(
        f"{instrument.code} has no version {requested!r}; the catalog has {instrument.version}.",
        fields=[FieldError(path="version", message=f"unknown version of {instrument.code}")],
    )


def _score(code: str, answers: dict[str, int]) -> scoring.Score:
    try:
        return scoring.score(code, answers=answers)
    except scoring.InvalidAnswers as exc:
        fields = [FieldError(path=f"answers.{p.item}", message=p.message) for p in exc.problems]
        summary = "; ".join(p.message for p in exc.problems[:3])
        raise Invalid(f"Invalid answers for {code}: {summary}", fields=fields) from None


async def _check_version(
    session: AsyncSession,
    patient_id: uuid.UUID,
    code: str,
    version: str,
    owners: list[schedule.CarePeriod],
) -> None:
    other = await session.scalar(
        select(Checkin.version)
        .where(
            Checkin.patient_id == patient_id,
            Checkin.instrument == code,
            Checkin.enrollment_id.in_([p.enrollment_id for p in owners]),
            Checkin.version != version,
        )
        .limit(1)
    )
    if other is not None:
        # docs/rules.md "Outcome measures": the same PROM instrument and version across a care
        # period.
        raise Conflict(
            f"This care period already uses {code} version {other}; answer that version "
            f"(the instrument version is fixed within a care period)."
        )


async def _insert(session: AsyncSession, values: dict[str, object]) -> bool:
    """Insert unless the (patient_id, client_id) is taken; True when this call stored it."""
    statement = (
        upsert_insert(session)(Checkin)
        .values(**values)
        .on_conflict_do_nothing()
        .returning(Checkin.id)
    )
    return (await session.execute(statement)).first() is not None


async def submit(
    session: AsyncSession, *, principal: Principal, patient: Patient, body: CheckinCreate
) -> tuple[CheckinResult, bool]:
    """Score and store a check-in; returns the result and whether it was stored now.

    A repeat `client_id` returns the stored result (created False) and changes nothing.
    """
    instrument = get_instrument(body.instrument)
    version = _version(instrument, body.version)
    result = _score(instrument.code, body.answers)
    day = local_date(body.completed_at, zone=patient.timezone)
    owners = schedule.owning_periods(
        instrument.code, day=day, periods=await care_periods(session, patient_id=patient.id)
    )
    if owners:
        await _check_version(session, patient.id, instrument.code, version, owners)
    row = Checkin(
        id=new_id(),
        patient_id=patient.id,
        enrollment_id=owners[0].enrollment_id if owners else None,
        instrument=instrument.code,
        version=version,
        answers=dict(body.answers),
        scorable=result.scorable,
        total=result.total,
        t_score=result.t_score,
        se=result.se,
        band=result.band,
        prorated=result.prorated,
        missing=list(result.missing),
        flags=list(result.flags),
        completed_at=body.completed_at,
        timezone=patient.timezone,
        local_date=day,
        client_id=body.client_id,
        entered_by=principal.id,
        entered_by_role=principal.role,
        received_at=utcnow(),
    )
    values = {column.key: getattr(row, column.key) for column in Checkin.__table__.columns}
    touch(session, patient.id)
    if not await _insert(session, values):
        stored = await session.scalar(
            select(Checkin).where(
                Checkin.patient_id == patient.id, Checkin.client_id == body.client_id
            )
        )
        assert stored is not None  # the conflict was on this row, committed before our insert
        _audit(session, principal=principal, patient=patient, action="read", resource_id=stored.id)
        return to_result(stored), False
    _audit(session, principal=principal, patient=patient, action="create", resource_id=row.id)
    await alerts_service.open_alerts(
        session,
        principal=principal,
        patient=patient,
        specs=safety.alert_specs(
            row.id,
            instrument=row.instrument,
            answers=body.answers,
            flags=row.flags,
            total=row.total,
            at=row.completed_at,
        ),
    )
    return to_result(row), True


# --- Reads --------------------------------------------------------------------------------------


async def history(
    session: AsyncSession,
    *,
    principal: Principal,
    patient: Patient,
    instrument: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[CheckinRead], str | None]:
    """The patient's check-ins, newest completed first, optionally of one instrument."""
    statement = select(Checkin).where(Checkin.patient_id == patient.id)
    if instrument is not None:
        statement = statement.where(Checkin.instrument == instrument)
    rows, next_cursor = await keyset_page(
        session,
        statement=statement,
        time_column=Checkin.completed_at,
        id_column=Checkin.id,
        limit=limit,
        cursor=cursor,
    )
    _audit(session, principal=principal, patient=patient, action="read")
    return [to_read(r) for r in rows], next_cursor
