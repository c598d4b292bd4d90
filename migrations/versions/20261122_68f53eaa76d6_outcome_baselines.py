"""Outcome baselines kept once their window has closed (blood pressure, weight).

Revision ID: 68f53eaa76d6
Revises: 441fcad70a39
Create Date: 2026-11-22 20:19:58.592461
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.db

revision: str = "68f53eaa76d6"
down_revision: str | None = "441fcad70a39"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outcome_baselines",
        sa.Column("enrollment_id", sa.Uuid(), nullable=False),
        sa.Column("measure", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("rules_version", sa.String(length=32), nullable=False),
        sa.Column("window_last", sa.Date(), nullable=False),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("secondary", sa.Double(), nullable=True),
        sa.Column("at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column(
            "source_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("frozen_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_outcome_baselines_enrollment_id_enrollments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_outcome_baselines_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("enrollment_id", "measure", name=op.f("pk_outcome_baselines")),
    )
    with op.batch_alter_table("outcome_baselines", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outcome_baselines_patient_id_window_last",
            ["patient_id", "window_last"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("outcome_baselines", schema=None) as batch_op:
        batch_op.drop_index("ix_outcome_baselines_patient_id_window_last")

    op.drop_table("outcome_baselines")
