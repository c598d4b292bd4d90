"""Care-coordination updates: one row per update a care period's referring clinician is to get
(initiation, escalation, completion), with its due day and when it was sent.

Care periods that existed before get theirs when their patient's standing is next refreshed:
`python -m app worker --once --all` does it for everyone at once.

Revision ID: 0a1b2c3d4e5f
Revises: f2a3b4c5d6e7
Create Date: 2026-11-30 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0a1b2c3d4e5f"
down_revision: str | None = "f2a3b4c5d6e7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MOMENT = app.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "care_updates",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("enrollment_id", sa.Uuid(), nullable=False),
        sa.Column("track", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=True),
        sa.Column("event_at", MOMENT, nullable=False),
        sa.Column("event_on", sa.Date(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("opens_at", MOMENT, nullable=False),
        sa.Column("due_soon_at", MOMENT, nullable=False),
        sa.Column("overdue_at", MOMENT, nullable=False),
        sa.Column("sent_at", MOMENT, nullable=True),
        sa.Column("sent_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_care_updates_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_care_updates_enrollment_id_enrollments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_care_updates_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_updates")),
    )
    op.create_index(op.f("ix_care_updates_patient_id"), "care_updates", ["patient_id"])
    op.create_index(
        "uq_care_updates_period",
        "care_updates",
        ["enrollment_id", "kind"],
        unique=True,
        sqlite_where=sa.text("alert_id IS NULL"),
        postgresql_where=sa.text("alert_id IS NULL"),
    )
    op.create_index(
        "uq_care_updates_escalation",
        "care_updates",
        ["enrollment_id", "alert_id"],
        unique=True,
        sqlite_where=sa.text("alert_id IS NOT NULL"),
        postgresql_where=sa.text("alert_id IS NOT NULL"),
    )
    op.create_index(
        "ix_care_updates_worklist",
        "care_updates",
        ["organization_id", "due", "patient_id", "enrollment_id", "id"],
        sqlite_where=sa.text("sent_at IS NULL"),
        postgresql_where=sa.text("sent_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_care_updates_worklist", table_name="care_updates")
    op.drop_index("uq_care_updates_escalation", table_name="care_updates")
    op.drop_index("uq_care_updates_period", table_name="care_updates")
    op.drop_index(op.f("ix_care_updates_patient_id"), table_name="care_updates")
    op.drop_table("care_updates")
