"""Counting attempts so that concurrency cannot out-run the limit: one atomic upsert each.

An attempt is *reserved* before the secret is checked. A single `INSERT ... ON CONFLICT (key)
DO UPDATE ... RETURNING` opens a window (count 1) or adds one to the open window, and the
database serializes the writers of one row (PostgreSQL's row lock, SQLite's single writer), so
of any number of parallel attempts exactly the first `max_attempts` get a count within the limit
and only they reach the check (OWASP Authentication Cheat Sheet, "Protect against automated
attacks"; NIST SP 800-63B-4, 3.2.2 rate limiting). A read-then-write could not promise that.

The reservation is written in the request's transaction: a failed attempt keeps it (the error
says `keep_changes`), a successful one hands it back (`clear` / `give_back`), and a refused
one (429) is rolled back, so refusals never extend a lockout. Windows are fixed: they open with
the first attempt and end `window` later, when the key starts afresh. Rows whose window has
ended are deleted as new attempts are counted, so the table holds only live windows.

On PostgreSQL a reserved row stays locked until its request commits, so attempts on one key
take turns; only the few within the limit hold it while Argon2 runs, the rest learn at once
that they are refused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import credentials
from app.auth.models import LoginThrottle
from app.clock import utcnow
from app.db import upsert_insert

# Rows deleted per reservation at most, so one sign-in never pays for a long backlog.
_PRUNE_BATCH = 500


@dataclass(frozen=True)
class Limit:
    key: str
    max_attempts: int


def account_at_client(login: str, client: str) -> str:
    # The login is digested: the key then holds no email (nor the password people type into
    # the username field by mistake) and has a bounded length whatever was sent.
    return f"account:{credentials.digest(login)}|client:{client}"


def client(address: str) -> str:
    return f"client:{address}"


def activation_code(code_digest: str) -> str:
    return f"activation:{code_digest}"


async def reserve(
    session: AsyncSession, *, limits: Sequence[Limit], window: timedelta
) -> int | None:
    """Counts one attempt against every limit; None when all allow it, otherwise the seconds
    until the last exceeded window ends (for `Retry-After`)."""
    now = utcnow()
    insert = upsert_insert(session)(LoginThrottle)
    ended = LoginThrottle.window_ends_at <= now
    # Keys in one order in every request, so two requests never wait for each other's rows.
    ordered = sorted(limits, key=lambda limit: limit.key)
    statement = (
        insert.values(
            [{"key": lim.key, "count": 1, "window_ends_at": now + window} for lim in ordered]
        )
        .on_conflict_do_update(
            index_elements=[LoginThrottle.key],
            set_={
                "count": case((ended, 1), else_=LoginThrottle.count + 1),
                "window_ends_at": case(
                    (ended, insert.excluded.window_ends_at), else_=LoginThrottle.window_ends_at
                ),
            },
        )
        .returning(LoginThrottle.key, LoginThrottle.count, LoginThrottle.window_ends_at)
    )
    counted = (await session.execute(statement)).all()
    allowed = {lim.key: lim.max_attempts for lim in ordered}
    over: list[datetime] = [ends for key, count, ends in counted if count > allowed[key]]
    if over:
        return max(1, math.ceil((max(over) - now).total_seconds()))
    await _prune(session, now=now)
    return None


async def clear(session: AsyncSession, *, key: str) -> None:
    """Forgets the key's attempts (the account's owner proved who they are)."""
    await session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))


async def give_back(session: AsyncSession, *, key: str) -> None:
    """Un-counts this request's reservation (the attempt succeeded; only failures count)."""
    await session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == key, LoginThrottle.count > 0)
        .values(count=LoginThrottle.count - 1)
    )


async def _prune(session: AsyncSession, *, now: datetime) -> None:
    # SKIP LOCKED (PostgreSQL; SQLite has one writer and ignores it): a row another request is
    # re-opening right now is left to it, and two pruning requests never wait for each other.
    ended = (
        select(LoginThrottle.key)
        .where(LoginThrottle.window_ends_at <= now)
        .limit(_PRUNE_BATCH)
        .with_for_update(skip_locked=True)
    )
    await session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_(ended)))
