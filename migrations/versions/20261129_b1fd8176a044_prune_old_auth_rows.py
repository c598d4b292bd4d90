"""Indexes that let expired refresh tokens and aged-out login failures be deleted cheaply.

Revision ID: b1fd8176a044
Revises: 9b3e52c1d7a4
Create Date: 2026-11-29 20:08:06.622162
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b1fd8176a044"
down_revision: str | None = "9b3e52c1d7a4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_login_failures_at", "login_failures", ["at"])
    op.create_index("ix_refresh_tokens_expires_at", "refresh_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_refresh_tokens_expires_at", table_name="refresh_tokens")
    op.drop_index("ix_login_failures_at", table_name="login_failures")
