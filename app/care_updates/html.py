"""A care-coordination update document as a page a clinician reads (`text/html`); pure.

Invariants: the page is the document itself, not a second rendering of its data: the
Composition's title and date, the Patient's name, birth date and MBI, the author's name, then
each section's title and narrative as the Bundle holds them (written by `narrative.py`, every
value escaped). Every other string the page shows is escaped here; the page has no script, and
the route serves it with a Content-Security-Policy that allows none (`CONTENT_SECURITY_POLICY`).
"""

from __future__ import annotations

from html import escape
from typing import Any, Final

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
_STYLE: Final = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
    "color:#111}table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #bbb;"
    "padding:.25rem .5rem;text-align:left;vertical-align:top}header p{margin:.2rem 0}"
)


def _resource(bundle: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type
    )


def _patient_lines(patient: dict[str, Any]) -> list[str]:
    name = patient["name"][0]
    lines = [
        f"Patient: {' '.join([*name.get('given', []), name.get('family', '')]).strip()}",
        f"Born: {patient.get('birthDate', 'unknown')}",
    ]
    mbi = next(
        (i["value"] for i in patient.get("identifier", []) if i.get("type")),
        None,
    )
    if mbi:
        lines.append(f"Medicare Beneficiary Identifier: {mbi}")
    return lines


def render(bundle: dict[str, Any]) -> str:
    """The page of a document Bundle built by `document.document`."""
    composition = bundle["entry"][0]["resource"]
    author = _resource(bundle, "Organization")
    header = [
        *_patient_lines(_resource(bundle, "Patient")),
        f"From: {author['name']}",
        f"Written: {composition['date']}",
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(composition['title'])}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<header><h1>{escape(composition['title'])}</h1>",
        *(f"<p>{escape(line)}</p>" for line in header),
        "</header>",
    ]
    for section in composition["section"]:
        parts.append(f"<section><h2>{escape(section['title'])}</h2>")
        parts.append(section["text"]["div"])  # the document's own escaped XHTML
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)
