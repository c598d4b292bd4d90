from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, CreatedMixin, IdMixin


class Organization(IdMixin, CreatedMixin, Base):
    """A participant organization (tenant); every person and patient belongs to one."""

    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(200))
    # Its ACCESS participant id ("ACCES" + 5 digits) and NPI, as its reports to CMS name it.
    access_participant_id: Mapped[str | None] = mapped_column(String(10))
    npi: Mapped[str | None] = mapped_column(String(10))
