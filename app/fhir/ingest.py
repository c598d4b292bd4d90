"""FHIR ingest: a batch or transaction Bundle of Observations stored as readings.

Invariants:
- storing is `/v1`'s (`app.readings.ingest.ingest`), one call per patient named, with the
  Observation mapped to the reading body `/v1` takes (`app/fhir/observation_mapping.py`): the
  same validation, units, conversions, ranges, eligibility and exactly-once rule (the
  identifier is the `client_id`), and in the same transaction the same rollups, alerts,
  `reading.created` webhook event and `reading` audit events;
- the callers are `/v1` ingest's (`app.patients.dependencies.IngestPatient`): people and
  devices; each entry's subject is loaded through reach (`app.patients.reach`), in one query
  for the whole Bundle; a patient out of reach or unknown is that entry's 404 and leaves a
  `denied` audit event, as `/v1` records one;
- a `batch` stores its valid entries and answers each bad one with its own OperationOutcome;
- a `transaction` is all or nothing (FHIR R4 http.html#transaction): its readings are stored
  under a SAVEPOINT, rolled back when any entry fails, and the answer is then one
  OperationOutcome naming every failing entry; only the denied-access audit events remain;
- patients are stored in the order of their ids, so two requests naming the same patients take
  their feed locks (`app/readings/feed.py`) in the same order and never deadlock.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.audit.denials import NO_PATIENT, parse_uuid
from app.auth.dependencies import ensure_role
from app.auth.principal import PEOPLE, Principal
from app.errors import FieldError
from app.fhir import observation_mapping, transactions
from app.fhir.observation_mapping import Mapped, Problem
from app.fhir.transactions import EntryResult, Failure, Stored
from app.outcomes.touch import take_touched
from app.patients import reach
from app.patients.models import Patient
from app.readings import ingest as readings_ingest
from app.readings.schemas import BatchItemResult, validate_reading

# `/v1`'s names of the times a message may mention.
_TIMES: Final = ("effective_at", "end_at")
# As `/v1` ingest (`IngestPatient`): people, and the patient's own devices.
INGEST_ROLES: Final = frozenset((*PEOPLE, "device"))


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Reading:
    """An entry ready for ingest: its patient's id and its reading body."""

    index: int
    patient_id: uuid.UUID
    mapped: Mapped


async def post_bundle(
    session: AsyncSession, *, principal: Principal, body: bytes, content_type: str | None
) -> Answer:
    """Store the Observations of a batch or transaction Bundle; the FHIR answer."""
    ensure_role(principal, roles=INGEST_ROLES)
    posted = transactions.read_bundle(body, content_type=content_type)
    if isinstance(posted, Failure):
        return Answer(posted.status, transactions.refusal(posted))
    results: dict[int, EntryResult] = {}
    readings, patients = await _readings(
        session, principal=principal, posted=posted, results=results
    )
    # A transaction is stored under a savepoint even when an entry failed already, so that the
    # answer names every entry that would fail, those ingest refuses included.
    savepoint = await session.begin_nested() if posted.kind == "transaction" else None
    results |= await _store(session, principal=principal, patients=patients, readings=readings)
    done = [results[index] for index in range(len(posted.entries))]
    failures = [(i, r) for i, r in enumerate(done) if isinstance(r, Failure)]
    if savepoint is not None:
        if failures:
            await savepoint.rollback()
            # The readings that changed these patients' standings are gone with the savepoint.
            take_touched(session, read=set())
            status, outcome = transactions.failed_transaction(failures, entries=len(done))
            return Answer(status, outcome)
        await savepoint.commit()
    return Answer(200, transactions.response_bundle(posted.kind, done))


async def _readings(
    session: AsyncSession,
    *,
    principal: Principal,
    posted: transactions.Posted,
    results: dict[int, EntryResult],
) -> tuple[list[_Reading], dict[str, Patient]]:
    """The entries to store, each with its patient (reached) and reading body, and the
    patients by reference; every other entry's failure goes into `results`."""
    subjects: dict[int, str] = {}
    for entry in posted.entries:
        if isinstance(entry, Failure):
            continue
        subject = observation_mapping.subject_id(entry.observation)
        if isinstance(subject, Problem):
            results[entry.index] = Failure(422, transactions.in_resource(entry.index, [subject]))
        else:
            subjects[entry.index] = subject
    patients = await _reachable(session, principal=principal, refs=set(subjects.values()))
    _audit_denied(session, principal=principal, refs=set(subjects.values()) - set(patients))
    readings: list[_Reading] = []
    for index, entry in enumerate(posted.entries):
        if isinstance(entry, Failure):
            results[index] = entry
        elif index in subjects:
            patient = patients.get(subjects[index])
            if patient is None:
                results[index] = _out_of_reach(index, subjects[index])
                continue
            mapped = observation_mapping.to_reading(entry.observation)
            if mapped.problems:
                results[index] = Failure(422, transactions.in_resource(index, mapped.problems))
            else:
                readings.append(_Reading(index, patient.id, mapped))
    return readings, patients


async def _reachable(
    session: AsyncSession, *, principal: Principal, refs: set[str]
) -> dict[str, Patient]:
    """The patients the references name that the caller may reach, by reference."""
    ids = {ref: patient_id for ref in refs if (patient_id := parse_uuid(ref)) is not None}
    own = reach.bound_patient(principal)
    if own is not None:
        if own not in ids.values():
            return {}
        patient = await reach.get_reachable(session, principal=principal, ref=str(own))
        return {ref: patient for ref, patient_id in ids.items() if patient_id == own}
    if not ids:
        return {}
    found = await session.scalars(
        reach.reachable_patients(principal).where(Patient.id.in_(set(ids.values())))
    )
    by_id = {patient.id: patient for patient in found}
    return {ref: by_id[patient_id] for ref, patient_id in ids.items() if patient_id in by_id}


def _out_of_reach(index: int, ref: str) -> Failure:
    problem = Problem(
        f"No such patient: Patient/{ref[:64]} is unknown or not one this caller may reach.",
        "subject.reference",
        "not-found",
    )
    return Failure(404, transactions.in_resource(index, [problem]))


def _audit_denied(session: AsyncSession, *, principal: Principal, refs: set[str]) -> None:
    """A `denied` event per patient out of reach, as `app.audit.denials` records a 404: under
    no patient (telling which would reveal whether it exists), naming the id requested."""
    requested = {parse_uuid(ref) for ref in refs}
    for resource_id in sorted(requested, key=str):
        audit_service.record(
            session,
            principal=principal,
            organization_id=principal.organization_id,
            patient_id=NO_PATIENT,
            action="create",
            resource_type="patient",
            resource_id=resource_id,
            outcome="denied",
        )


async def _store(
    session: AsyncSession,
    *,
    principal: Principal,
    patients: dict[str, Patient],
    readings: Sequence[_Reading],
) -> dict[int, EntryResult]:
    """Each patient's readings through `/v1` ingest, patients in id order; results by entry."""
    by_id = {patient.id: patient for patient in patients.values()}
    results: dict[int, EntryResult] = {}
    for patient_id in sorted({r.patient_id for r in readings}):
        mine = [r for r in readings if r.patient_id == patient_id]
        stored = await readings_ingest.ingest(
            session,
            principal=principal,
            patient=by_id[patient_id],
            readings=[validate_reading(r.mapped.body) for r in mine],
        )
        for reading, result in zip(mine, stored, strict=True):
            results[reading.index] = _result(reading, result)
    return results


def _result(reading: _Reading, result: BatchItemResult) -> EntryResult:
    if result.status == "invalid" or result.id is None:
        problems = [_problem(reading.mapped, error) for error in result.errors or ()]
        return Failure(422, transactions.in_resource(reading.index, problems))
    return Stored(result.id, created=result.status == "created")


def _problem(mapped: Mapped, error: FieldError) -> Problem:
    """A `/v1` field error at the Observation's element the field came from, in its words:
    `/v1`'s names for the times are the elements they came from."""
    element = mapped.element(error.path)
    message = error.message
    for name in _TIMES:
        if name in mapped.elements:
            message = message.replace(name, mapped.elements[name])
    if not element or element in message:
        return Problem(message, element)
    return Problem(f"{element}: {message}", element)
