"""Batch and transaction Bundles posted to /fhir: the body read entry by entry, and the answers
written. Pure: no I/O. Storing is `app/fhir/ingest.py`; an Observation's meaning is
`app/fhir/observation_mapping.py`.

Invariants (FHIR R4 http.html#transaction):
- the body is JSON (`application/fhir+json` or `application/json`), a Bundle of type `batch` or
  `transaction` with at most `MAX_ENTRIES` entries; anything else is refused whole, as one
  OperationOutcome (400; 415 for another media type; 422 for too many entries);
- each entry is read on its own, so a bad one never hides the others' outcomes: its request
  must be `POST Observation` (405 for another method, 400 for another URL or a conditional
  create other than on the identifier), its resource an Observation the FHIR models validate
  (400 naming each element they refuse);
- the answer to a batch or a transaction that succeeded is a `batch-response` or
  `transaction-response` with one entry per request entry, in order: `201 Created` or `200 OK`
  (already stored) with the reading's `Observation/<id>` as `location`, or the entry's error
  status with an OperationOutcome; a transaction that failed is one OperationOutcome naming
  every failing entry;
- every answer is validated by the FHIR models before it is returned;
- every problem names its element as a FHIRPath from the Bundle (`Bundle.entry[3].resource.
  valueQuantity.code`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias
from urllib.parse import parse_qsl

import orjson
from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome
from pydantic import BaseModel, ValidationError

from app.fhir import observation_mapping
from app.fhir.errors import printable
from app.fhir.observation_mapping import Problem
from app.readings.schemas import MAX_BATCH

Kind = Literal["batch", "transaction"]
KINDS: Final[tuple[Kind, ...]] = ("batch", "transaction")
MEDIA_TYPES: Final = ("application/fhir+json", "application/json")
# The FHIR media type before R4, still sent by some clients (http.html#mime-type).
_LEGACY_MEDIA_TYPE: Final = "application/json+fhir"
# As `/v1`'s batch: one request stores at most this many readings.
MAX_ENTRIES: Final = MAX_BATCH
# The FHIR models' complaints about one entry, at most.
_MAX_MODEL_ISSUES: Final = 20
STATUS_LINES: Final = {
    200: "200 OK",
    201: "201 Created",
    400: "400 Bad Request",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    415: "415 Unsupported Media Type",
    422: "422 Unprocessable Entity",
}


@dataclass(frozen=True, slots=True)
class Failure:
    """An entry (or the whole Bundle) refused: its status and problems (elements in full)."""

    status: int
    problems: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class Stored:
    """An entry stored now (`created`) or before, as the reading `reading_id`."""

    reading_id: uuid.UUID
    created: bool


@dataclass(frozen=True, slots=True)
class Create:
    """An entry that is a create of an Observation the FHIR models validated."""

    index: int
    observation: dict[str, Any]
    if_none_exist: str | None = None


@dataclass(frozen=True, slots=True)
class Posted:
    kind: Kind
    entries: list[Create | Failure]


EntryResult: TypeAlias = Stored | Failure


def refused(status: int, message: str, element: str = "", code: str = "invalid") -> Failure:
    return Failure(status, (Problem(message, element, code),))


def entry_path(index: int) -> str:
    return f"Bundle.entry[{index}]"


def in_resource(index: int, problems: Iterable[Problem]) -> tuple[Problem, ...]:
    """Problems about elements of entry `index`'s resource, named from the Bundle."""
    base = f"{entry_path(index)}.resource"
    return tuple(
        Problem(p.message, f"{base}.{p.element}" if p.element else base, p.code) for p in problems
    )


def read_bundle(body: bytes, *, content_type: str | None) -> Posted | Failure:
    """The posted Bundle, entry by entry, or why it is refused whole."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media not in (*MEDIA_TYPES, _LEGACY_MEDIA_TYPE):
        return refused(
            415,
            f"Content-Type must be {' or '.join(MEDIA_TYPES)}, not {media or 'none'!r}.",
            code="not-supported",
        )
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return refused(400, f"The body is not JSON: {exc}.", code="structure")
    if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
        return refused(400, "The body must be a FHIR Bundle (resourceType Bundle).", "Bundle")
    kind = document.get("type")
    if kind not in KINDS:
        return refused(
            400,
            f"Bundle.type must be batch or transaction, not {str(kind)[:40]!r}: this endpoint"
            " processes the entries of a batch or transaction.",
            "Bundle.type",
            "not-supported",
        )
    shell = {name: value for name, value in document.items() if name != "entry"}
    problems = _model_problems(Bundle, shell, "Bundle")
    entries = document.get("entry", [])
    if not isinstance(entries, list):
        problems.append(Problem("Bundle.entry must be an array.", "Bundle.entry", "structure"))
    if problems:
        return Failure(400, tuple(problems))
    if len(entries) > MAX_ENTRIES:
        return refused(
            422,
            f"A Bundle may have at most {MAX_ENTRIES} entries, not {len(entries)}.",
            "Bundle.entry",
            "too-long",
        )
    return Posted(kind=kind, entries=[read_entry(i, entry) for i, entry in enumerate(entries)])


def read_entry(index: int, entry: object) -> Create | Failure:
    """An entry as a create of an Observation, or why it is not one."""
    path = entry_path(index)
    if not isinstance(entry, dict):
        return refused(400, "An entry must be a JSON object.", path, "structure")
    shell = {name: value for name, value in entry.items() if name != "resource"}
    problems = _model_problems(BundleEntry, shell, path)
    if problems:
        return Failure(400, tuple(problems))
    request = entry.get("request")
    if request is None:
        return refused(
            400,
            "request is required in a batch or transaction: POST Observation.",
            f"{path}.request",
            "required",
        )
    method = request.get("method")
    if method != "POST":
        return refused(
            405,
            f"request.method {str(method)[:40]!r} is not supported: entries create Observations"
            " (POST Observation).",
            f"{path}.request.method",
            "not-supported",
        )
    url = request.get("url")
    if url != "Observation":
        return refused(
            400,
            f"request.url must be Observation, not {str(url)[:100]!r}: only Observations are"
            " created here.",
            f"{path}.request.url",
            "not-supported",
        )
    resource = entry.get("resource")
    if resource is None:
        return refused(400, "resource is required: an Observation.", f"{path}.resource", "required")
    if not isinstance(resource, dict) or resource.get("resourceType") != "Observation":
        sent = resource.get("resourceType") if isinstance(resource, dict) else resource
        return refused(
            400,
            f"resource must be an Observation, not {str(sent)[:40]!r}.",
            f"{path}.resource",
            "not-supported",
        )
    problems = _model_problems(Observation, resource, f"{path}.resource")
    if problems:
        return Failure(400, tuple(problems))
    if_none_exist = request.get("ifNoneExist")
    if if_none_exist is not None and not _on_identifier(if_none_exist, resource):
        return refused(
            400,
            "request.ifNoneExist may only be identifier=<system>|<value> of the Observation's"
            " first identifier with both: readings are created once per identifier anyway.",
            f"{path}.request.ifNoneExist",
            "not-supported",
        )
    return Create(index=index, observation=resource, if_none_exist=if_none_exist)


def _on_identifier(condition: str, observation: Mapping[str, Any]) -> bool:
    """Whether a conditional create asks what ingest does anyway: none with this identifier."""
    key = observation_mapping.key_identifier(observation)
    pairs = parse_qsl(condition, keep_blank_values=True)
    if key is None or len(pairs) != 1 or pairs[0][0] != "identifier":
        return False
    system, bar, value = pairs[0][1].partition("|")
    return bool(bar) and observation_mapping.client_id(
        system, value
    ) == observation_mapping.client_id(key[1], key[2])


def _model_problems(model: type[BaseModel], data: object, base: str) -> list[Problem]:
    """What the FHIR models refuse in `data`, each at its element under `base`."""
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return [_model_problem(base, error) for error in exc.errors()[:_MAX_MODEL_ISSUES]]
    except Exception:
        # The models raise TypeError or KeyError on some resources they cannot read (a
        # contained resource whose resourceType is null, or names no resource such as
        # `Element`): such a body is malformed, never a 500.
        return [Problem("Not valid FHIR: the FHIR models cannot read it.", base, "structure")]
    return []


def _model_problem(base: str, error: Mapping[str, Any]) -> Problem:
    """One complaint of the FHIR models, at its element: `valueQuantity.value: <message>`."""
    element = ""
    for part in error.get("loc", ()):
        element += f"[{part}]" if isinstance(part, int) else f".{part}"
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    shown = f"{element.removeprefix('.')}: {message}" if element else message
    return Problem(shown, base + element, "structure")


# --- answers -----------------------------------------------------------------------------------


def outcome(problems: Iterable[Problem], *, prefix: str = "") -> dict[str, Any]:
    """An OperationOutcome with an error issue per problem."""
    issues: list[dict[str, Any]] = []
    for problem in problems:
        issue: dict[str, Any] = {
            "severity": "error",
            "code": problem.code,
            "diagnostics": printable(prefix + problem.message) or "Refused.",
        }
        if problem.element:
            issue["expression"] = [printable(problem.element, limit=200)]
        issues.append(issue)
    return {"resourceType": "OperationOutcome", "issue": issues}


def refusal(failure: Failure) -> dict[str, Any]:
    """The OperationOutcome of a Bundle refused whole, validated."""
    answer = outcome(failure.problems)
    OperationOutcome.model_validate(answer)
    return answer


def response_bundle(kind: Kind, results: Sequence[EntryResult]) -> dict[str, Any]:
    """The batch-response or transaction-response: one entry per result, in order, validated."""
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": f"{kind}-response"}
    if results:
        bundle["entry"] = [{"response": _response(result)} for result in results]
    Bundle.model_validate(bundle)
    return bundle


def _response(result: EntryResult) -> dict[str, Any]:
    if isinstance(result, Stored):
        return {
            "status": STATUS_LINES[201 if result.created else 200],
            "location": f"Observation/{result.reading_id}",
        }
    return {"status": STATUS_LINES[result.status], "outcome": outcome(result.problems)}


def failed_transaction(
    failures: Sequence[tuple[int, Failure]], *, entries: int
) -> tuple[int, dict[str, Any]]:
    """A transaction of `entries` entries that failed (`failures`, by entry index): its status
    and OperationOutcome, an issue per problem of each failing entry, naming it.

    The status is the failing entries' own when they agree (404 when every failure is a
    patient out of reach), else 400 when one is malformed, else 422; an entry's 405 counts as
    a 400 here, since POST is the transaction's method and it is allowed.
    """
    statuses = {400 if f.status == 405 else f.status for _, f in failures}
    status = next(iter(statuses)) if len(statuses) == 1 else (400 if 400 in statuses else 422)
    summary = Problem(
        f"The transaction was not processed and nothing was stored: {len(failures)} of"
        f" {entries} entries failed.",
        "Bundle.entry",
        "processing",
    )
    issues = outcome([summary])["issue"]
    for index, failure in failures:
        prefix = f"entry {index} ({STATUS_LINES[failure.status]}): "
        issues += outcome(failure.problems, prefix=prefix)["issue"]
    answer = {"resourceType": "OperationOutcome", "issue": issues}
    OperationOutcome.model_validate(answer)
    return status, answer
