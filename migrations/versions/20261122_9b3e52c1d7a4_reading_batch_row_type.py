"""PostgreSQL: a record type for ingest batches (one array parameter instead of one per column).

asyncpg checks every element of an array parameter with Python-level isinstance calls; a batch
sent as thirteen column arrays pays that ~3,700 times per 288 readings, as one array of records
288 times. The fields are what varies per reading; `values` is text, cast to JSONB on insert.
SQLite has no such types and needs none.

Revision ID: 9b3e52c1d7a4
Revises: 68f53eaa76d6
Create Date: 2026-11-22 22:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "9b3e52c1d7a4"
down_revision: str | None = "68f53eaa76d6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE TYPE reading_batch_row AS (
            type text,
            code text,
            effective_at timestamptz,
            utc_offset_minutes integer,
            timezone text,
            local_date date,
            end_at timestamptz,
            source_kind text,
            device_id uuid,
            eligible boolean,
            client_id uuid,
            identity_hash text,
            "values" text
        )
        """
    )


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute("DROP TYPE reading_batch_row")
