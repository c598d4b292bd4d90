"""Identity of readings without client_id: what makes two bodies the same stored reading.

Through the real preparation path (`ingest.prepare`: schema, normalize, UTC, identity hash),
without a database. Properties: the hash ignores the offset an instant is written with and the
unit a value is sent in, and tells different instants and values apart. Literal hashes pin
what is already stored: a library upgrade must not change them.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from app.auth.principal import Principal
from app.devices.models import Device
from app.readings.catalog import READING_TYPES, Conversion, NumericField
from app.readings.ingest import Batch, Candidate, prepare
from app.readings.provenance import Provenance
from app.readings.schemas import validate_reading
from app.readings.units import normalize
from tests.readings.helpers import PROPERTY

ORG_ID = uuid.UUID("00000000-0000-4000-8000-00000000000a")
PATIENT_ID = uuid.UUID("00000000-0000-4000-8000-00000000000b")
DEVICE_ID = uuid.UUID("00000000-0000-4000-8000-00000000000d")
NOW = datetime(2025, 6, 1, tzinfo=UTC)
PATIENT = Principal(id=PATIENT_ID, role="patient", organization_id=ORG_ID, patient_id=PATIENT_ID)
SCALE = Principal(id=DEVICE_ID, role="device", organization_id=ORG_ID, patient_id=PATIENT_ID)


def prepared(body: dict[str, Any], principal: Principal = PATIENT) -> Candidate:
    devices = {}
    if principal.role == "device":
        devices[DEVICE_ID] = Device(id=DEVICE_ID, kind="scale", validated=True)
    batch = Batch(
        patient_id=PATIENT_ID,
        patient_timezone="America/New_York",
        provenance=Provenance(principal, devices=devices),
        now=NOW,
    )
    result = prepare(validate_reading(body), index=0, batch=batch)
    assert isinstance(result, Candidate), result
    return result


def digest(body: dict[str, Any], principal: Principal = PATIENT) -> str:
    hexdigest: str = prepared(body, principal).row["identity_hash"]
    return hexdigest


# --- strategies --------------------------------------------------------------------------------

# Any instant from 2000 up to NOW, to the microsecond; offsets in use span -12:00..+14:00.
instants = st.datetimes(
    min_value=datetime(2000, 1, 2), max_value=NOW.replace(tzinfo=None), timezones=st.just(UTC)
)
offsets = st.integers(-12 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))

ALTERNATIVES: list[tuple[str, NumericField, Conversion]] = [
    (name, f, conversion)
    for name, spec in READING_TYPES.items()
    for f in spec.numeric
    for conversion in f.alternatives
]


@st.composite
def alternative_values(
    draw: st.DrawFn, count: int = 1
) -> tuple[str, NumericField, Conversion, list[float]]:
    """A type with an alternative unit, and distinct in-range values in that unit at its
    resolution."""
    name, f, conversion = draw(st.sampled_from(ALTERNATIVES))
    scale = 10**conversion.decimals
    low = math.ceil(conversion.from_canonical(f.minimum) * scale)
    high = math.floor(conversion.from_canonical(f.maximum) * scale)
    steps = draw(st.lists(st.integers(low, high), min_size=count, max_size=count, unique=True))
    return name, f, conversion, [step / scale for step in steps]


def written(instant: datetime, offset: timezone) -> str:
    return instant.astimezone(offset).isoformat()


# --- properties --------------------------------------------------------------------------------


@PROPERTY
@given(instant=instants, first=offsets, second=offsets, value=st.integers(40, 250))
def test_hash_ignores_the_offset_an_instant_is_written_with(
    instant: datetime, first: timezone, second: timezone, value: int
) -> None:
    body = {"type": "heart_rate", "value": value}
    assert digest({**body, "effective_at": written(instant, first)}) == digest(
        {**body, "effective_at": written(instant, second)}
    )


@PROPERTY
@given(drawn=alternative_values(), instant=instants, first=offsets, second=offsets)
def test_hash_ignores_the_unit_a_value_is_sent_in(
    drawn: tuple[str, NumericField, Conversion, list[float]],
    instant: datetime,
    first: timezone,
    second: timezone,
) -> None:
    reading_type, f, conversion, (value,) = drawn
    sent = {"type": reading_type, "value": value, "unit": conversion.unit}
    canonical = normalize(reading_type, sent)
    assert canonical.ok, canonical.problems
    # The same reading sent in the canonical unit, as the canonical value, at another offset.
    same = {"type": reading_type, "value": canonical.values["value"], "unit": f.unit}
    assert digest({**sent, "effective_at": written(instant, first)}) == digest(
        {**same, "effective_at": written(instant, second)}
    )


@PROPERTY
@given(
    instant=instants,
    earlier=st.timedeltas(timedelta(microseconds=1), timedelta(days=1)),
    first=offsets,
    second=offsets,
)
def test_different_instants_have_different_hashes(
    instant: datetime, earlier: timedelta, first: timezone, second: timezone
) -> None:
    body = {"type": "glucose", "value": 100, "unit": "mg/dL"}
    assert digest({**body, "effective_at": written(instant, first)}) != digest(
        {**body, "effective_at": written(instant - earlier, second)}
    )


@PROPERTY
@given(drawn=alternative_values(count=2), instant=instants, other_unit=st.booleans())
def test_different_values_have_different_hashes(
    drawn: tuple[str, NumericField, Conversion, list[float]],
    instant: datetime,
    other_unit: bool,
) -> None:
    reading_type, f, conversion, values = drawn
    at = instant.isoformat()
    bodies = [
        {"type": reading_type, "value": value, "unit": conversion.unit, "effective_at": at}
        for value in values
    ]
    if other_unit:  # the second one sent in the canonical unit
        canonical = normalize(reading_type, bodies[1])
        bodies[1] = {**bodies[1], "value": canonical.values["value"], "unit": f.unit}
    first, second = (prepared(body) for body in bodies)
    # Two values an alternative unit tells apart may round to one canonical value (HbA1c: 1
    # mmol/mol is less than 0.1 %): those are the same reading.
    assume(first.row["values"] != second.row["values"])
    assert first.row["identity_hash"] != second.row["identity_hash"]


def test_steps_interval_end_and_source_are_part_of_identity() -> None:
    body = {"type": "steps", "count": 4200, "effective_at": "2025-03-03T12:20:00+00:00"}
    hashes = {
        digest({**body, "end_at": "2025-03-03T13:20:00+00:00"}),
        digest({**body, "end_at": "2025-03-03T13:21:00+00:00"}),
        digest({**body, "end_at": "2025-03-03T13:20:00+00:00", "source": {"kind": "lab"}}),
        digest({**body, "end_at": "2025-03-03T13:20:00+00:00"}, SCALE),
    }
    assert len(hashes) == 4


# --- stored hashes never change ----------------------------------------------------------------

# Computed once and written out: a change here re-identifies every stored reading without
# client_id, so resent readings would be stored twice. Never update these to make a test pass.
FIXED: list[tuple[dict[str, Any], Principal, str, str]] = [
    (
        {"type": "blood_pressure", "systolic": 128, "diastolic": 82, "pulse": 70,
         "effective_at": "2025-03-03T08:00:00-05:00"},
        PATIENT,
        '{"diastolic":82,"pulse":70,"systolic":128}',
        "746525d43304ac71cdb1c81eff2eb870",
    ),
    (
        {"type": "glucose", "value": 5.5, "unit": "mmol/L", "specimen": "capillary",
         "effective_at": "2025-03-03T12:00:00Z"},
        PATIENT,
        '{"specimen":"capillary","unit":"mg/dL","value":99.1}',
        "bb09b2c0ad068ebbc149061e308e3ee1",
    ),
    (
        {"type": "steps", "count": 4200, "effective_at": "2025-03-03T12:20:00+00:00",
         "end_at": "2025-03-03T13:20:00+00:00"},
        PATIENT,
        '{"count":4200}',
        "aba3520607fe71ca606ab750dc30641d",
    ),
    (
        {"type": "weight", "value": 180, "unit": "[lb_av]",
         "effective_at": "2025-03-03T07:30:00.250000+01:00"},
        SCALE,
        '{"unit":"kg","value":81.65}',
        "609a33b447c250ca42faafc65bc91e7b",
    ),
]  # fmt: skip


def test_identity_hashes_are_fixed() -> None:
    for body, principal, values, expected in FIXED:
        candidate = prepared(body, principal)
        assert candidate.values_json == values
        assert candidate.row["identity_hash"] == expected, body["type"]
