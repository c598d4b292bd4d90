"""The background worker: re-evaluates the stored standings the date alone has changed.

A write re-evaluates what it changes in its own transaction (`outcomes/stored.py`); what the
date changes (windows opening and closing, data ageing out of its validity, periods ending) is
due at the patient's next local midnight (`patient_standings.due_at`) and re-evaluated here.
The worker runs in the API process (`python -m app serve`, the default) or on its own
(`python -m app worker`) beside API replicas that set `ACCESS_RPM_WORKER_IN_PROCESS=false`.

Invariants: due patients are claimed in batches, each batch in its own transaction; on
PostgreSQL the claim is `FOR UPDATE SKIP LOCKED`, so concurrent workers never claim the same
patient and each due patient is re-evaluated once; a claimed patient's `due_at` moves past now
before the commit releases it (SQLite: one writer at a time gives the same); a failed batch is
rolled back and retried on the next pass, and never stops the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import utcnow
from app.logs import describe
from app.outcomes import stored
from app.outcomes.models import PatientStanding
from app.outcomes.rules import Ruleset
from app.outcomes.stored_rows import EPOCH
from app.patients.models import Patient

log = logging.getLogger("access_rpm.worker")


async def run_due(
    maker: async_sessionmaker[AsyncSession], *, rules: Ruleset, batch: int = 200
) -> int:
    """Re-evaluate every patient whose standing is due now; returns how many."""
    done: set[object] = set()
    while True:
        async with maker() as session, session.begin():
            claimed = list(
                await session.scalars(
                    select(PatientStanding.patient_id)
                    .where(PatientStanding.due_at <= utcnow())
                    .order_by(PatientStanding.due_at, PatientStanding.patient_id)
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                )
            )
            fresh = [pid for pid in claimed if pid not in done]
            if not fresh:  # nothing due, or only what this pass already did
                return len(done)
            await stored.refresh(session, rules=rules, patient_ids=fresh)
        done.update(fresh)


async def mark_due(maker: async_sessionmaker[AsyncSession], *, rules: Ruleset | None) -> int:
    """Make standings due at once: every one (`rules` None), or those evaluated under another
    ruleset; patients without a row get one. Returns how many rows were marked."""
    async with maker() as session, session.begin():
        statement = update(PatientStanding).values(due_at=EPOCH)
        if rules is not None:
            statement = statement.where(PatientStanding.rules_version != rules.version)
        marked = len((await session.execute(statement.returning(PatientStanding.patient_id))).all())
        missing = list(
            await session.scalars(
                select(Patient.id).where(~exists().where(PatientStanding.patient_id == Patient.id))
            )
        )
        await stored.add_placeholders(session, patient_ids=missing)
    return marked + len(missing)


async def run_forever(
    maker: async_sessionmaker[AsyncSession],
    *,
    rules: Ruleset,
    interval_seconds: float,
    stop: asyncio.Event,
) -> None:
    """Pass after pass until `stop` is set: standings of another ruleset first, then what is
    due; an error is logged (types and frames only) and the next pass tries again."""
    first = True
    while not stop.is_set():
        try:
            if first:
                await mark_due(maker, rules=rules)
                first = False
            count = await run_due(maker, rules=rules)
            if count:
                log.info("re-evaluated %d patients' standings", count)
        except Exception as exc:
            log.error("worker pass failed: %s", describe(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_seconds)
