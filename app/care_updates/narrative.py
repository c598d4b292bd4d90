"""XHTML for FHIR narratives, built from plain text that is always escaped; pure.

Invariants: every string given is text, never markup: `&`, `<`, `>` and quotes are escaped
(`html.escape`), so a name holding `<script>` shows as those characters and the result is
well-formed XHTML; only the elements FHIR narratives admit are written (`div`, `p`, `table`,
`thead`, `tbody`, `tr`, `th`, `td`, `b`): no scripts, forms, styles or attributes carrying code
(FHIR R4 narrative.html, constraint txt-1).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Final

XHTML: Final = "http://www.w3.org/1999/xhtml"


class Markup(str):
    """XHTML written here (its text escaped); any other `str` is text to escape."""


def text(value: object) -> Markup:
    return Markup(escape(str(value), quote=True))


def _inner(value: object) -> str:
    return value if isinstance(value, Markup) else text(value)


def element(name: str, *children: object) -> Markup:
    return Markup(f"<{name}>{''.join(_inner(c) for c in children)}</{name}>")


def paragraph(*children: object) -> Markup:
    return element("p", *children)


def bold(value: object) -> Markup:
    return element("b", value)


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> Markup:
    head = element("thead", element("tr", *(element("th", h) for h in headers)))
    body = [element("tr", *(element("td", cell) for cell in row)) for row in rows]
    return element("table", head, element("tbody", *body)) if body else Markup("")


def fields(rows: Iterable[tuple[str, object]]) -> Markup:
    """A two-column table of labelled values (no header row)."""
    body = [element("tr", element("th", label), element("td", value)) for label, value in rows]
    return element("table", element("tbody", *body))


def div(*children: object) -> Markup:
    """A narrative's root `div`, in the XHTML namespace as FHIR requires."""
    return Markup(f'<div xmlns="{XHTML}">{"".join(_inner(c) for c in children)}</div>')


def narrative(*children: object) -> dict[str, str]:
    """A FHIR Narrative, generated from the resource's data."""
    return {"status": "generated", "div": div(*children)}
