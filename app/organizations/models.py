from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, CreatedMixin, IdMixin


class Organization(IdMixin, CreatedMixin, Base):
    """A participant organization (tenant); every person and patient belongs to one."""

    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(200))
    # Its ACCESS participant id ("ACCES" + 5 digits) and NPI, as its reports to CMS name it.
    access_participant_id: Mapped[str | None] = mapped_column(String(10))
    npi: Mapped[str | None] = mapped_column(String(10))
    # Where and as whom its reports go to CMS's Data Reporting API (OAuth client credentials);
    # the secret is kept encrypted (`app/cms/secrets.py`) and never returned.
    cms_base_url: Mapped[str | None] = mapped_column(String(2048))
    cms_client_id: Mapped[str | None] = mapped_column(String(200))
    cms_client_secret: Mapped[str | None] = mapped_column(Text)
