"""What makes two readings the same one: canonical values JSON and the identity hash.

Pure: no I/O.

Invariants:
- `values_json` is the one canonical text of a reading's values (sorted keys, no spaces): it is
  what is hashed and what is stored, so the two can never disagree.
- `identity_hash` depends on the instant, never on the offset it was written with, and on the
  canonical values, never on the unit they were sent in: 5.5 mmol/L at 09:00-05:00 and 99.1 mg/dL
  at 14:00Z are the same reading. Stored hashes must never change: a test pins some literally.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def values_json(values: dict[str, Any]) -> str:
    """Canonical JSON of a reading's values: sorted keys, no spaces (stored and hashed)."""
    return orjson.dumps(values, option=orjson.OPT_SORT_KEYS).decode()


def identity_hash(
    *,
    reading_type: str,
    effective_at: datetime,
    end_at: datetime | None,
    values: str,
    source_kind: str,
    device_id: uuid.UUID | None,
) -> str:
    """What makes two readings without client_id the same one: type, time, values and source.

    Times are exact UTC microseconds and `values` the canonical JSON of canonical values (ints
    for whole-number fields, rounded floats otherwise), so 5.5 mmol/L at 09:00-05:00 and
    99.1 mg/dL at 14:00Z are the same reading; 128 bits of SHA-256 are ample for one patient's
    readings.
    """
    end = str((end_at - _EPOCH) // _MICROSECOND) if end_at else ""
    material = "|".join(
        (
            reading_type,
            str((effective_at - _EPOCH) // _MICROSECOND),
            end,
            values,
            source_kind,
            str(device_id) if device_id else "",
        )
    )
    return hashlib.sha256(material.encode()).hexdigest()[:32]
