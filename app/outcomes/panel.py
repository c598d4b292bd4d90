"""The clinician's panel from stored rows: a page of the organization's patients, most in need
first (or newest first), with each row's need, reasons, tracks and care-period days.

Invariants: every reachable patient has a row (`stored.py`), so every patient is listed; the
order is the stored need score (docs/rules.md "Need score"), then family and given name, then
id, read through an index, so a page costs the same in any organization size; filters (track,
outcome status, need reason) match the row's filter keys; nothing is evaluated here.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy import Select, and_, or_, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.clock import local_today
from app.outcomes.models import PatientStanding
from app.pagination import decode_cursor, decode_keyset, encode_cursor, invalid_cursor
from app.patients.models import Patient
from app.patients.reach import reachable_patients

PanelOrder = Literal["need", "newest"]


@dataclass(frozen=True, slots=True)
class PanelRow:
    patient: Patient
    standing: PatientStanding

    def days(self) -> dict[str, int]:
        """Each shown period's care-period day on the patient's local today, by enrollment id."""
        today = local_today(self.patient.timezone)
        return {
            p["enrollment_id"]: (today - date.fromisoformat(p["start_date"])).days + 1
            for p in self.standing.periods
        }


def _filtered(
    principal: Principal, *, track: str | None, status: str | None, need: str | None
) -> Select[Any]:
    statement = (
        reachable_patients(principal)
        .join(PatientStanding, PatientStanding.patient_id == Patient.id)
        .add_columns(PatientStanding)
        # The same organization as reach's, stated on the standings so their panel index
        # (organization, need, name) both filters and orders: no sort of the whole organization.
        .where(PatientStanding.organization_id == principal.organization_id)
    )
    for column, value in (
        (PatientStanding.tracks, track),
        (PatientStanding.statuses, status),
        (PatientStanding.need_codes, need),
    ):
        if value is not None:
            statement = statement.where(column.like(f"%,{value},%"))
    return statement


def _after_need(cursor: str) -> tuple[int, str, str, uuid.UUID]:
    score, family, given, patient_id = decode_cursor(cursor, length=4)
    try:
        return int(score), family, given, uuid.UUID(patient_id)
    except ValueError:
        raise invalid_cursor() from None


async def page(
    session: AsyncSession,
    *,
    principal: Principal,
    track: str | None,
    status: str | None,
    need: str | None,
    order: PanelOrder,
    limit: int,
    cursor: str | None,
) -> tuple[list[PanelRow], str | None]:
    """A page of the panel and the cursor of the next one, if any."""
    statement = _filtered(principal, track=track, status=status, need=need)
    s = PatientStanding
    if order == "need":
        if cursor is not None:
            score, family, given, last_id = _after_need(cursor)
            statement = statement.where(
                or_(
                    s.need_rank > -score,
                    and_(
                        s.need_rank == -score,
                        tuple_(s.family_key, s.given_key, s.patient_id)
                        > tuple_(family, given, last_id),
                    ),
                )
            )
        statement = statement.order_by(s.need_rank, s.family_key, s.given_key, s.patient_id)
    else:
        if cursor is not None:
            at, last_id = decode_keyset(cursor)
            statement = statement.where(
                or_(Patient.created_at < at, and_(Patient.created_at == at, Patient.id < last_id))
            )
        statement = statement.order_by(Patient.created_at.desc(), Patient.id.desc())
    result = await session.execute(statement.limit(limit + 1))
    rows = [PanelRow(row[0], row[1]) for row in result.all()]
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(_key(rows[-1], order))


def _key(row: PanelRow, order: PanelOrder) -> Sequence[object]:
    if order == "newest":
        return [row.patient.created_at, row.patient.id]
    st = row.standing
    return [st.need_score, st.family_key, st.given_key, st.patient_id]
