"""The CMS ACCESS implementation guide's canonical URLs and codes for reports. Pure: no I/O.

Source: docs/rules.md "Reporting to CMS" (source 2: the guide's code systems `ACCESSTrackCS`,
`ACCESSReportTypeCS`, `ACCESSReportDataCompositionSectionCS` and `ACCESSReportDataResultCS`, its
data-reporting profiles and
example bundles). The report bundle (`report_bundle.py`) and the `$report-data` Parameters name
the track and the report type by the same codings, so CMS's check that the Composition's track
section matches the `track` parameter holds by construction.
"""

from __future__ import annotations

from typing import Final

IG: Final = "https://dsacms.github.io/cmmi-access-model/"
BUNDLE_PROFILE: Final = IG + "StructureDefinition/access-data-reporting-bundle"
COMPOSITION_PROFILE: Final = IG + "StructureDefinition/access-data-reporting-composition"
TRACK_SYSTEM: Final = IG + "CodeSystem/ACCESSTrackCS"
REPORT_TYPE_SYSTEM: Final = IG + "CodeSystem/ACCESSReportTypeCS"
SECTION_SYSTEM: Final = IG + "CodeSystem/ACCESSReportDataCompositionSectionCS"
RESULT_SYSTEM: Final = IG + "CodeSystem/ACCESSReportDataResultCS"
# The participant id's identifier system, exactly as the guide's example Organization has it.
PARTICIPANT_ID_SYSTEM: Final = IG + "participant-id"
NPI_SYSTEM: Final = "http://hl7.org/fhir/sid/us-npi"
URI_SYSTEM: Final = "urn:ietf:rfc:3986"
LOINC: Final = "http://loinc.org"
# The document type of the guide's example Compositions (its profile does not fix one).
DOCUMENT_TYPE: Final = {
    "system": LOINC,
    "code": "74465-6",
    "display": "Questionnaire response Document",
}

# ACCESSTrackCS: code -> display.
TRACKS: Final[dict[str, str]] = {
    "eCKM": "Early Cardio-Kidney-Metabolic track",
    "CKM": "Cardio-Kidney-Metabolic track",
    "MSK": "Musculoskeletal track",
    "BH": "Behavioral Health track",
}
# This service's report type -> the ACCESSReportTypeCS code and display.
REPORT_TYPES: Final[dict[str, tuple[str, str]]] = {
    "baseline": ("baseline", "Baseline Data Report"),
    "quarterly": ("quarterly", "Quarterly Data Report"),
    "end_of_period": ("end-of-period", "End of Period Data Report"),
}
# ACCESSReportDataResultCS, the results of `$report-data`: code -> display.
RESULTS: Final[dict[str, str]] = {
    "success": "Success",
    "validation-error": "Validation error",
    "duplicate": "Duplicate submission",
    "patient-not-aligned": "Patient not aligned",
    "reporting-period-closed": "Reporting period closed",
    "incomplete-data": "Incomplete data",
    "incorrect-track": "Incorrect track",
}


def track_coding(track: str) -> dict[str, str]:
    """The ACCESSTrackCS coding of a track (`eCKM`, `CKM`, `MSK`, `BH`); ValueError otherwise."""
    display = TRACKS.get(track)
    if display is None:
        raise ValueError(f"unknown track {track!r}; known: {', '.join(TRACKS)}")
    return {"system": TRACK_SYSTEM, "code": track, "display": display}


def report_type_coding(report_type: str) -> dict[str, str]:
    """The ACCESSReportTypeCS coding of a report type (`baseline`, `quarterly`,
    `end_of_period` -> `end-of-period`); ValueError otherwise."""
    found = REPORT_TYPES.get(report_type)
    if found is None:
        raise ValueError(f"unknown report type {report_type!r}; known: {', '.join(REPORT_TYPES)}")
    code, display = found
    return {"system": REPORT_TYPE_SYSTEM, "code": code, "display": display}
