"""Accounts: every user has a login, and a physical device has one live registration.

`users.login` is the name a person signs in with: their email, or for a patient who activated
without one, a generated username (before this, such a patient could not sign in again after a
logout). Existing users get their email, or a generated username.

`devices`: at most one live (unrevoked) registration per patient and physical device (kind,
manufacturer, model, serial). Registering it again returns that device. Where a device was
registered more than once before, the earlier registrations are revoked here: the latest is the
one its app registered last and holds the secret of. `devices.secret_id` names the device's
current secret; its access tokens carry it, so rotating the secret stops them at once (devices
registered before have none until their first rotation).

Revision ID: b8c9d0e1f2a3
Revises: a7b8c9d0e1f2
Create Date: 2026-11-30 03:00:00.000000
"""

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "b8c9d0e1f2a3"
down_revision: str | None = "a7b8c9d0e1f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The generated usernames' alphabet (no 0/o, 1/l/i): read aloud and typed on a phone.
_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"

_DEVICE_KEY = ("patient_id", "kind", "manufacturer", "model", "serial")
_LIVE = "serial IS NOT NULL AND revoked_at IS NULL"


def _username() -> str:
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"pt-{chars[:4]}-{chars[4:]}"


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    # SQLite adds a NOT NULL column only with a default; the backfill below replaces it.
    op.add_column(
        "users",
        sa.Column(
            "login",
            sa.String(length=320),
            nullable=postgres,
            server_default=None if postgres else "",
        ),
    )
    users = sa.table("users", sa.column("id", sa.Uuid()), sa.column("email"), sa.column("login"))
    bind.execute(sa.update(users).where(users.c.email.is_not(None)).values(login=users.c.email))
    for (user_id,) in bind.execute(sa.select(users.c.id).where(users.c.email.is_(None))).all():
        bind.execute(sa.update(users).where(users.c.id == user_id).values(login=_username()))
    if postgres:
        op.alter_column("users", "login", nullable=False)
    op.create_index("ix_users_login", "users", ["login"], unique=True)

    moment = app.db.UTCDateTime(timezone=True)
    devices = sa.table(
        "devices",
        *(sa.column(c) for c in (*_DEVICE_KEY, "id")),
        sa.column("created_at", moment),
        sa.column("revoked_at", moment),
    )
    later = devices.alias("later")
    same = [later.c[c] == devices.c[c] for c in _DEVICE_KEY]
    newer = sa.or_(
        later.c.created_at > devices.c.created_at,
        sa.and_(later.c.created_at == devices.c.created_at, later.c.id > devices.c.id),
    )
    superseded = sa.exists().where(*same, later.c.revoked_at.is_(None), newer)
    bind.execute(
        sa.update(devices)
        .where(devices.c.serial.is_not(None), devices.c.revoked_at.is_(None), superseded)
        .values(revoked_at=datetime.now(UTC))
    )
    op.add_column("devices", sa.Column("secret_id", sa.Uuid(), nullable=True))
    op.create_index(
        "ix_devices_live_registration",
        "devices",
        list(_DEVICE_KEY),
        unique=True,
        sqlite_where=sa.text(_LIVE),
        postgresql_where=sa.text(_LIVE),
    )


def downgrade() -> None:
    op.drop_index("ix_devices_live_registration", table_name="devices")
    # Plain DROP COLUMN (SQLite >= 3.35), not a batch copy: recreating `devices` or `users`
    # would delete the rows that reference them (readings, refresh tokens) on the way.
    op.drop_column("devices", "secret_id")
    op.drop_index("ix_users_login", table_name="users")
    op.drop_column("users", "login")
