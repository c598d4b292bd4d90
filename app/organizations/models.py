from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, CreatedMixin, IdMixin


class Organization(IdMixin, CreatedMixin, Base):
    """A participant organization (tenant); every person and patient belongs to one."""

    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(200))
