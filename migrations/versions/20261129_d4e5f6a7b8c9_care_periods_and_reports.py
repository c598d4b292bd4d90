"""Care periods (control group, referring clinician, follow-on link, derived status) and the
reports prepared for CMS; the cache of closed baselines goes (reports and the data rules replace
it).

Revision ID: d4e5f6a7b8c9
Revises: b1fd8176a044
Create Date: 2026-11-29 21:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.db

revision: str = "d4e5f6a7b8c9"
down_revision: str | None = "b1fd8176a044"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    # An enrollment's status is derived from its dates now; a follow-on period may overlap the
    # last 60 days of the previous one, so "one active per track" is no longer an index.
    op.drop_index("uq_enrollments_active_track", table_name="enrollments")
    with op.batch_alter_table("enrollments") as batch:
        batch.add_column(sa.Column("previous_id", sa.Uuid(), nullable=True))
        batch.add_column(
            sa.Column("control_group", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("referring_clinician", JSON, nullable=True))
        batch.drop_column("status")
        batch.create_foreign_key(
            "fk_enrollments_previous_id_enrollments",
            "enrollments",
            ["previous_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_unique_constraint(
            "uq_enrollments_patient_id_track_start_date", ["patient_id", "track", "start_date"]
        )
    op.create_table(
        "reports",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("enrollment_id", sa.Uuid(), nullable=False),
        sa.Column("track", sa.String(length=8), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("missing", JSON, nullable=False),
        sa.Column("measures", JSON, nullable=False),
        sa.Column("attained", sa.Boolean(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("result_code", sa.String(length=32), nullable=True),
        sa.Column("rules_version", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name="fk_reports_enrollment_id_enrollments",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name="fk_reports_patient_id_patients",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_reports"),
        sa.UniqueConstraint(
            "enrollment_id", "type", "report_date", name="uq_reports_enrollment_id_type_report_date"
        ),
    )
    op.create_index("ix_reports_enrollment_id", "reports", ["enrollment_id"])
    op.create_index("ix_reports_patient_id", "reports", ["patient_id"])
    op.drop_index("ix_outcome_baselines_patient_id_window_last", table_name="outcome_baselines")
    op.drop_table("outcome_baselines")


def downgrade() -> None:
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
        sa.Column("source_ids", JSON, nullable=False),
        sa.Column("frozen_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name="fk_outcome_baselines_enrollment_id_enrollments",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name="fk_outcome_baselines_patient_id_patients",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("enrollment_id", "measure", name="pk_outcome_baselines"),
    )
    op.create_index(
        "ix_outcome_baselines_patient_id_window_last",
        "outcome_baselines",
        ["patient_id", "window_last"],
    )
    op.drop_index("ix_reports_patient_id", table_name="reports")
    op.drop_index("ix_reports_enrollment_id", table_name="reports")
    op.drop_table("reports")
    with op.batch_alter_table("enrollments") as batch:
        batch.drop_constraint("uq_enrollments_patient_id_track_start_date", type_="unique")
        batch.drop_constraint("fk_enrollments_previous_id_enrollments", type_="foreignkey")
        batch.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="active")
        )
        batch.drop_column("referring_clinician")
        batch.drop_column("control_group")
        batch.drop_column("previous_id")
    op.execute("UPDATE enrollments SET status = 'ended' WHERE ended_at IS NOT NULL")
    op.create_index(
        "uq_enrollments_active_track",
        "enrollments",
        ["patient_id", "track"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )
