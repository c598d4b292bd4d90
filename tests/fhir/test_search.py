"""The search parameters' parsing, table-driven (pure: no app)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from app.errors import AppError
from app.fhir import search

NEW_YORK = ZoneInfo("America/New_York")


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


BOUNDS: list[tuple[str, str | None, str | None]] = [
    ("2026-01-01", "2026-01-01T05:00", "2026-01-02T05:00"),  # a New York day
    ("eq2026-01", "2026-01-01T05:00", "2026-02-01T05:00"),
    ("2026-12", "2026-12-01T05:00", "2027-01-01T05:00"),
    ("2026", "2026-01-01T05:00", "2027-01-01T05:00"),
    ("ge2026-01-01", "2026-01-01T05:00", None),
    ("gt2026-01-01", "2026-01-02T05:00", None),
    ("le2026-01-01", None, "2026-01-02T05:00"),
    ("lt2026-01-01", None, "2026-01-01T05:00"),
    ("2026-03-08", "2026-03-08T05:00", "2026-03-09T04:00"),  # the day clocks go forward
    ("2026-01-01T10:00Z", "2026-01-01T10:00", "2026-01-01T10:01"),
    ("2026-01-01T10:00:00+01:00", "2026-01-01T09:00", "2026-01-01T09:00:01"),
    ("gt2026-01-01T10:00:00.5Z", "2026-01-01T10:00:00.600000", None),
]


@pytest.mark.parametrize(("text", "lower", "upper"), BOUNDS)
def test_date_bounds(text: str, lower: str | None, upper: str | None) -> None:
    (param,) = search.dates([text])
    start, end = param.bounds(NEW_YORK)
    assert (start and start.astimezone(UTC)) == (lower and _utc(lower))
    assert (end and end.astimezone(UTC)) == (upper and _utc(upper))


@pytest.mark.parametrize(
    "text",
    ["", "ge", "26-01-01", "2026-1-1", "2026-02-29", "2100-01-01", "ne2026", "2026-01-01T10:00",
     "2026-01-01T24:00Z", "2026-01-01 10:00Z", "ge 2026"],
)  # fmt: skip
def test_dates_refused(text: str) -> None:
    with pytest.raises(AppError) as refused:
        search.dates([text])
    assert refused.value.status_code == 400
    assert [f.path for f in refused.value.fields or []] == ["date"]


@pytest.mark.parametrize(
    ("raw", "codes"),
    [
        ("8480-6", {"8480-6"}),
        ("8480-6,8462-4", {"8480-6", "8462-4"}),
        ("http://loinc.org|85354-9", {"85354-9"}),
        ("http://snomed.info/sct|271649006,29463-7", {"29463-7"}),
    ],
)
def test_loinc_codes(raw: str, codes: set[str]) -> None:
    assert search.loinc_codes(raw) == codes


@pytest.mark.parametrize(("raw", "ref"), [("abc", "abc"), ("Patient/abc", "abc")])
def test_patient_reference(raw: str, ref: str) -> None:
    assert search.patient_id(raw) == ref


@pytest.mark.parametrize("raw", ["Group/abc", "Patient/", "a b", "x" * 65])
def test_patient_reference_refused(raw: str) -> None:
    with pytest.raises(AppError):
        search.patient_id(raw)


def test_parameters_known_once() -> None:
    search.check_parameters(["patient", "date", "date"], known=search.OBSERVATION_PARAMETERS)
    for names in (["patient", "patient"], ["subject"]):
        with pytest.raises(AppError):
            search.check_parameters(names, known=search.OBSERVATION_PARAMETERS)
