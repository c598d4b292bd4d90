# mypy: disallow-any-expr
"""A patient app's flow through the client openapi-python-client generates from the schema.

`.ci/run` ("generated client") generates the package `access_rpm_client` from
openapi/openapi.json into a temporary directory, checks this file against it with
`mypy --strict` (and, by the comment on the first line, no expression typed `Any`: every answer
the flow reads is a generated model), starts a server, loads the demo (`python -m app demo`) and
runs

    python .ci/client_flow.py BASE_URL ACTIVATION_CODE

with the activation code of the demo's BH patient. Then, only through the generated client's
typed functions, as a patient app would (docs/api.md):

1. activates the one-time code (`/v1/auth/activate`: tokens and a `login`), then signs its
   requests with the access token;
2. sends a batch of readings: a cuff's blood pressure, a scale's weight in pounds, a glucometer's
   glucose in mmol/L, and the blood pressure again (same `client_id`: a duplicate);
3. follows the changes feed from the start, page by page, to the server's live set, and finds
   the readings in canonical units (kg, mg/dL), each in its own read model;
4. answers a PHQ-9 from the instrument catalog (and sends it again: the same check-in, 200);
5. reads progress toward the outcome targets: the depression measure's current value is that
   PHQ-9's total.

Any answer other than the one expected ends it with an error and a non-zero exit status.
"""

from __future__ import annotations

import secrets
import sys
import uuid
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import TypeVar

from access_rpm_client import AuthenticatedClient, Client
from access_rpm_client.api.auth import activate, me
from access_rpm_client.api.checkins import list_due_checkins, list_instruments, submit_checkin
from access_rpm_client.api.outcomes import get_progress
from access_rpm_client.api.readings import ingest_batch, reading_changes
from access_rpm_client.models import (
    ActivateRequest,
    BatchItemResultStatus,
    BloodPressureIn,
    BloodPressureRead,
    CheckinCreate,
    CheckinCreateAnswers,
    CheckinCreateInstrument,
    EnrollmentProgress,
    EnrollmentProgressTrack,
    ErrorBody,
    GlucoseIn,
    GlucoseInUnit,
    GlucoseMeal,
    GlucoseRead,
    InstrumentReadCode,
    MeasuredValue,
    MeasuredValueSource,
    MeasureProgressRead,
    MeasureProgressReadMeasure,
    ReadingBatch,
    ReadingChange,
    ReadingChangeOp,
    WeightIn,
    WeightInUnit,
    WeightRead,
)
from access_rpm_client.types import Response

T = TypeVar("T")
ME = "me"  # a signed-in patient's own id in any patient path


class FlowError(Exception):
    """An answer the patient app did not expect."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise FlowError(message)


def of_type(value: object, cls: type[T], what: str) -> T:
    """`value`, which must be a `cls`."""
    if not isinstance(value, cls):
        raise FlowError(f"{what}: expected a {cls.__name__}, got {value!r}")
    return value


def answer(response: Response[T | ErrorBody], status: HTTPStatus) -> T:
    """The typed body of an answer with `status`; anything else (an error body) is a failure."""
    parsed = response.parsed
    if response.status_code != status or parsed is None or isinstance(parsed, ErrorBody):
        raise FlowError(
            f"expected {status.value}, got {response.status_code.value}:"
            f" {response.content.decode(errors='replace')}"
        )
    return parsed


def run(base_url: str, code: str) -> None:
    anonymous = Client(base_url=base_url, raise_on_unexpected_status=True)
    password = "flow-" + secrets.token_urlsafe(18)
    tokens = answer(
        activate.sync_detailed(
            client=anonymous, body=ActivateRequest(code=code, password=password)
        ),
        HTTPStatus.OK,
    )
    expect(tokens.login != "", "activation named no login")
    patient = AuthenticatedClient(
        base_url=base_url, token=tokens.access_token, raise_on_unexpected_status=True
    )
    who = answer(me.sync_detailed(client=patient), HTTPStatus.OK)
    expect(who.login == tokens.login, f"/v1/me says login {who.login!r}, not {tokens.login!r}")
    print(f"activated: login {tokens.login}, patient {who.patient_id}")

    reading_ids = ingest(patient)
    follow_changes(patient, reading_ids)
    total = check_in(patient)
    check_progress(patient, phq9_total=total)
    print("client flow: every step answered as expected")


def ingest(patient: AuthenticatedClient) -> dict[str, uuid.UUID]:
    """A batch from three devices, the cuff's reading sent twice: created x3, then duplicate."""
    now = datetime.now(UTC)
    cuff = BloodPressureIn(
        type_="blood_pressure",
        effective_at=now - timedelta(minutes=30),
        systolic=128,
        diastolic=82,
        pulse=71,
        client_id=uuid.uuid4(),
    )
    scale = WeightIn(
        type_="weight",
        effective_at=now - timedelta(minutes=20),
        value=180.0,
        unit=WeightInUnit.LB_AV,
        client_id=uuid.uuid4(),
    )
    meter = GlucoseIn(
        type_="glucose",
        effective_at=now - timedelta(minutes=10),
        value=5.5,
        unit=GlucoseInUnit.MMOL_PER_L,
        meal=GlucoseMeal.FASTING,
        client_id=uuid.uuid4(),
    )
    readings: list[BloodPressureIn | WeightIn | GlucoseIn] = [cuff, scale, meter, cuff]
    batch = answer(
        ingest_batch.sync_detailed(ME, client=patient, body=ReadingBatch(readings=list(readings))),
        HTTPStatus.OK,
    )
    statuses = [result.status for result in batch.results]
    expect(
        statuses == [BatchItemResultStatus.CREATED] * 3 + [BatchItemResultStatus.DUPLICATE],
        f"batch results {statuses}",
    )
    ids = {
        name: of_type(result.id, uuid.UUID, f"batch result {result.index}'s id")
        for name, result in zip(("cuff", "scale", "meter", "again"), batch.results, strict=True)
    }
    expect(ids["again"] == ids["cuff"], "the duplicate names another reading than the first")
    print(f"batch: {', '.join(s.value for s in statuses)}")
    return ids


def follow_changes(patient: AuthenticatedClient, ids: dict[str, uuid.UUID]) -> None:
    """From the start of the feed to its end, the live set: the batch's readings, canonical."""
    live: dict[uuid.UUID, ReadingChange] = {}
    cursor: str | None = None
    pages = 0
    while True:
        page = answer(
            reading_changes.sync_detailed(ME, client=patient, limit=50, cursor=cursor),
            HTTPStatus.OK,
        )
        pages += 1
        for change in page.changes:
            if change.op == ReadingChangeOp.DELETE:
                live.pop(change.reading.id, None)
            else:
                live[change.reading.id] = change
        cursor = page.next_cursor
        if not page.has_more:
            break
    expect(cursor is not None, "the feed's last page gave no cursor to poll with")
    again = answer(reading_changes.sync_detailed(ME, client=patient, cursor=cursor), HTTPStatus.OK)
    expect(again.changes == [], "polling at the end of the feed gave changes")

    missing = [name for name in ("cuff", "scale", "meter") if ids[name] not in live]
    expect(not missing, f"the feed's live set lacks the readings of the {missing}")
    cuff = of_type(live[ids["cuff"]].reading, BloodPressureRead, "the cuff's reading")
    expect((cuff.systolic, cuff.diastolic) == (128, 82), f"blood pressure {cuff!r}")
    expect(cuff.unit == "mm[Hg]", f"blood pressure in {cuff.unit}")
    scale = of_type(live[ids["scale"]].reading, WeightRead, "the scale's reading")
    # 180 [lb_av] x 0.45359237 kg/[lb_av] = 81.65 kg
    expect(scale.unit == "kg" and abs(scale.value - 81.65) < 0.1, f"weight {scale!r}")
    meter = of_type(live[ids["meter"]].reading, GlucoseRead, "the glucometer's reading")
    # 5.5 mmol/L of glucose is 99 mg/dL (docs/rules.md "Codes and units")
    expect(meter.unit == "mg/dL" and abs(meter.value - 99.1) < 0.5, f"glucose {meter!r}")
    print(f"changes feed: {len(live)} live readings in {pages} pages")


# PHQ-9 answers totalling 5 ("mild", docs/rules.md "Scoring references"); item 9 stays 0.
PHQ9_ANSWERS = {"phq9_1": 1, "phq9_2": 1, "phq9_3": 1, "phq9_4": 1, "phq9_5": 1}


def check_in(patient: AuthenticatedClient) -> int:
    """Answers a PHQ-9 built from the catalog's items; sending it again returns the same one."""
    due = answer(list_due_checkins.sync_detailed(ME, client=patient), HTTPStatus.OK)
    print(f"check-ins due today ({due.today}): {[i.instrument.value for i in due.items]}")
    catalog = answer(list_instruments.sync_detailed(client=patient), HTTPStatus.OK)
    phq9 = next(i for i in catalog.items if i.code == InstrumentReadCode.PHQ9)
    answers = CheckinCreateAnswers()
    for item in phq9.items:
        chosen = PHQ9_ANSWERS.get(item.id, 0)
        expect(chosen in {o.value for o in item.options}, f"{item.id} has no option {chosen}")
        answers[item.id] = chosen
    body = CheckinCreate(
        client_id=uuid.uuid4(),
        instrument=CheckinCreateInstrument.PHQ9,
        version=phq9.version,
        answers=answers,
        completed_at=datetime.now(UTC) - timedelta(minutes=1),
    )
    result = answer(submit_checkin.sync_detailed(ME, client=patient, body=body), HTTPStatus.CREATED)
    expected = sum(PHQ9_ANSWERS.values())
    expect(result.score.total == expected, f"PHQ-9 total {result.score.total}, not {expected}")
    expect(result.score.band == "mild", f"PHQ-9 band {result.score.band!r}")
    expect(result.flags == [], f"PHQ-9 flags {result.flags}")
    repeat = answer(submit_checkin.sync_detailed(ME, client=patient, body=body), HTTPStatus.OK)
    expect(repeat.id == result.id, "the resent check-in was stored twice")
    print(f"PHQ-9: total {result.score.total}, band {result.score.band}")
    return expected


def check_progress(patient: AuthenticatedClient, *, phq9_total: int) -> None:
    """The BH care period's depression measure now stands on the PHQ-9 just answered."""
    progress = answer(get_progress.sync_detailed(ME, client=patient), HTTPStatus.OK)
    bh = of_type(
        next((i for i in progress.items if i.track == EnrollmentProgressTrack.BH), None),
        EnrollmentProgress,
        "the BH care period's progress",
    )
    depression = of_type(
        next((m for m in bh.measures if m.measure == MeasureProgressReadMeasure.DEPRESSION), None),
        MeasureProgressRead,
        "the depression measure",
    )
    current = of_type(depression.current, MeasuredValue, "depression's current value")
    expect(current.source == MeasuredValueSource.CHECKINS, f"depression from {current.source}")
    expect(current.value == phq9_total, f"depression's current value {current.value}")
    for measure in bh.measures:
        print(f"progress: {measure.measure.value}: {measure.status.value}")


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        run(argv[1], argv[2])
    except FlowError as exc:
        print(f"client flow failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
