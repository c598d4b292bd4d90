"""Keyset pagination with opaque cursors: `?limit=` (1..1000, default 100) and `?cursor=`.

A cursor encodes the sort key of the last item returned, so pages stay stable while rows are
added and no page is ever computed with OFFSET.

Invariant: a cursor is decoded here only, and one this server could not have issued is a 422
naming `query.cursor`, never a 500: not base64url JSON, not a list of 1 to 8 strings, another
number of values than the list's key has, a whole number beyond the database's 64-bit integers,
a time without its offset or outside 1900-2099 (whose conversion to UTC could overflow).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.errors import FieldError, Invalid
from app.schemas import EARLIEST_DAY, LATEST_DAY

T = TypeVar("T")
Row = TypeVar("Row")

Limit = Annotated[int, Query(ge=1, le=1000, description="Page size (default 100, max 1000).")]
# Long enough for a key of two 100-character names (the panel), in UTF-8 and base64.
Cursor = Annotated[
    str | None, Query(max_length=2048, description="Opaque cursor from a previous page.")
]
MAX_CURSOR_VALUES = 8
_INT64 = 2**63


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


def invalid_cursor() -> Invalid:
    """The one error for a cursor this server did not issue (or one that was altered)."""
    return Invalid(
        "The cursor is not one this server issued.",
        fields=[FieldError(path="query.cursor", message="invalid cursor")],
    )


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps(
        [v.isoformat() if isinstance(v, datetime) else str(v) for v in values], ensure_ascii=False
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, length: int | None = None) -> list[str]:
    """The values of a cursor this server issued (`length` of them, when the list's key has a
    fixed length); anything else is `invalid_cursor()`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        values = None
    if (
        not isinstance(values, list)
        or not 1 <= len(values) <= MAX_CURSOR_VALUES
        or (length is not None and len(values) != length)
        or not all(isinstance(v, str) and _plain(v) for v in values)
    ):
        raise invalid_cursor()
    return values


def _plain(value: str) -> bool:
    """A cursor value any database can compare: no NUL, not absurdly long, no integer past
    64 bits."""
    return "\x00" not in value and len(value) <= 400 and not _beyond_int64(value)


def _beyond_int64(value: str) -> bool:
    # Every whole number in a cursor is a database integer (a feed's sequence number): a larger
    # one cannot be compared with a column; SQLite and asyncpg refuse it with an OverflowError.
    try:
        number = int(value)
    except ValueError:
        return False
    return not -_INT64 <= number < _INT64


def decode_keyset(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (time, id) of a `keyset_page` cursor, the time in UTC."""
    at_text, id_text = decode_cursor(cursor, length=2)
    try:
        at, last_id = datetime.fromisoformat(at_text), uuid.UUID(id_text)
    except ValueError:
        raise invalid_cursor() from None
    # A time the server wrote has its offset, and lies in years whose times convert to UTC.
    if at.utcoffset() is None or not EARLIEST_DAY.year <= at.year <= LATEST_DAY.year:
        raise invalid_cursor()
    return at.astimezone(UTC), last_id


async def keyset_page(
    session: AsyncSession,
    *,
    statement: Select[Row],
    time_column: InstrumentedAttribute[datetime],
    id_column: InstrumentedAttribute[uuid.UUID],
    limit: int,
    cursor: str | None,
    plain_rows: bool = False,
) -> tuple[list[Row], str | None]:
    """Newest first by (time, id); returns the rows and the cursor of the next page, if any.
    `plain_rows` returns result rows (for a Core select of columns) instead of entities."""
    if cursor is not None:
        at, last_id = decode_keyset(cursor)
        statement = statement.where(
            or_(time_column < at, and_(time_column == at, id_column < last_id))
        )
    statement = statement.order_by(time_column.desc(), id_column.desc()).limit(limit + 1)
    result = await session.execute(statement)
    rows: list[Row] = list(result.all() if plain_rows else result.scalars().all())  # type: ignore[arg-type]
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, encode_cursor([getattr(last, time_column.key), getattr(last, id_column.key)])
