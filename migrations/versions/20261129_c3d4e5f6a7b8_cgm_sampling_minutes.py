"""A CGM's sampling interval, so wear counts each reading for as long as its sensor samples.

Existing CGM devices get 5 minutes, the interval wear assumed of every reading until now.

Revision ID: c3d4e5f6a7b8
Revises: d4e5f6a7b8c9
Create Date: 2026-11-29 21:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3d4e5f6a7b8"
down_revision: str | None = "d4e5f6a7b8c9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A column-level CHECK: SQLite adds it with ALTER TABLE, no rebuild of a referenced table.
    op.add_column(
        "devices",
        sa.Column(
            "sampling_minutes",
            sa.Integer(),
            sa.CheckConstraint(
                "sampling_minutes BETWEEN 1 AND 60", name=op.f("ck_devices_sampling_minutes_range")
            ),
            nullable=True,
        ),
    )
    op.execute("UPDATE devices SET sampling_minutes = 5 WHERE kind = 'cgm'")


def downgrade() -> None:
    op.drop_column("devices", "sampling_minutes")
