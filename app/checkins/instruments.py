"""Versioned catalog of the check-in instruments (PROMs), as plain data.

Pure data: no I/O, no pydantic, no SQLAlchemy. `scoring.py` scores answers against this catalog;
the API serves it as `GET /v1/instruments`.

Invariants:
- items are listed in questionnaire order, and an item id is stable for the life of a version
  (answers are stored by item id, and the same instrument version must be used across a care
  period, docs/rules.md "Outcome measures");
- an option `value` is the value that is scored, never a display position;
- `scored` items add up to the total; other items (PHQ-9 difficulty, daily check-in) are kept but
  do not count.

Item wording: the PHQ-9 and GAD-7 are reproduced verbatim (Pfizer: "No permission required to
reproduce, translate, display or distribute"). PROMIS (HealthMeasures terms of use) and WHODAS 2.0
(WHO licence) wording is licensed, so their `text` is a short label written for this catalog, not
the official item; a deployment that administers them must show the licensed wording.

LOINC codes: panels and scores from docs/rules.md "Codes and units"; item codes from the CMS
ACCESS FHIR IG questionnaires (DSACMS/cmmi-access-model, Questionnaire-PHQ9/
-PROMISPhysicalFunction/-PROMISPainInterferenceSF) and LOINC-coded public questionnaires for
GAD-7.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Option:
    """One answer choice: `value` is the scored value, `label` what the person sees."""

    value: int
    label: str


@dataclass(frozen=True, slots=True)
class Item:
    """One question of an instrument."""

    id: str
    loinc: str | None
    text: str
    options: tuple[Option, ...]
    scored: bool = True

    @property
    def values(self) -> frozenset[int]:
        return frozenset(option.value for option in self.options)


@dataclass(frozen=True, slots=True)
class Instrument:
    """A versioned instrument: its codes and its items in questionnaire order."""

    code: str
    version: str
    title: str
    loinc: str | None  # panel (or section) code
    score_loinc: str | None  # the reported score: total, or T-score for PROMIS
    items: tuple[Item, ...]
    recall: str | None = None  # recall period shown before the items
    raw_score_loinc: str | None = None  # PROMIS raw summed score

    def item(self, item_id: str) -> Item | None:
        return next((item for item in self.items if item.id == item_id), None)

    @property
    def scored_items(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.scored)


def _scale(*labels: str, start: int = 0) -> tuple[Option, ...]:
    """Options valued start, start + 1, ... in the order given."""
    return tuple(Option(start + i, label) for i, label in enumerate(labels))


def _zero_to_ten(low: str, high: str) -> tuple[Option, ...]:
    """An 11-point numeric rating scale with its two anchors named."""
    return tuple(
        Option(n, f"{n} - {low}" if n == 0 else f"{n} - {high}" if n == 10 else str(n))
        for n in range(11)
    )


# PHQ-9 and GAD-7 share the response scale (LOINC answer list LL358-3).
_FREQUENCY: Final = _scale(
    "Not at all", "Several days", "More than half the days", "Nearly every day"
)
_DIFFICULTY: Final = _scale(
    "Not difficult at all", "Somewhat difficult", "Very difficult", "Extremely difficult"
)

PHQ9: Final = Instrument(
    code="phq9",
    version="1.0",
    title="Patient Health Questionnaire (PHQ-9)",
    loinc="44249-1",
    score_loinc="44261-6",
    recall=(
        "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
    ),
    items=(
        Item("phq9_1", "44250-9", "Little interest or pleasure in doing things", _FREQUENCY),
        Item("phq9_2", "44255-8", "Feeling down, depressed, or hopeless", _FREQUENCY),
        Item(
            "phq9_3",
            "44259-0",
            "Trouble falling or staying asleep, or sleeping too much",
            _FREQUENCY,
        ),
        Item("phq9_4", "44254-1", "Feeling tired or having little energy", _FREQUENCY),
        Item("phq9_5", "44251-7", "Poor appetite or overeating", _FREQUENCY),
        Item(
            "phq9_6",
            "44258-2",
            "Feeling bad about yourself - or that you are a failure or have let yourself or your "
            "family down",
            _FREQUENCY,
        ),
        Item(
            "phq9_7",
            "44252-5",
            "Trouble concentrating on things, such as reading the newspaper or watching television",
            _FREQUENCY,
        ),
        Item(
            "phq9_8",
            "44253-3",
            "Moving or speaking so slowly that other people could have noticed? Or the opposite - "
            "being so fidgety or restless that you have been moving around a lot more than usual",
            _FREQUENCY,
        ),
        Item(
            "phq9_9",
            "44260-8",
            "Thoughts that you would be better off dead or of hurting yourself in some way",
            _FREQUENCY,
        ),
        Item(
            "phq9_difficulty",
            "69722-7",
            "If you checked off any problems, how difficult have these problems made it for you to "
            "do your work, take care of things at home, or get along with other people?",
            _DIFFICULTY,
            scored=False,
        ),
    ),
)

GAD7: Final = Instrument(
    code="gad7",
    version="1.0",
    title="Generalized Anxiety Disorder (GAD-7)",
    loinc="69737-5",
    score_loinc="70274-6",
    recall="Over the last 2 weeks, how often have you been bothered by the following problems?",
    items=(
        Item("gad7_1", "69725-0", "Feeling nervous, anxious, or on edge", _FREQUENCY),
        Item("gad7_2", "68509-9", "Not being able to stop or control worrying", _FREQUENCY),
        Item("gad7_3", "69733-4", "Worrying too much about different things", _FREQUENCY),
        Item("gad7_4", "69734-2", "Trouble relaxing", _FREQUENCY),
        Item("gad7_5", "69735-9", "Being so restless that it is hard to sit still", _FREQUENCY),
        Item("gad7_6", "69689-8", "Becoming easily annoyed or irritable", _FREQUENCY),
        Item("gad7_7", "69736-7", "Feeling afraid, as if something awful might happen", _FREQUENCY),
    ),
)

# PROMIS: item ids are the official HealthMeasures item codes, lowercased. Labels are our own
# (licensed wording, see the module docstring). Item order is the short form's, as in the CMS
# ACCESS IG questionnaires (linkIds pi6a-1..6, pf6b-1..6).
_INTERFERENCE: Final = _scale(
    "Not at all", "A little bit", "Somewhat", "Quite a bit", "Very much", start=1
)

PROMIS_PI_6A: Final = Instrument(
    code="promis_pi_6a",
    version="1.0",
    title="PROMIS Short Form v1.0 - Pain Interference 6a",
    loinc="90973-9",
    score_loinc="77865-4",
    raw_score_loinc="90974-7",
    recall="In the past 7 days",
    items=(
        Item("painin9", "61758-9", "Pain interfered with day-to-day activities", _INTERFERENCE),
        Item("painin22", "61769-6", "Pain interfered with work around the home", _INTERFERENCE),
        Item(
            "painin31",
            "61773-8",
            "Pain interfered with taking part in social activities",
            _INTERFERENCE,
        ),
        Item("painin34", "61775-3", "Pain interfered with household chores", _INTERFERENCE),
        Item(
            "painin12", "61761-3", "Pain interfered with things usually done for fun", _INTERFERENCE
        ),
        Item(
            "painin36", "61777-9", "Pain interfered with enjoying social activities", _INTERFERENCE
        ),
    ),
)

# Physical function is scored so that higher = better: 5 = no difficulty / not limited at all
# (PROMIS PF item banks; the v1.2 6b calibrations score "Unable to do"/"Cannot do" as 1). The form
# lists the best answer first, so the options are listed 5 .. 1.
_ABILITY: Final = tuple(
    reversed(
        _scale(
            "Unable to do",
            "With much difficulty",
            "With some difficulty",
            "With a little difficulty",
            "Without any difficulty",
            start=1,
        )
    )
)
_LIMITATION: Final = tuple(
    reversed(_scale("Cannot do", "Quite a lot", "Somewhat", "Very little", "Not at all", start=1))
)

PROMIS_PF_6B: Final = Instrument(
    code="promis_pf_6b",
    version="1.2",
    title="PROMIS Short Form v1.2 - Physical Function 6b",
    loinc="76804-4",
    score_loinc="77866-2",
    raw_score_loinc="77797-9",
    recall=None,  # PROMIS physical function items have no time frame
    items=(
        Item("pfa11", "61597-1", "Able to do chores such as vacuuming or yard work", _ABILITY),
        Item("pfa21", "61607-8", "Able to go up and down stairs at a normal pace", _ABILITY),
        Item("pfa23", "61609-4", "Able to walk for at least 15 minutes", _ABILITY),
        Item("pfa53", "61635-9", "Able to run errands and shop", _ABILITY),
        Item("pfc12", "61688-8", "Health limits two hours of physical labor", _LIMITATION),
        Item("pfb1", "61639-1", "Health limits moderate housework such as vacuuming", _LIMITATION),
    ),
)

PAIN_NRS: Final = Instrument(
    code="pain_nrs",
    version="1.0",
    title="Pain intensity, average over the past 7 days (0-10 NRS)",
    loinc="72514-3",
    score_loinc="72514-3",
    recall="In the past 7 days",
    items=(
        Item(
            "pain_avg_7d",
            "72514-3",
            "How would you rate your pain on average?",
            _zero_to_ten("No pain", "Worst pain imaginable"),
        ),
    ),
)

# WHODAS 2.0 12-item, simple scoring: items 1-5, sum 12-60 (docs/rules.md "WHODAS 2.0 12-item").
# Item ids follow the CMS ACCESS IG linkIds whodas-s1 .. whodas-s12; the IG gives no LOINC codes.
_WHODAS_SCALE: Final = _scale("None", "Mild", "Moderate", "Severe", "Extreme or cannot do", start=1)
_WHODAS_LABELS: Final = (
    "Standing for a long time",
    "Taking care of household responsibilities",
    "Learning a new task",
    "Joining in community activities",
    "Being emotionally affected by health problems",
    "Concentrating on something for ten minutes",
    "Walking a long distance",
    "Washing the whole body",
    "Getting dressed",
    "Dealing with people you do not know",
    "Keeping up a friendship",
    "Day-to-day work or school",
)

WHODAS12: Final = Instrument(
    code="whodas12",
    version="2.0",
    title="WHO Disability Assessment Schedule 2.0 (12-item)",
    loinc=None,  # reported under the ACCESS section code WHODAS, not a LOINC panel
    score_loinc=None,
    recall="In the past 30 days, how much difficulty did you have in",
    items=tuple(
        Item(f"whodas_s{n}", None, label, _WHODAS_SCALE)
        for n, label in enumerate(_WHODAS_LABELS, start=1)
    ),
)

# PGIC as in the CMS ACCESS IG questionnaires (BH and MSK PGIC examples, linkId pgic-1): seven
# options, ordinal 1 = "Very much improved" .. 4 = "No change" .. 7 = "Very much worse".
PGIC: Final = Instrument(
    code="pgic",
    version="1.0",
    title="Patient Global Impression of Change (PGIC)",
    loinc=None,  # reported under the ACCESS section code PGIC
    score_loinc=None,
    recall="Since beginning treatment",
    items=(
        Item(
            "pgic_1",
            None,
            "Overall change since you began treatment",
            _scale(
                "Very much improved",
                "Much improved",
                "Minimally improved",
                "No change",
                "Minimally worse",
                "Much worse",
                "Very much worse",
                start=1,
            ),
        ),
    ),
)

_NO_YES: Final = _scale("No", "Yes")

# Our own daily check-in: feeds trends only, no total and no outcome.
DAILY: Final = Instrument(
    code="daily",
    version="1.0",
    title="Daily check-in",
    loinc=None,
    score_loinc=None,
    recall="Today",
    items=(
        Item(
            "pain_today",
            None,
            "Pain today",
            _zero_to_ten("No pain", "Worst pain imaginable"),
            scored=False,
        ),
        Item("mood", None, "Mood today", _zero_to_ten("Very bad", "Very good"), scored=False),
        Item("took_medication", None, "Took my medication as prescribed", _NO_YES, scored=False),
        Item("did_exercises", None, "Did my exercises", _NO_YES, scored=False),
    ),
)

CATALOG: Final[dict[str, Instrument]] = {
    instrument.code: instrument
    for instrument in (PHQ9, GAD7, PROMIS_PI_6A, PROMIS_PF_6B, PAIN_NRS, WHODAS12, PGIC, DAILY)
}


def get_instrument(code: str) -> Instrument:
    """The catalog entry for `code`; KeyError names the known codes."""
    try:
        return CATALOG[code]
    except KeyError:
        known = ", ".join(CATALOG)
        raise KeyError(f"unknown instrument {code!r}; known: {known}") from None
