"""FHIR primitive values written as the FHIR models write them. Pure: no I/O."""

from __future__ import annotations

from datetime import datetime


def date_time(moment: datetime) -> str:
    """A FHIR `dateTime`/`instant`: ISO 8601 with its offset, `Z` for UTC (as the models write
    it, so a searchset written from its dict equals the models' own JSON)."""
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
