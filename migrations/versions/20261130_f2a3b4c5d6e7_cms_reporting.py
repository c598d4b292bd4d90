"""Reporting to CMS: each organization's Data Reporting API settings, clinicians' NPIs, CMS's
words on a report's result, and the submissions of reports (one row per attempt, sent and
polled by the worker).

Revision ID: f2a3b4c5d6e7
Revises: e1f2a3b4c5d6
Create Date: 2026-11-30 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "f2a3b4c5d6e7"
down_revision: str | None = "e1f2a3b4c5d6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MOMENT = app.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.add_column("organizations", sa.Column("cms_base_url", sa.String(2048), nullable=True))
    op.add_column("organizations", sa.Column("cms_client_id", sa.String(200), nullable=True))
    op.add_column("organizations", sa.Column("cms_client_secret", sa.Text(), nullable=True))
    op.add_column("users", sa.Column("npi", sa.String(length=10), nullable=True))
    op.add_column("reports", sa.Column("result_message", sa.Text(), nullable=True))
    op.create_table(
        "report_submissions",
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("next_attempt_at", MOMENT, nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("status_url", sa.String(length=2048), nullable=True),
        sa.Column("result_code", sa.String(length=32), nullable=True),
        sa.Column("result_message", sa.Text(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("queued_at", MOMENT, nullable=False),
        sa.Column("sent_at", MOMENT, nullable=True),
        sa.Column("finished_at", MOMENT, nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_report_submissions_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_report_submissions_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_report_submissions_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_submissions")),
        sa.UniqueConstraint(
            "report_id", "attempt", name=op.f("uq_report_submissions_report_id_attempt")
        ),
    )
    op.create_index(op.f("ix_report_submissions_patient_id"), "report_submissions", ["patient_id"])
    op.create_index(
        "ix_report_submissions_state_due", "report_submissions", ["state", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_report_submissions_state_due", table_name="report_submissions")
    op.drop_index(op.f("ix_report_submissions_patient_id"), table_name="report_submissions")
    op.drop_table("report_submissions")
    # Plain DROP COLUMN (SQLite >= 3.35): a batch copy would cascade.
    op.drop_column("reports", "result_message")
    op.drop_column("users", "npi")
    op.drop_column("organizations", "cms_client_secret")
    op.drop_column("organizations", "cms_client_id")
    op.drop_column("organizations", "cms_base_url")
