"""Check-ins as US Core QuestionnaireResponses: questionnaire canonical URLs, linkIds, answers.

Pure: no I/O. The check-in's instrument picks its Questionnaire.

Invariants:
- where the CMS ACCESS implementation guide has a questionnaire for the instrument, the
  response names the guide's canonical URL and uses its linkIds (the guide's items are the
  catalog's, in questionnaire order: `phq9-1` .. `phq9-10`, `pi6a-1` .. `pi6a-6`, `whodas-s1`
  .. `whodas-s12`); the guide has two PGICs, chosen by the care period's track (BH, MSK);
- every other instrument (PGIC outside those tracks, the daily check-in) has a stable
  canonical URL of this service, `OWN_BASE` + its catalog code, with the catalog's item ids;
- an answer is the scored value as `valueInteger` for a 0-10 rating scale (as the guide's NRS),
  otherwise a `valueCoding` showing the option's label with its scored value as the
  `ordinalValue` extension (as the guide's WHODAS and PGIC); where the option has a LOINC answer
  code (PHQ-9, GAD-7, PROMIS: `ANSWER_CODES`) the coding carries it too, as the guide's PHQ-9,
  GAD-7 and PROMIS responses do; unanswered items are left out;
- the score kept with the check-in (never recomputed) is a `valueDecimal` item: `total-score`
  (PHQ-9, GAD-7, WHODAS) or `raw_score` and `tscore` (PROMIS short forms), the guide's linkIds
  (IG 0.9.8 and 0.9.11; an earlier draft's MSK example coded the PROMIS scores and weighted
  the answers with `itemWeight`, which the published guide replaced by these);
- the same check-in is the same response wherever it is served: the /fhir search and the
  CMS report bundle (`app/fhir/report_bundle.py`, which points its references at the bundle's
  entries) both build it here.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Final
from zoneinfo import ZoneInfo

from app.checkins.instruments import CATALOG, Item
from app.fhir.primitives import date_time

IG_BASE: Final = "http://example.org/Questionnaire/"
# A canonical URL is an identity, not a location: one that does not move with the host a
# deployment is served from (`.example` is reserved, RFC 2606, so it can be no one else's).
OWN_BASE: Final = "http://access-rpm.example/fhir/Questionnaire/"
PROFILE: Final = (
    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-questionnaireresponse|6.1.0"
)
ORDINAL_VALUE: Final = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
LOINC: Final = "http://loinc.org"
URI_SYSTEM: Final = "urn:ietf:rfc:3986"
RATING_SCALE: Final = frozenset(range(11))


# LOINC answer codes of the options, by instrument and option label (docs/rules.md, sources 2
# and 14: the LOINC answer lists the guide's questionnaires bind). PHQ-9 and GAD-7 frequency:
# LL358-3; PHQ-9 difficulty: LL359-1; PROMIS pain interference (Not at all .. Very much), physical
# function ability (Without any difficulty .. Unable to do) and limitation (Not at all ..
# Cannot do): the PROMIS answer lists, as the guide's PROMIS responses code them.
_FREQUENCY_CODES: Final = {
    "Not at all": "LA6568-5",
    "Several days": "LA6569-3",
    "More than half the days": "LA6570-1",
    "Nearly every day": "LA6571-9",
}
_DIFFICULTY_CODES: Final = {
    "Not difficult at all": "LA6572-7",
    "Somewhat difficult": "LA6573-5",
    "Very difficult": "LA6575-0",
    "Extremely difficult": "LA6574-3",
}
_PROMIS_CODES: Final = {
    "Not at all": "LA6568-5",
    "A little bit": "LA13863-8",
    "Somewhat": "LA13909-9",
    "Quite a bit": "LA13902-4",
    "Very much": "LA13914-9",
    "Without any difficulty": "LA13921-4",
    "With a little difficulty": "LA13918-0",
    "With some difficulty": "LA13920-6",
    "With much difficulty": "LA13919-8",
    "Unable to do": "LA13912-3",
    "Very little": "LA13947-9",
    "Quite a lot": "LA11911-7",
    "Cannot do": "LA13868-7",
}
ANSWER_CODES: Final[dict[str, dict[str, str]]] = {
    "phq9": _FREQUENCY_CODES | _DIFFICULTY_CODES,
    "gad7": _FREQUENCY_CODES,
    "promis_pi_6a": _PROMIS_CODES,
    "promis_pf_6b": _PROMIS_CODES,
}


@dataclass(frozen=True, slots=True)
class Questionnaire:
    """The questionnaire a check-in answers: its canonical URL and how items are linked."""

    url: str
    instrument: str
    # The care-period track this questionnaire is for (the guide's PGICs), else None.
    track: str | None = None
    # `"phq9-{n}"`: the guide's linkId of the n-th item; None: the catalog's item ids.
    link_ids: str | None = None
    # linkIds of the kept total (or raw score) and T-score, where the guide has them.
    total_link: str | None = None
    t_score_link: str | None = None


_GUIDE: Final = (
    Questionnaire(IG_BASE + "PHQ9Questionnaire", "phq9", None, "phq9-{n}", "total-score"),
    Questionnaire(IG_BASE + "GAD7Questionnaire", "gad7", None, "gad7-{n}", "total-score"),
    Questionnaire(
        IG_BASE + "PROMISPainInterferenceSFQuestionnaire",
        "promis_pi_6a",
        None,
        "pi6a-{n}",
        "raw_score",
        "tscore",
    ),
    Questionnaire(
        IG_BASE + "PROMISPhysicalFunctionQuestionnaire",
        "promis_pf_6b",
        None,
        "pf6b-{n}",
        "raw_score",
        "tscore",
    ),
    Questionnaire(IG_BASE + "PROMISNRSQuestionnaire", "pain_nrs", None, "nrs-{n}"),
    Questionnaire(IG_BASE + "WHODASQuestionnaire", "whodas12", None, "whodas-s{n}", "total-score"),
    Questionnaire(IG_BASE + "BHPGICQuestionnaire", "pgic", "BH", "pgic-{n}"),
    Questionnaire(IG_BASE + "MSKPGICQuestionnaire", "pgic", "MSK", "pgic-{n}"),
)
# Ours only where the guide has none for some check-ins of the instrument (so the URL a
# search names is always one a response carries).
_OWN: Final = tuple(
    Questionnaire(OWN_BASE + code, code)
    for code in CATALOG
    if not any(q.instrument == code and q.track is None for q in _GUIDE)
)
BY_URL: Final[dict[str, Questionnaire]] = {q.url: q for q in (*_GUIDE, *_OWN)}


def questionnaire_for(instrument: str, track: str | None) -> Questionnaire:
    """The guide's questionnaire for the instrument (and the period's track, where the guide
    has one per track), else this service's own."""
    for candidate in _GUIDE:
        if candidate.instrument == instrument and candidate.track in (None, track):
            return candidate
    return BY_URL[OWN_BASE + instrument]


def track_variants(instrument: str) -> tuple[str, ...]:
    """The tracks with a questionnaire of their own for the instrument (PGIC: BH, MSK)."""
    return tuple(q.track for q in _GUIDE if q.instrument == instrument and q.track is not None)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True, slots=True)
class CheckinRow:
    """What a response is made of: a stored check-in and its care period's track."""

    id: uuid.UUID
    instrument: str
    version: str
    answers: dict[str, Any]
    total: int | None
    t_score: float | None
    completed_at: datetime
    timezone: str
    client_id: uuid.UUID | None
    entered_by_role: str
    track: str | None


def _answer(instrument: str, item: Item, value: int) -> dict[str, Any]:
    if item.values == RATING_SCALE:
        return {"valueInteger": value}
    label = next((o.label for o in item.options if o.value == value), None)
    if label is None:  # not an option of this version: the value as stored
        return {"valueInteger": value}
    coding: dict[str, Any] = {"extension": [{"url": ORDINAL_VALUE, "valueDecimal": value}]}
    code = ANSWER_CODES.get(instrument, {}).get(label)
    if code is not None:
        coding |= {"system": LOINC, "code": code}
    coding["display"] = label
    return {"valueCoding": coding}


def _items(row: CheckinRow, questionnaire: Questionnaire) -> list[dict[str, Any]]:
    instrument = CATALOG.get(row.instrument)
    items: list[dict[str, Any]] = []
    if instrument is not None:
        for position, item in enumerate(instrument.items, start=1):
            value = row.answers.get(item.id)
            if not isinstance(value, int):
                continue
            link = questionnaire.link_ids.format(n=position) if questionnaire.link_ids else item.id
            answer = _answer(row.instrument, item, value)
            items.append({"linkId": link, "text": item.text, "answer": [answer]})
    scores: Sequence[tuple[str | None, float | None]] = (
        (questionnaire.total_link, row.total),
        (questionnaire.t_score_link, row.t_score),
    )
    for score_link, score in scores:
        if score_link is not None and score is not None:
            items.append({"linkId": score_link, "answer": [{"valueDecimal": score}]})
    return items


def to_questionnaire_response(row: CheckinRow, *, patient_id: uuid.UUID) -> dict[str, Any]:
    """A check-in as a US Core QuestionnaireResponse (a dict for the model to validate)."""
    questionnaire = questionnaire_for(row.instrument, row.track)
    patient = {"reference": f"Patient/{patient_id}"}
    response: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": str(row.id),
        "meta": {"profile": [PROFILE]},
        "questionnaire": questionnaire.url,
        "status": "completed",
        "subject": patient,
        # In the patient's zone when it was stored, as /v1 shows its local day.
        "authored": date_time(row.completed_at.astimezone(_zone(row.timezone))),
        # The patient answered; staff may have typed the answers in for them.
        "source": patient,
    }
    if row.entered_by_role == "patient":
        response["author"] = patient
    if row.client_id is not None:
        response["identifier"] = {"system": URI_SYSTEM, "value": f"urn:uuid:{row.client_id}"}
    items = _items(row, questionnaire)
    if items:
        response["item"] = items
    return response
