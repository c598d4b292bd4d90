"""Who validated a device and when, a cuff's placement; TRUNCATE refused on the audit trail.

Revision ID: e5f6a7b8c9d0
Revises: c3d4e5f6a7b8
Create Date: 2026-11-29 21:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "e5f6a7b8c9d0"
down_revision: str | None = "c3d4e5f6a7b8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# UPDATE and DELETE are refused row by row since the foundation; TRUNCATE bypasses row triggers,
# so PostgreSQL refuses it with a statement trigger too (SQLite has no TRUNCATE).
PG_NO_TRUNCATE = """
    CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()
"""


def upgrade() -> None:
    # Plain ADD COLUMNs (no batch rebuild): readings reference the devices table.
    op.add_column(
        "devices", sa.Column("validated_at", app.db.UTCDateTime(timezone=True), nullable=True)
    )
    op.add_column("devices", sa.Column("validated_by", sa.Uuid(), nullable=True))
    op.add_column("devices", sa.Column("placement", sa.String(length=16), nullable=True))
    op.execute("UPDATE devices SET placement = 'upper_arm' WHERE kind = 'bp_cuff'")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_NO_TRUNCATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_events_no_truncate ON audit_events")
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("placement")
        batch.drop_column("validated_by")
        batch.drop_column("validated_at")
