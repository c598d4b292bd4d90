"""Organization settings: the ACCESS participant id and NPI its reports to CMS name.

Revision ID: e1f2a3b4c5d6
Revises: d0e1f2a3b4c5
Create Date: 2026-11-30 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e1f2a3b4c5d6"
down_revision: str | None = "d0e1f2a3b4c5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "organizations", sa.Column("access_participant_id", sa.String(length=10), nullable=True)
    )
    op.add_column("organizations", sa.Column("npi", sa.String(length=10), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35): a batch copy of `organizations` would cascade.
    op.drop_column("organizations", "npi")
    op.drop_column("organizations", "access_participant_id")
