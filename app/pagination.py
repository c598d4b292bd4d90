"""Keyset pagination with opaque cursors: `?limit=` (1..1000, default 100) and `?cursor=`.

A cursor encodes the sort key of the last item returned, so pages stay stable while rows are
added and no page is ever computed with OFFSET.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.errors import FieldError, Invalid

T = TypeVar("T")
Row = TypeVar("Row")

Limit = Annotated[int, Query(ge=1, le=1000, description="Page size (default 100, max 1000).")]
Cursor = Annotated[
    str | None, Query(max_length=200, description="Opaque cursor from a previous page.")
]


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
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else str(v) for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        values = None
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise invalid_cursor()
    return values


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
        values = decode_cursor(cursor)
        try:
            at, last_id = datetime.fromisoformat(values[0]), uuid.UUID(values[1])
        except (IndexError, ValueError):
            raise invalid_cursor() from None
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
