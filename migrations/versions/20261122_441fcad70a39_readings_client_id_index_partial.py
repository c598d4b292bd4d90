"""Readings: the client_id unique index only covers readings that have one.

Most device data has no client_id; a partial index spares each such row an index entry, which
is measurable on 288-reading CGM batches. Uniqueness is unchanged (NULLs never collided).

Revision ID: 441fcad70a39
Revises: 17d4378a0904
Create Date: 2026-11-22 20:12:32.670800
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "441fcad70a39"
down_revision: str | None = "17d4378a0904"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "uq_readings_patient_id_client_id"
COLUMNS = ["patient_id", "client_id"]
WHERE = sa.text("client_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index(NAME, table_name="readings")
    op.create_index(
        NAME, "readings", COLUMNS, unique=True, sqlite_where=WHERE, postgresql_where=WHERE
    )


def downgrade() -> None:
    op.drop_index(NAME, table_name="readings")
    op.create_index(NAME, "readings", COLUMNS, unique=True)
