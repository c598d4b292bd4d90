"""Stored standing: each care period's evaluated standing, each patient's panel row, and each
shown reporting window, kept at write time so the population views read rows.

Existing patients get a placeholder row due at once: the worker evaluates them on its first
pass (`python -m app worker --once` does it at once).

Revision ID: a7b8c9d0e1f2
Revises: f6a7b8c9d0e1
Create Date: 2026-11-30 00:30:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "a7b8c9d0e1f2"
down_revision: str | None = "f6a7b8c9d0e1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "period_standings",
        sa.Column("enrollment_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("track", sa.String(length=8), nullable=False),
        sa.Column("period_kind", sa.String(length=16), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("control_group", sa.Boolean(), nullable=False),
        sa.Column("evaluated_on", sa.Date(), nullable=False),
        sa.Column("shown", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome_status", sa.String(length=24), nullable=True),
        sa.Column("attained", sa.Boolean(), nullable=True),
        sa.Column("projected", sa.Boolean(), nullable=True),
        sa.Column("end_closed", sa.Boolean(), nullable=False),
        sa.Column("end_reported", sa.Boolean(), nullable=False),
        sa.Column("baseline_complete", sa.Boolean(), nullable=False),
        sa.Column("current_complete", sa.Boolean(), nullable=False),
        sa.Column("last_data_on", sa.Date(), nullable=True),
        sa.Column("detail", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_period_standings_enrollment_id_enrollments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_period_standings_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("enrollment_id", name=op.f("pk_period_standings")),
    )
    op.create_index(
        "ix_period_standings_organization_id_track",
        "period_standings",
        ["organization_id", "track"],
    )
    op.create_index(op.f("ix_period_standings_patient_id"), "period_standings", ["patient_id"])
    op.create_table(
        "patient_standings",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("family_key", sa.String(length=200), nullable=False),
        sa.Column("given_key", sa.String(length=200), nullable=False),
        sa.Column("evaluated_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome_status", sa.String(length=24), nullable=True),
        sa.Column("tracks", sa.String(length=64), nullable=False),
        sa.Column("statuses", sa.String(length=200), nullable=False),
        sa.Column("need_codes", sa.String(length=300), nullable=False),
        sa.Column("need_score", sa.Integer(), nullable=False),
        sa.Column("need_rank", sa.Integer(), nullable=False),
        sa.Column("need", JSON, nullable=False),
        sa.Column("open_urgent_alerts", sa.Integer(), nullable=False),
        sa.Column("open_warning_alerts", sa.Integer(), nullable=False),
        sa.Column("periods", JSON, nullable=False),
        sa.Column("rules_version", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_patient_standings_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_patient_standings")),
    )
    op.create_index(
        "ix_patient_standings_panel",
        "patient_standings",
        ["organization_id", "need_rank", "family_key", "given_key", "patient_id"],
    )
    op.create_index("ix_patient_standings_due_at", "patient_standings", ["due_at"])
    op.create_table(
        "window_standings",
        sa.Column("enrollment_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("opens", sa.Date(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("track", sa.String(length=8), nullable=False),
        sa.Column("closes", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("report_id", sa.Uuid(), nullable=True),
        sa.Column("needed", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_window_standings_enrollment_id_enrollments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_window_standings_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("enrollment_id", "type", "opens", name=op.f("pk_window_standings")),
    )
    op.create_index(
        "ix_window_standings_worklist",
        "window_standings",
        ["organization_id", "closes", "patient_id", "enrollment_id", "type"],
    )
    op.create_index(op.f("ix_window_standings_patient_id"), "window_standings", ["patient_id"])
    # Every existing patient, due at once, so the worker's first pass evaluates them.
    epoch = sa.literal(datetime(1970, 1, 1, tzinfo=UTC), app.db.UTCDateTime())
    patients = sa.table("patients", sa.column("id"), sa.column("organization_id"))
    standings = sa.table(
        "patient_standings",
        *(sa.column(name) for name in ("patient_id", "organization_id", "family_key")),
        *(sa.column(name) for name in ("given_key", "evaluated_at", "due_at", "tracks")),
        *(sa.column(name) for name in ("statuses", "need_codes", "need_score", "need_rank")),
        sa.column("need"),
        *(sa.column(name) for name in ("open_urgent_alerts", "open_warning_alerts", "periods")),
        sa.column("rules_version"),
    )
    nothing = sa.literal([], JSON)
    op.execute(
        standings.insert().from_select(
            [c.name for c in standings.columns],
            sa.select(
                patients.c.id,
                patients.c.organization_id,
                *(sa.literal("") for _ in range(2)),
                epoch,
                epoch,
                *(sa.literal(",") for _ in range(3)),
                sa.literal(0),
                sa.literal(0),
                nothing,
                sa.literal(0),
                sa.literal(0),
                nothing,
                sa.literal(""),
            ),
        )
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_window_standings_patient_id"), table_name="window_standings")
    op.drop_index("ix_window_standings_worklist", table_name="window_standings")
    op.drop_table("window_standings")
    op.drop_index("ix_patient_standings_due_at", table_name="patient_standings")
    op.drop_index("ix_patient_standings_panel", table_name="patient_standings")
    op.drop_table("patient_standings")
    op.drop_index(op.f("ix_period_standings_patient_id"), table_name="period_standings")
    op.drop_index("ix_period_standings_organization_id_track", table_name="period_standings")
    op.drop_table("period_standings")
