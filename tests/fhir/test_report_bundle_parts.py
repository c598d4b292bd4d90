"""The pure parts of a report bundle: the guide's codings, names, the sub-section table."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from app.checkins.instruments import CATALOG
from app.fhir.report_codes import (
    REPORT_TYPE_SYSTEM,
    TRACK_SYSTEM,
    report_type_coding,
    track_coding,
)
from app.fhir.report_parties import human_name
from app.fhir.report_sections import BY_KEY, SECTIONS, paragraph, track_section
from app.outcomes.rules import MEASURE_ORDER, REPORT_TYPES, load_ruleset
from app.readings.catalog import READING_TYPES


@pytest.mark.parametrize(
    ("track", "display"),
    [
        ("eCKM", "Early Cardio-Kidney-Metabolic track"),
        ("CKM", "Cardio-Kidney-Metabolic track"),
        ("MSK", "Musculoskeletal track"),
        ("BH", "Behavioral Health track"),
    ],
)
def test_track_coding(track: str, display: str) -> None:
    assert track_coding(track) == {"system": TRACK_SYSTEM, "code": track, "display": display}


@pytest.mark.parametrize(
    ("report_type", "code", "display"),
    [
        ("baseline", "baseline", "Baseline Data Report"),
        ("quarterly", "quarterly", "Quarterly Data Report"),
        ("end_of_period", "end-of-period", "End of Period Data Report"),
    ],
)
def test_report_type_coding(report_type: str, code: str, display: str) -> None:
    assert report_type_coding(report_type) == {
        "system": REPORT_TYPE_SYSTEM,
        "code": code,
        "display": display,
    }


def test_every_report_type_has_a_coding_and_unknown_ones_are_refused() -> None:
    assert {report_type_coding(t)["code"] for t in REPORT_TYPES} == {
        "baseline",
        "quarterly",
        "end-of-period",
    }
    with pytest.raises(ValueError, match="unknown track"):
        track_coding("ckm")
    with pytest.raises(ValueError, match="unknown report type"):
        report_type_coding("end-of-period")


@pytest.mark.parametrize(
    ("full", "name"),
    [
        ("Jane Q. Smith", {"text": "Jane Q. Smith", "family": "Smith", "given": ["Jane", "Q."]}),
        ("Cher", {"text": "Cher", "family": "Cher"}),
        ("  Ana   López ", {"text": "Ana López", "family": "López", "given": ["Ana"]}),
    ],
)
def test_human_name(full: str, name: dict[str, Any]) -> None:
    assert human_name(full) == name


def test_every_measure_has_its_sub_sections() -> None:
    rules = load_ruleset()
    shown = {section.measure for section in SECTIONS}
    assert shown == set(MEASURE_ORDER) == {m.name for m in rules.measures}
    # A sub-section is named by what its resources are: a reading type, an instrument, `bmi`.
    assert set(BY_KEY) <= set(READING_TYPES) | set(CATALOG) | {"bmi"}
    assert len(BY_KEY) == len(SECTIONS)


def test_narratives_are_escaped() -> None:
    assert paragraph("<b>Tom & Jerry's</b>") == "<p>&lt;b&gt;Tom &amp; Jerry's&lt;/b&gt;</p>"


def test_a_report_with_no_measure_due_has_an_empty_section() -> None:
    section = track_section(
        track="BH",
        report_type="quarterly",
        report_date=date(2026, 10, 1),
        measures=[],
        entries={},
    )
    assert "section" not in section
    assert section["emptyReason"]["coding"][0]["code"] == "nilknown"
    assert "no measures" in section["text"]["div"]
