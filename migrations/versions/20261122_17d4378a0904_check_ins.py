"""Check-ins: scored PROM answers, one row per completed questionnaire, idempotent by client_id.

Revision ID: 17d4378a0904
Revises: 45b2e3db3bfd
Create Date: 2026-11-22 19:39:41.580291
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.db

revision: str = "17d4378a0904"
down_revision: str | None = "45b2e3db3bfd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "checkins",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("enrollment_id", sa.Uuid(), nullable=True),
        sa.Column("instrument", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=16), nullable=False),
        sa.Column(
            "answers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("scorable", sa.Boolean(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("t_score", sa.Double(), nullable=True),
        sa.Column("se", sa.Double(), nullable=True),
        sa.Column("band", sa.String(length=32), nullable=True),
        sa.Column("prorated", sa.Boolean(), nullable=False),
        sa.Column(
            "missing",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "flags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("completed_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=True),
        sa.Column("entered_by", sa.Uuid(), nullable=False),
        sa.Column("entered_by_role", sa.String(length=16), nullable=False),
        sa.Column("received_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_checkins_enrollment_id_enrollments"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_checkins_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkins")),
    )
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.create_index("ix_checkins_enrollment_id", ["enrollment_id"], unique=False)
        batch_op.create_index(
            "ix_checkins_patient_id_completed_at", ["patient_id", "completed_at"], unique=False
        )
        batch_op.create_index(
            "ix_checkins_patient_id_instrument_local_date",
            ["patient_id", "instrument", "local_date"],
            unique=False,
        )
        # Partial: repeats are decided by client_id only when the app sent one.
        batch_op.create_index(
            "uq_checkins_patient_id_client_id",
            ["patient_id", "client_id"],
            unique=True,
            sqlite_where=sa.text("client_id IS NOT NULL"),
            postgresql_where=sa.text("client_id IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_checkins_patient_id_client_id",
            sqlite_where=sa.text("client_id IS NOT NULL"),
            postgresql_where=sa.text("client_id IS NOT NULL"),
        )
        batch_op.drop_index("ix_checkins_patient_id_instrument_local_date")
        batch_op.drop_index("ix_checkins_patient_id_completed_at")
        batch_op.drop_index("ix_checkins_enrollment_id")

    op.drop_table("checkins")
