"""Searchset Bundles: entries, their full URLs and the paging links. Pure: no I/O.

Invariants:
- a page that has more after it has a `next` link, the request's own URL with an opaque
  `_cursor` (app/pagination.py) in place of any it had; a client follows it as it is and ends
  at a page with no `next`, having seen every match once;
- every Bundle is validated by the FHIR models, every entry's resource with it, before it is
  returned: a resource the models refuse is a bug and never served. The Bundle is returned as
  the dict that validated, and written by orjson (`errors.bundle_response`): the library's own
  serializer walks every element in Python, about 45 ms for a page of 100 blood pressures
  against under 1 ms, and writes the same JSON (a test compares the two on every page).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from starlette.datastructures import URL

from app.fhir.search import PAGE_CURSOR


@dataclass(frozen=True, slots=True)
class Links:
    """Where a search was asked: the /fhir base and the request's URL."""

    base: str
    url: URL

    def next(self, cursor: str) -> str:
        return str(self.url.include_query_params(**{PAGE_CURSOR: cursor}))


def searchset(
    resource_type: str,
    resources: Sequence[dict[str, Any]],
    *,
    links: Links,
    next_cursor: str | None,
) -> dict[str, Any]:
    """A searchset Bundle of `resources` (dicts) with its self and next links, validated."""
    link = [{"relation": "self", "url": str(links.url)}]
    if next_cursor is not None:
        link.append({"relation": "next", "url": links.next(next_cursor)})
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "link": link}
    if resources:
        bundle["entry"] = [
            {
                "fullUrl": f"{links.base}/{resource_type}/{resource['id']}",
                "resource": resource,
                "search": {"mode": "match"},
            }
            for resource in resources
        ]
    Bundle.model_validate(bundle)
    return bundle
