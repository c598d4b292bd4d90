"""Sign-in throttling by atomic per-key counters; the per-failure rows they replace are dropped.

`login_throttles` holds one row per key (an account at a client address, a client address, an
activation code) with the attempts counted in its window and when that window ends; one upsert
reserves an attempt before the secret is checked, so parallel guesses cannot out-run the limit.

Revision ID: f6a7b8c9d0e1
Revises: e5f6a7b8c9d0
Create Date: 2026-11-29 22:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "f6a7b8c9d0e1"
down_revision: str | None = "e5f6a7b8c9d0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_throttles",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("window_ends_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttles")),
    )
    op.create_index("ix_login_throttles_window_ends_at", "login_throttles", ["window_ends_at"])
    # Failures counted the old way are not carried over: at worst an attacker gets one fresh
    # window (15 minutes) on the day of the upgrade.
    op.drop_index("ix_login_failures_at", table_name="login_failures")
    op.drop_index("ix_login_failures_email_at", table_name="login_failures")
    op.drop_table("login_failures")


def downgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index("ix_login_failures_email_at", "login_failures", ["email", "at"])
    op.create_index("ix_login_failures_at", "login_failures", ["at"])
    op.drop_index("ix_login_throttles_window_ends_at", table_name="login_throttles")
    op.drop_table("login_throttles")
