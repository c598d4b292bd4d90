from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.auth import credentials
from app.clock import utcnow
from app.db import Base, CreatedMixin, IdMixin


def _email_or_username(context: Any) -> str:
    email = context.get_current_parameters().get("email")
    return str(email) if email else credentials.new_username()


class User(IdMixin, CreatedMixin, Base):
    """A person who signs in: an admin or clinician of an organization, or an activated patient."""

    __tablename__ = "users"

    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    __table_args__ = (Index("ix_users_login", "login", unique=True),)

    # Stored lower-cased; a patient may activate without one.
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    # The name to sign in with: the email, or a generated username (`credentials.new_username`)
    # for a patient who activated without one, so every activated patient can sign in again.
    login: Mapped[str] = mapped_column(String(320), default=_email_or_username)
    name: Mapped[str | None] = mapped_column(String(200))
    # A clinician's own NPI: reports they prepare name them as the Practitioner by it.
    npi: Mapped[str | None] = mapped_column(String(10))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    patient_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), unique=True
    )
    disabled_at: Mapped[datetime | None]


class RefreshToken(Base):
    """One issued refresh token; `family_id` links every rotation of one sign-in. A row is
    deleted once its token has expired (the token itself is then refused unread)."""

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class LoginThrottle(Base):
    """Attempts counted for one key (an account at a client address, a client address, an
    activation code) in a fixed window that opens with the first of them. Bumped by a single
    upsert before the secret is checked (`auth/throttle.py`), so concurrent attempts cannot
    out-run the limit. Deleted once its window has ended (it no longer counts)."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int]
    window_ends_at: Mapped[datetime] = mapped_column(index=True)
