"""The track section of a report's Composition: one sub-section per measure. Pure: no I/O.

Invariants (docs/api.md "Report bundles", docs/rules.md "Reporting to CMS"):
- exactly one track section, coded by the report's track (ACCESSTrackCS), with a narrative;
- its sub-sections are the CMS ACCESS guide's, coded as its example bundles code them (LOINC
  where the guide has a LOINC code, `ACCESSReportDataCompositionSectionCS` for WHODAS and PGIC),
  in the order of those examples; the lipids sub-section is 18262-6 whatever the method of the
  LDL it holds (the Observation keeps its own code, 18262-6 or 13457-7);
- a sub-section is written only when the report holds resources for it; each has a narrative
  giving the report's value and references its resources by their fullUrls;
- a resource's sub-section is named by what it is: a reading by its type, a check-in by its
  instrument, the derived BMI by `bmi` (`RESOURCE_ORDER`); a height is in the bundle only as
  what a BMI was derived from, in no sub-section (the guide has none for it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Any, Final

from app.fhir.report_codes import LOINC, SECTION_SYSTEM, report_type_coding, track_coding

XHTML: Final = "http://www.w3.org/1999/xhtml"
EMPTY_REASONS: Final = "http://terminology.hl7.org/CodeSystem/list-empty-reason"


@dataclass(frozen=True, slots=True)
class Section:
    """A sub-section of the track section: the resources it holds, its title and code."""

    key: str  # a reading type, an instrument code, or `bmi`
    measure: str  # the report measure whose value it shows
    title: str
    coding: dict[str, str]


def _loinc(code: str) -> dict[str, str]:
    return {"system": LOINC, "code": code}


def _access(code: str) -> dict[str, str]:
    return {"system": SECTION_SYSTEM, "code": code}


# In the order of the guide's example bundles (eCKM/CKM, then MSK and BH merged: MSK has PF, PI,
# PGIC, NRS and BH has PHQ-9, GAD-7, WHODAS, PGIC in these relative orders).
SECTIONS: Final = (
    Section("blood_pressure", "blood_pressure", "Blood Pressure", _loinc("85354-9")),
    Section("weight", "weight", "Weight", _loinc("29463-7")),
    Section("bmi", "weight", "BMI", _loinc("39156-5")),
    Section("hba1c", "hba1c", "HbA1c", _loinc("4548-4")),
    Section("egfr", "egfr_uacr", "eGFR", _loinc("98979-8")),
    Section("uacr", "egfr_uacr", "uACR", _loinc("14959-1")),
    Section("ldl", "ldl", "Lipids", _loinc("18262-6")),
    Section(
        "promis_pf_6b",
        "physical_function",
        "PROMIS Physical Function Short Form 6b",
        _loinc("76804-4"),
    ),
    Section(
        "promis_pi_6a",
        "pain_interference",
        "PROMIS Pain Interference Short Form 6a",
        _loinc("90973-9"),
    ),
    Section("phq9", "depression", "Depression (PHQ-9)", _loinc("44249-1")),
    Section("gad7", "anxiety", "Anxiety (GAD-7)", _loinc("69737-5")),
    Section("whodas12", "function_whodas", "Overall Function (WHODAS 2.0)", _access("WHODAS")),
    Section("pgic", "global_impression", "Patient's Global Impression of Change", _access("PGIC")),
    Section("pain_nrs", "pain_intensity", "PROMIS Pain Intensity NRS", _loinc("72514-3")),
)
BY_KEY: Final = {section.key: section for section in SECTIONS}
HEIGHT: Final = "height"
# The order of the bundle's data entries: the sub-sections', a height after the weight.
RESOURCE_ORDER: Final = tuple(
    key
    for section in SECTIONS
    for key in (section.key, *((HEIGHT,) if section.key == "weight" else ()))
)


def _number(value: Any) -> str:
    return f"{float(value):g}"


def _component(name: str, unit: str) -> Callable[[Mapping[str, Any]], str]:
    return lambda m: f"{_number(m['components'][name])} {unit}."


# What each sub-section's narrative says of the report's value.
_DESCRIBE: Final[dict[str, Callable[[Mapping[str, Any]], str]]] = {
    "blood_pressure": lambda m: (
        f"mean of {m['n']} readings, {_number(m['value'])}/{_number(m['diastolic'])} mm[Hg]."
    ),
    "weight": lambda m: f"{_number(m['value'])} kg.",
    "bmi": lambda m: (
        f"{_number(m['bmi'])} kg/m2, from this weight and the latest height at or before it."
    ),
    "hba1c": lambda m: f"{_number(m['value'])} %.",
    "egfr": _component("egfr", "mL/min/{1.73_m2}"),
    "uacr": _component("uacr", "mg/g"),
    "ldl": lambda m: f"LDL cholesterol {_number(m['value'])} mg/dL.",
    "promis_pf_6b": lambda m: f"T-score {_number(m['value'])}.",
    "promis_pi_6a": lambda m: f"T-score {_number(m['value'])}.",
    "phq9": lambda m: f"total score {_number(m['value'])} (0-27).",
    "gad7": lambda m: f"total score {_number(m['value'])} (0-21).",
    "whodas12": lambda m: f"total score {_number(m['value'])} (12-60).",
    "pgic": lambda m: (
        f"answer {_number(m['value'])} of 7 (1 very much improved, 4 no change, 7 very much worse)."
    ),
    "pain_nrs": lambda m: f"average pain {_number(m['value'])} of 10 over the past 7 days.",
}


def paragraph(text: str) -> str:
    return f"<p>{escape(text, quote=False)}</p>"


def narrative(*html: str) -> dict[str, str]:
    """A generated Narrative of XHTML fragments (already escaped)."""
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">{"".join(html)}</div>'}


def _subsection(
    section: Section, measure: Mapping[str, Any], urls: Sequence[str]
) -> dict[str, Any]:
    return {
        "title": section.title,
        "code": {"coding": [section.coding]},
        "text": narrative(paragraph(f"{section.title}: {_DESCRIBE[section.key](measure)}")),
        "entry": [{"reference": url} for url in urls],
    }


def track_section(
    *,
    track: str,
    report_type: str,
    report_date: date,
    measures: Sequence[Mapping[str, Any]],
    entries: Mapping[str, Sequence[str]],
) -> dict[str, Any]:
    """The report's one track section; `entries` maps a sub-section key to the fullUrls of its
    resources, and `measures` are the report's (each sub-section shows its measure's value)."""
    by_name = {m["measure"]: m for m in measures}
    subsections = [
        _subsection(section, by_name[section.measure], entries[section.key])
        for section in SECTIONS
        if entries.get(section.key)
    ]
    titles = ", ".join(s["title"] for s in subsections) or "no measures"
    kind = report_type_coding(report_type)["display"]
    section: dict[str, Any] = {
        "title": f"Data reporting for {track} track",
        "code": {"coding": [track_coding(track)]},
        "text": narrative(
            paragraph(f"{track_coding(track)['display']}: {kind} of {report_date.isoformat()}."),
            paragraph(f"Reported: {titles}."),
        ),
    }
    if subsections:
        section["section"] = subsections
    else:  # a report with no measure due (cmp-2: only an empty section gives a reason)
        section["emptyReason"] = {
            "coding": [{"system": EMPTY_REASONS, "code": "nilknown", "display": "Nil Known"}]
        }
    return section
