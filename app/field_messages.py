"""422 field messages written for people: one place turns pydantic's errors into sentences,
keyed on the error's `type`, with the allowed range read from the route's declarations
(docs/api.md "Errors")."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import core_schema

# Control characters are never echoed back in a message.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

# --- Field messages written for people (docs/api.md "Errors") ----------------------------------
# One place turns pydantic's errors into the sentences a 422 shows, keyed on the error's `type`
# (its wording is the library's, and changes with it): the field is named by its path, so a
# message says what the value must be, with the allowed range where there is one, and what was
# sent when that helps ("must have at most 1000 items (got 1152)"). A type not listed here is
# our own (`PydanticCustomError`, a `ValueError` in a validator): its message is already a
# sentence for people.

TIMESTAMP_MESSAGE = "must be a timestamp with an offset (RFC 3339, e.g. 2026-03-10T23:30:00-04:00)"
_FIXED: dict[str, str] = {
    "missing": "required field is missing",
    "extra_forbidden": "unknown field",
    **dict.fromkeys(("string_type", "bytes_type"), "must be a string"),
    "string_unicode": "must be valid Unicode text",
    "string_not_ascii": "must contain only ASCII characters",
    **dict.fromkeys(("int_type", "int_parsing", "int_from_float"), "must be a whole number"),
    "int_parsing_size": "is too large a number",
    **dict.fromkeys(
        ("float_type", "float_parsing", "decimal_type", "decimal_parsing"), "must be a number"
    ),
    "finite_number": "must be a finite number",
    **dict.fromkeys(("bool_type", "bool_parsing"), "must be true or false"),
    "none_required": "must be null",
    **dict.fromkeys(
        ("dict_type", "mapping_type", "model_type", "model_attributes_type", "dataclass_type"),
        "must be a JSON object",
    ),
    **dict.fromkeys(
        ("list_type", "tuple_type", "set_type", "frozen_set_type", "iterable_type"),
        "must be a list",
    ),
    **dict.fromkeys(
        ("uuid_type", "uuid_parsing", "uuid_version"),
        "must be a UUID (e.g. 3f2b8c1e-9d4a-4e6f-8b7a-1c2d3e4f5a6b)",
    ),
    **dict.fromkeys(
        ("date_type", "date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact"),
        "must be a date (YYYY-MM-DD)",
    ),
    **dict.fromkeys(
        (
            "datetime_type",
            "datetime_parsing",
            "datetime_from_date_parsing",
            "datetime_object_invalid",
            "timezone_aware",
        ),
        TIMESTAMP_MESSAGE,
    ),
    "timezone_naive": "must be a timestamp without an offset",
    **dict.fromkeys(("time_type", "time_parsing"), "must be a time of day (HH:MM:SS)"),
    "date_past": "must be a day in the past",
    "date_future": "must be a day in the future",
    "datetime_past": "must be in the past",
    "datetime_future": "must be in the future",
    **dict.fromkeys(("url_type", "url_parsing", "url_syntax_violation"), "must be a URL"),
    **dict.fromkeys(("json_invalid", "json_type"), "must be valid JSON"),
}
# The library's own error types (`ErrorType`); any other is ours, already a sentence.
_LIBRARY_TYPES = frozenset(get_args(core_schema.ErrorType))
_NUMBER_BOUNDS = ("gt", "ge", "lt", "le")
_LENGTH_BOUNDS = ("min_length", "max_length")


def field_message(error: Mapping[str, Any], *, declared: Mapping[str, Any] | None = None) -> str:
    """The sentence for one pydantic error (an item of `ValidationError.errors()`).

    `declared` holds the field's declared bounds (`ge`, `le`, `min_length`, ...) when the
    caller knows them, so a value off one end is told the whole allowed range.
    """
    kind = str(error.get("type", ""))
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    sent = error.get("input")
    if kind in _FIXED:
        return _FIXED[kind]
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        limits = _bounds(declared, ctx, _NUMBER_BOUNDS)
        return _number_range(limits) + _got_number(sent)
    if kind in ("string_too_short", "string_too_long"):
        limits = _bounds(declared, ctx, _LENGTH_BOUNDS)
        got = f" (got {len(sent)})" if isinstance(sent, str) else ""
        return _length_range(limits, "characters long", "character long") + got
    if kind in ("too_short", "too_long"):
        limits = _bounds(declared, ctx, _LENGTH_BOUNDS)
        got = f" (got {ctx['actual_length']})" if ctx.get("actual_length") is not None else ""
        return _length_range(limits, "items", "item", verb="have") + got
    if kind in ("literal_error", "enum"):
        return f"must be {ctx.get('expected', 'one of the values the schema lists')}"
    if kind == "multiple_of":
        return f"must be a multiple of {_number(ctx.get('multiple_of'))}"
    if kind == "string_pattern_mismatch":
        return "is not in the format the schema's pattern gives"
    if kind == "url_scheme":
        return f"must be a URL starting with {ctx.get('expected_schemes', 'http or https')}"
    if kind == "union_tag_invalid":
        return f"{ctx.get('discriminator')} must be one of {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        return f"{ctx.get('discriminator')} is required"
    if kind in _LIBRARY_TYPES:
        return "is not a valid value"
    return str(error.get("msg", "is not a valid value"))


def _bounds(
    declared: Mapping[str, Any] | None, ctx: Mapping[str, Any], names: Sequence[str]
) -> dict[str, Any]:
    """The field's bounds: those it declares, and the one the error names."""
    found = {name: value for name, value in (declared or {}).items() if name in names}
    found.update({name: ctx[name] for name in names if ctx.get(name) is not None})
    return found


def _number(value: Any) -> str:
    """250.0 -> "250", 0.5 -> "0.5"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _got_number(sent: Any) -> str:
    if isinstance(sent, bool) or not isinstance(sent, int | float | str):
        return ""
    if isinstance(sent, str) and (len(sent) > 24 or CONTROL.search(sent)):
        return ""
    return f" (got {_number(sent)})"


def _number_range(limits: Mapping[str, Any]) -> str:
    low = (
        f"at least {_number(limits['ge'])}"
        if "ge" in limits
        else f"greater than {_number(limits['gt'])}"
        if "gt" in limits
        else None
    )
    high = (
        f"at most {_number(limits['le'])}"
        if "le" in limits
        else f"less than {_number(limits['lt'])}"
        if "lt" in limits
        else None
    )
    if "ge" in limits and "le" in limits:
        return f"must be from {_number(limits['ge'])} to {_number(limits['le'])}"
    return "must be " + " and ".join(part for part in (low, high) if part)


def _length_range(limits: Mapping[str, Any], unit: str, one: str, *, verb: str = "be") -> str:
    low, high = limits.get("min_length"), limits.get("max_length")
    if low is not None and high is not None:
        if low == high:
            return f"must {verb} exactly {low} {one if low == 1 else unit}"
        return f"must {verb} {low} to {high} {unit}"
    if high is not None:
        return f"must {verb} at most {high} {one if high == 1 else unit}"
    return f"must {verb} at least {low} {one if low == 1 else unit}"


def declared_bounds(route: object, loc: Sequence[int | str]) -> dict[str, Any]:
    """The bounds (`ge`, `le`, `min_length`, ...) a route declares for the field at `loc`
    (`("query", "limit")`, `("body", "conditions")`), or none when it cannot be told."""
    if not isinstance(route, APIRoute) or len(loc) < 2:
        return {}
    where, name, *rest = loc
    info: FieldInfo | None = None
    if where == "body" and route.body_field is not None:
        info = route.body_field.field_info
        for part in (name, *rest):
            info = _child(info, part)
            if info is None:
                return {}
    elif where in ("query", "path", "header", "cookie") and not rest:
        info = next(
            (p.field_info for p in _params(route.dependant, f"{where}_params") if p.alias == name),
            None,
        )
    if info is None:
        return {}
    bounds: dict[str, Any] = {}
    for item in [*info.metadata, *_unwrap(info.annotation)[1]]:
        for key in (*_NUMBER_BOUNDS, *_LENGTH_BOUNDS):
            value = getattr(item, key, None)
            if isinstance(value, int | float) and not isinstance(value, bool):
                bounds[key] = value
    return bounds


def _params(dependant: Dependant, kind: str) -> Iterator[Any]:
    yield from getattr(dependant, kind)
    for sub in dependant.dependencies:
        yield from _params(sub, kind)


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """The type under `X | None` and `Annotated[X, ...]`, and the metadata found on the way."""
    metadata: list[Any] = []
    while True:
        args = [a for a in get_args(annotation) if a is not type(None)]
        if get_origin(annotation) in (Union, UnionType) and len(args) == 1:
            annotation = args[0]
        elif get_origin(annotation) is Annotated:
            annotation, *extra = get_args(annotation)
            for item in extra:
                metadata.extend(item.metadata if isinstance(item, FieldInfo) else [item])
        else:
            return annotation, metadata


def _child(info: FieldInfo, part: int | str) -> FieldInfo | None:
    """The field inside `info` at one step of an error's location (a name, or a list index)."""
    annotation, _ = _unwrap(info.annotation)
    if isinstance(part, int):
        if get_origin(annotation) in (list, tuple, set, frozenset) and get_args(annotation):
            return FieldInfo.from_annotation(get_args(annotation)[0])
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for field_name, field in annotation.model_fields.items():
            if (field.alias or field_name) == part:
                return field
    return None
