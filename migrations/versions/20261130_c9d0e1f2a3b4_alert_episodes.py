"""Alert episodes: an alert spans the readings that keep meeting one condition.

New columns: `condition` (what makes readings one episode), `first_at`, `last_at`, `ended_at`
(the episode is over), `count`, `worst`, and the clinicians' notes on acknowledging and
resolving. At most one episode per patient and condition goes on at a time (partial unique
index on `ended_at IS NULL`); the once-per-source index now holds for check-ins only, since an
episode's first reading can change as late readings arrive.

Existing alerts become one-reading episodes that are over: first_at = last_at = ended_at =
created_at, count 1, worst the values they recorded (readings). A reading's alert gets a
condition of its own (`single:<kind>`): its times are when it was opened, not its reading's, so
it must never be matched against the episodes new readings make (which could withdraw it);
a check-in's alert keeps its kind, as new ones have.

Revision ID: c9d0e1f2a3b4
Revises: b8c9d0e1f2a3
Create Date: 2026-11-30 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "c9d0e1f2a3b4"
down_revision: str | None = "b8c9d0e1f2a3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
_MOMENT = app.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    # SQLite adds a NOT NULL column only with a default: added nullable, filled, then made
    # NOT NULL (batch mode rebuilds the table on SQLite).
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("condition", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("first_at", _MOMENT, nullable=True))
        batch.add_column(sa.Column("last_at", _MOMENT, nullable=True))
        batch.add_column(sa.Column("ended_at", _MOMENT, nullable=True))
        batch.add_column(sa.Column("count", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("worst", JSON, nullable=True))
        batch.add_column(sa.Column("acknowledged_note", sa.String(length=1000), nullable=True))
        batch.add_column(sa.Column("resolved_note", sa.String(length=1000), nullable=True))
    alerts = sa.table(
        "alerts",
        sa.column("kind", sa.String()),
        sa.column("source_type", sa.String()),
        sa.column("details", JSON),
        sa.column("condition", sa.String()),
        sa.column("created_at", _MOMENT),
        sa.column("first_at", _MOMENT),
        sa.column("last_at", _MOMENT),
        sa.column("ended_at", _MOMENT),
        sa.column("count", sa.Integer()),
        sa.column("worst", JSON),
    )
    op.execute(
        alerts.update().values(
            condition=sa.case(
                (
                    alerts.c.source_type == "reading",
                    sa.literal("single:", sa.String()) + alerts.c.kind,
                ),
                else_=alerts.c.kind,
            ),
            first_at=alerts.c.created_at,
            last_at=alerts.c.created_at,
            ended_at=alerts.c.created_at,
            count=1,
        )
    )
    op.execute(
        alerts.update().where(alerts.c.source_type == "reading").values(worst=alerts.c.details)
    )
    with op.batch_alter_table("alerts") as batch:
        for name in ("condition", "first_at", "last_at", "count"):
            batch.alter_column(name, nullable=False)
        batch.drop_index("uq_alerts_patient_id_source_type_source_id_kind")
        batch.drop_index("ix_alerts_patient_id_created_at")
        batch.drop_index("ix_alerts_status_created_at")
    op.create_index(
        "uq_alerts_ongoing",
        "alerts",
        ["patient_id", "condition"],
        unique=True,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_index(
        "uq_alerts_checkin_source",
        "alerts",
        ["patient_id", "source_id", "kind"],
        unique=True,
        sqlite_where=sa.text("source_type = 'checkin'"),
        postgresql_where=sa.text("source_type = 'checkin'"),
    )
    op.create_index(
        "ix_alerts_patient_id_condition_first_at", "alerts", ["patient_id", "condition", "first_at"]
    )
    op.create_index("ix_alerts_patient_id_first_at", "alerts", ["patient_id", "first_at"])
    op.create_index("ix_alerts_status_first_at", "alerts", ["status", "first_at"])


def downgrade() -> None:
    # The kinds only episodes know go; of alerts sharing a (patient, source, kind), as the
    # once-per-source index wants it, the earliest stays.
    alerts = sa.table(
        "alerts",
        *(sa.column(c) for c in ("id", "patient_id", "source_type", "source_id", "kind")),
        sa.column("created_at", _MOMENT),
    )
    op.execute(alerts.delete().where(alerts.c.kind.in_(("no_data", "report_due"))))
    earlier = alerts.alias("earlier")
    same = [earlier.c[c] == alerts.c[c] for c in ("patient_id", "source_type", "source_id", "kind")]
    before = sa.or_(
        earlier.c.created_at < alerts.c.created_at,
        sa.and_(earlier.c.created_at == alerts.c.created_at, earlier.c.id < alerts.c.id),
    )
    op.execute(alerts.delete().where(sa.exists().where(*same, before)))
    op.drop_index("ix_alerts_status_first_at", table_name="alerts")
    op.drop_index("ix_alerts_patient_id_first_at", table_name="alerts")
    op.drop_index("ix_alerts_patient_id_condition_first_at", table_name="alerts")
    op.drop_index("uq_alerts_checkin_source", table_name="alerts")
    op.drop_index("uq_alerts_ongoing", table_name="alerts")
    with op.batch_alter_table("alerts") as batch:
        for name in (
            "resolved_note",
            "acknowledged_note",
            "worst",
            "count",
            "ended_at",
            "last_at",
            "first_at",
            "condition",
        ):
            batch.drop_column(name)
        batch.create_index("ix_alerts_status_created_at", ["status", "created_at"], unique=False)
        batch.create_index(
            "ix_alerts_patient_id_created_at", ["patient_id", "created_at"], unique=False
        )
        batch.create_index(
            "uq_alerts_patient_id_source_type_source_id_kind",
            ["patient_id", "source_type", "source_id", "kind"],
            unique=True,
        )
