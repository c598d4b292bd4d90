"""Scoring of check-in answers: one pure function per instrument, one dispatch, one validator.

Pure computations over plain data (no I/O). `validate` lists what is wrong with a set of answers;
`score` validates, then scores, and raises `InvalidAnswers` (the API layer turns it into a 422).

Invariants:
- a valid answer is a plain `int` (never a bool, a float or a string) equal to one of the item's
  option values, for an item id of that instrument;
- a missing item is not an error: it makes the result not scorable (`scorable=False`, `total`
  None, `missing` names the items), except where a cited rule allows prorating;
- safety flags do not depend on scorability: PHQ-9 item 9 > 0 raises `self_harm_risk` even when
  the rest of the questionnaire is unanswered, and item 9 unanswered raises
  `safety_item_missing` even when the total is prorated (a missing self-harm answer never passes
  silently, docs/rules.md "PHQ-9");
- totals are integers; PROMIS T-scores come from a lookup table (one decimal), never from a
  formula at request time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from app.checkins.instruments import (
    DAILY,
    GAD7,
    PAIN_NRS,
    PGIC,
    PHQ9,
    PROMIS_PF_6B,
    PROMIS_PI_6A,
    WHODAS12,
    Instrument,
    Item,
    get_instrument,
)

SELF_HARM_RISK: Final = "self_harm_risk"
SAFETY_ITEM_MISSING: Final = "safety_item_missing"
# PHQ-9 item 9: thoughts of being better off dead or of self-harm (docs/rules.md "PHQ-9").
PHQ9_SAFETY_ITEM: Final = "phq9_9"


@dataclass(frozen=True, slots=True)
class Problem:
    """One invalid answer: the item id (as sent) and a message naming the allowed values."""

    item: str
    message: str


class InvalidAnswers(ValueError):
    """Answers that do not fit the instrument; `problems` says which and why."""

    def __init__(self, instrument: str, problems: tuple[Problem, ...]) -> None:
        super().__init__(f"{instrument}: " + "; ".join(p.message for p in problems))
        self.instrument = instrument
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Score:
    """The result of scoring one check-in.

    `total` is the instrument's total (the raw summed score for PROMIS); `t_score` and `se` are set
    for PROMIS only; `band` for PHQ-9 and GAD-7 only. `daily` has no score by design: `total` is
    None while `scorable` is True.
    """

    instrument: str
    version: str
    scorable: bool
    total: int | None = None
    t_score: float | None = None
    se: float | None = None
    band: str | None = None
    prorated: bool = False
    missing: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()


# --- Validation ----------------------------------------------------------------------------------


def _allowed(item: Item) -> str:
    values = sorted(item.values)
    if values == list(range(values[0], values[-1] + 1)):
        return f"an integer from {values[0]} to {values[-1]}"
    return "one of " + ", ".join(str(v) for v in values)


def validate(instrument_code: str, *, answers: Mapping[str, object]) -> tuple[Problem, ...]:
    """Problems with `answers` for this instrument, in questionnaire order then unknown ids.

    Raises KeyError for an unknown instrument code.
    """
    instrument = get_instrument(instrument_code)
    problems: list[Problem] = []
    for item in instrument.items:
        if item.id not in answers:
            continue
        value = answers[item.id]
        # bool is a subclass of int in Python; True is not an answer to "how often".
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(
                Problem(
                    item.id,
                    f"{item.id} must be {_allowed(item)}; got {value!r} ({type(value).__name__})",
                )
            )
        elif value not in item.values:
            problems.append(Problem(item.id, f"{item.id} must be {_allowed(item)}; got {value}"))
    known = {item.id for item in instrument.items}
    for item_id in answers:
        if item_id not in known:
            problems.append(
                Problem(
                    item_id,
                    f"unknown item {item_id!r} for {instrument.code} v{instrument.version}; "
                    f"known items: {', '.join(item.id for item in instrument.items)}",
                )
            )
    return tuple(problems)


# --- Shared rules --------------------------------------------------------------------------------

Band = tuple[int, int, str]  # inclusive low, inclusive high, name

# Kroenke K, Spitzer RL, Williams JBW. The PHQ-9: validity of a brief depression severity measure.
# J Gen Intern Med 2001;16:606-613 (severity cut-points 5, 10, 15, 20); names per the API contract.
PHQ9_BANDS: Final[tuple[Band, ...]] = (
    (0, 4, "minimal"),
    (5, 9, "mild"),
    (10, 14, "moderate"),
    (15, 19, "moderately_severe"),
    (20, 27, "severe"),
)

# Spitzer RL, Kroenke K, Williams JBW, Loewe B. A brief measure for assessing generalized anxiety
# disorder: the GAD-7. Arch Intern Med 2006;166:1092-1097 (cut-points 5, 10, 15).
GAD7_BANDS: Final[tuple[Band, ...]] = (
    (0, 4, "minimal"),
    (5, 9, "mild"),
    (10, 14, "moderate"),
    (15, 21, "severe"),
)


def _band(total: int, bands: tuple[Band, ...]) -> str:
    for low, high, name in bands:
        if low <= total <= high:
            return name
    raise ValueError(f"total {total} outside the bands {bands[0][0]}-{bands[-1][1]}")


def _missing(instrument: Instrument, answers: Mapping[str, int]) -> tuple[str, ...]:
    return tuple(item.id for item in instrument.scored_items if item.id not in answers)


def _not_scorable(
    instrument: Instrument, missing: tuple[str, ...], flags: tuple[str, ...] = ()
) -> Score:
    return Score(
        instrument=instrument.code,
        version=instrument.version,
        scorable=False,
        missing=missing,
        flags=flags,
    )


def _prorated_total(
    instrument: Instrument, answers: Mapping[str, int], *, max_missing: int
) -> tuple[int, bool] | None:
    """Sum of the scored items, prorated when 1..max_missing are missing; None past that.

    Prorated total = mean of the answered items x number of items, rounded half-up to an integer
    (integer arithmetic, so x.5 always rounds up and no float error can move a band edge).
    """
    items = instrument.scored_items
    answered = [answers[item.id] for item in items if item.id in answers]
    missing = len(items) - len(answered)
    if missing == 0:
        return sum(answered), False
    if missing > max_missing or not answered:
        return None
    n, k = len(items), len(answered)
    return (2 * sum(answered) * n + k) // (2 * k), True


def _banded(
    instrument: Instrument,
    answers: Mapping[str, int],
    bands: tuple[Band, ...],
    flags: tuple[str, ...] = (),
) -> Score:
    # At most one missing item, prorated. docs/rules.md "PHQ-9": "More than one missing item: not
    # scorable". With one missing, the missing item takes the mean of the answered items (NHS Data
    # Dictionary, "Patient Health Questionnaire-9": missing values "substituted with the average
    # score of the non-missing items"; it allows two, docs/rules.md allows one). GAD-7 follows the
    # same rule for consistency: both come from the PHQ family and share the 0-3 response scale.
    result = _prorated_total(instrument, answers, max_missing=1)
    if result is None:
        return _not_scorable(instrument, _missing(instrument, answers), flags)
    total, prorated = result
    return Score(
        instrument=instrument.code,
        version=instrument.version,
        scorable=True,
        total=total,
        band=_band(total, bands),
        prorated=prorated,
        missing=_missing(instrument, answers),
        flags=flags,
    )


def _complete_sum(instrument: Instrument, answers: Mapping[str, int]) -> Score:
    """Simple sum of every scored item; any missing item makes it not scorable."""
    missing = _missing(instrument, answers)
    if missing:
        return _not_scorable(instrument, missing)
    total = sum(answers[item.id] for item in instrument.scored_items)
    return Score(instrument=instrument.code, version=instrument.version, scorable=True, total=total)


# --- PROMIS lookup tables ------------------------------------------------------------------------
#
# Raw summed score -> (T-score, SE), one decimal. These are the expected a posteriori (EAP)
# summed-score tables that the HealthMeasures scoring manuals print for short forms (Lord &
# Wingersky 1984; Thissen et al. 1995), computed from the official item calibrations (graded
# response model, logistic, N(0,1) prior, quadrature -4..4 step 0.1, T = 50 + 10 x theta, rounded
# half-up). Calibrations: HealthMeasures Assessment Center forms "PROMIS SF v1.0 - Pain
# Interference 6a" (OID 0CC98AD0-9D47-49F5-9132-5826D0E4980C) and "PROMIS SF v1.2 - Physical
# Function 6b" (OID 55299025-097B-4086-86EF-68F362FA34AC), as embedded in Stanford CHOIR
# (chamtrain/choir-d, src/main/java/edu/stanford/survey/server/promis/). The tests re-run the
# derivation.
#
# Cross-checks: the same computation reproduces the published PROMIS-29 v1.0 4a tables (Pain
# Interference 4a: 17/17 T-scores, 16/17 SEs; Physical Function 4a: 17/17 T-scores, as quoted from
# the PROMIS manual in public analysis code), and the CMS ACCESS IG examples (DSACMS/cmmi-access-
# model, Bundle-MSKReportDataBundleExample: PI 6a raw 15 -> 58.6, PF 6b raw 17 -> 36.8).
# Not compared line by line with the PDF tables of the HealthMeasures "PROMIS Pain Interference"
# and "PROMIS Physical Function" scoring manuals: if they differ, the manual wins (the extreme raw
# scores, 6 and 30, are the values most sensitive to the quadrature, by about 0.1).

PROMIS_PI_6A_TSCORES: Final[Mapping[int, tuple[float, float]]] = {
    6: (41.1, 6.0),
    7: (48.6, 2.4),
    8: (50.7, 1.8),
    9: (52.2, 1.6),
    10: (53.4, 1.6),
    11: (54.5, 1.6),
    12: (55.6, 1.5),
    13: (56.6, 1.5),
    14: (57.6, 1.5),
    15: (58.6, 1.5),
    16: (59.5, 1.5),
    17: (60.4, 1.4),
    18: (61.2, 1.4),
    19: (62.1, 1.4),
    20: (63.0, 1.5),
    21: (63.8, 1.5),
    22: (64.8, 1.5),
    23: (65.7, 1.5),
    24: (66.7, 1.5),
    25: (67.6, 1.5),
    26: (68.7, 1.5),
    27: (69.8, 1.5),
    28: (71.0, 1.6),
    29: (72.6, 2.0),
    30: (76.2, 3.5),
}

PROMIS_PF_6B_TSCORES: Final[Mapping[int, tuple[float, float]]] = {
    6: (21.6, 3.6),
    7: (25.4, 2.6),
    8: (27.5, 2.2),
    9: (29.1, 2.1),
    10: (30.4, 2.0),
    11: (31.5, 1.9),
    12: (32.5, 1.8),
    13: (33.4, 1.8),
    14: (34.3, 1.8),
    15: (35.1, 1.8),
    16: (36.0, 1.8),
    17: (36.8, 1.8),
    18: (37.6, 1.8),
    19: (38.5, 1.8),
    20: (39.3, 1.8),
    21: (40.2, 1.8),
    22: (41.1, 1.8),
    23: (42.1, 1.8),
    24: (43.1, 1.9),
    25: (44.2, 1.9),
    26: (45.4, 2.0),
    27: (46.8, 2.2),
    28: (48.6, 2.6),
    29: (50.9, 2.9),
    30: (58.7, 6.2),
}


def _promis(
    instrument: Instrument, table: Mapping[int, tuple[float, float]], answers: Mapping[str, int]
) -> Score:
    # All items required, no prorating (docs/rules.md "PROMIS short forms"): a summed-score
    # table is only valid for the complete form.
    missing = _missing(instrument, answers)
    if missing:
        return _not_scorable(instrument, missing)
    raw = sum(answers[item.id] for item in instrument.scored_items)
    t_score, se = table[raw]
    return Score(
        instrument=instrument.code,
        version=instrument.version,
        scorable=True,
        total=raw,
        t_score=t_score,
        se=se,
    )


# --- One function per instrument (answers already validated) -------------------------------------


def score_phq9(answers: Mapping[str, int]) -> Score:
    """PHQ-9 total 0-27 and band; item 9 > 0 flags self-harm risk whatever else is missing, and
    item 9 unanswered flags that the safety question is missing (prorated or not)."""
    return _banded(PHQ9, answers, PHQ9_BANDS, phq9_safety_flags(answers))


def phq9_safety_flags(answers: Mapping[str, int]) -> tuple[str, ...]:
    """docs/rules.md "PHQ-9": item 9 above 0 is a self-harm risk; item 9 unanswered is flagged
    too, since proration would otherwise hide that the question went unanswered."""
    item9 = answers.get(PHQ9_SAFETY_ITEM)
    if item9 is None:
        return (SAFETY_ITEM_MISSING,)
    return (SELF_HARM_RISK,) if item9 > 0 else ()


def score_gad7(answers: Mapping[str, int]) -> Score:
    """GAD-7 total 0-21 and band."""
    return _banded(GAD7, answers, GAD7_BANDS)


def score_promis_pi_6a(answers: Mapping[str, int]) -> Score:
    """PROMIS Pain Interference 6a v1.0: raw 6-30 and T-score (higher = worse)."""
    return _promis(PROMIS_PI_6A, PROMIS_PI_6A_TSCORES, answers)


def score_promis_pf_6b(answers: Mapping[str, int]) -> Score:
    """PROMIS Physical Function 6b v1.2: raw 6-30 and T-score (higher = better)."""
    return _promis(PROMIS_PF_6B, PROMIS_PF_6B_TSCORES, answers)


def score_pain_nrs(answers: Mapping[str, int]) -> Score:
    """Pain intensity 0-10: the total is the single answer."""
    return _complete_sum(PAIN_NRS, answers)


def score_whodas12(answers: Mapping[str, int]) -> Score:
    """WHODAS 2.0 12-item simple score: sum of items 1-5, 12-60; all items required.

    The WHODAS 2.0 manual's missing-data handling belongs to its complex (IRT) scoring; for the
    simple sum we do not impute.
    """
    return _complete_sum(WHODAS12, answers)


def score_pgic(answers: Mapping[str, int]) -> Score:
    """PGIC: the total is the answer, 1 (very much improved) .. 7 (very much worse); no band."""
    return _complete_sum(PGIC, answers)


def score_daily(answers: Mapping[str, int]) -> Score:
    """Daily check-in: no score (answers feed trends); every item is optional."""
    return Score(instrument=DAILY.code, version=DAILY.version, scorable=True)


SCORERS: Final[Mapping[str, Callable[[Mapping[str, int]], Score]]] = {
    PHQ9.code: score_phq9,
    GAD7.code: score_gad7,
    PROMIS_PI_6A.code: score_promis_pi_6a,
    PROMIS_PF_6B.code: score_promis_pf_6b,
    PAIN_NRS.code: score_pain_nrs,
    WHODAS12.code: score_whodas12,
    PGIC.code: score_pgic,
    DAILY.code: score_daily,
}


def score(instrument_code: str, *, answers: Mapping[str, int]) -> Score:
    """Validate and score `answers`; raises InvalidAnswers, or KeyError for an unknown code."""
    problems = validate(instrument_code, answers=answers)
    if problems:
        raise InvalidAnswers(instrument_code, problems)
    return SCORERS[instrument_code](answers)
