"""Database plumbing: the declarative base, engines, and the one-transaction-per-request session.

Invariant: a request's session is opened inside `session.begin()` and committed when the route
returns, before the response is sent (`Depends(get_session, scope="function")`), so a failed
commit can never follow a 2xx. Services flush; they never commit. A request that fails with an
`AppError` is rolled back (unless the error says `keep_changes`); what it asked to record of its
failure (`on_error`: a denied access) is then committed on its own.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import JSON, DateTime, MetaData, event, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from app.clock import utcnow
from app.errors import AppError, Conflict

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: attach a timezone before storing")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is UTC:  # PostgreSQL already answers in UTC
            return value
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[str]: JSONType,
    }


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def database_new_id(session: AsyncSession) -> Any:
    """A new id per row, made by the database, for INSERT ... SELECT: PostgreSQL's
    gen_random_uuid(); on SQLite 16 random bytes in the 32 hex digits a UUID column stores."""
    if session.get_bind().dialect.name == "postgresql":
        return func.gen_random_uuid()
    return func.lower(func.hex(func.randomblob(16)))


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)


class CreatedMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def upsert_insert(session: AsyncSession) -> Any:
    """The dialect's `insert` (with ON CONFLICT support) for the session's database."""
    return dialect_insert(session.get_bind().dialect.name)


def dialect_insert(dialect: str) -> Any:
    """The `insert` with ON CONFLICT support of a dialect ("postgresql" or "sqlite")."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


async def flush_or_conflict(session: AsyncSession, *, detail: str) -> None:
    """Flush, turning a unique-constraint violation into a 409 with `detail`."""
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(detail) from None


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine; SQLite gets foreign keys, WAL and writer-serialising transactions."""
    parsed = make_url(url)
    # hide_parameters: error messages never carry bound values (patient data) into the logs.
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, echo=echo, pool_pre_ping=True, hide_parameters=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, echo=echo, hide_parameters=True, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, emit BEGIN (SQLAlchemy docs, "pysqlite: serializable").
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front: concurrent writers wait (busy_timeout) instead
        # of failing when a deferred read transaction later tries to write.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


_ON_ERROR = "on_error"
ErrorRecord = Callable[[AsyncSession, AppError], None]
BeforeCommit = Callable[[AsyncSession], Awaitable[None]]


def on_error(session: AsyncSession, record: ErrorRecord) -> None:
    """Should the request fail with an `AppError`, `record(session, error)` adds rows that are
    committed after the request's own changes are rolled back (a denied access's audit event)."""
    session.info.setdefault(_ON_ERROR, []).append(record)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    # Work that must ride in every successful request's transaction (the stored standings of
    # the patients it changed), set by `create_app`.
    before_commit: Sequence[BeforeCommit] = request.app.state.before_commit
    async with maker() as session:
        await session.begin()
        try:
            yield session
        except AppError as exc:
            if not exc.keep_changes:
                await session.rollback()
            for record in session.info.pop(_ON_ERROR, ()):
                record(session, exc)
            if exc.keep_changes or session.new:
                await session.commit()
            raise
        except BaseException:
            await session.rollback()
            raise
        for hook in before_commit:
            await hook(session)
        await session.commit()


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
