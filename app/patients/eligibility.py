"""Who qualifies for which track (docs/rules.md "Tracks and qualifying conditions"); pure rules.

`enrollment_problem` returns the violated rule as a sentence, or None when the enrollment is valid.
`json_schema` states the same rules for the OpenAPI document; a property test holds the two to
the same verdict on every body.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.schemas import one_of_constraints

ECKM_CONDITIONS = frozenset(
    {"hypertension", "dyslipidemia", "obesity", "overweight_central", "prediabetes"}
)
CKM_QUALIFYING = frozenset({"diabetes", "ckd_3a", "ckd_3b", "ascvd"})
# A CKM enrollment may list the eCKM conditions the patient has as comorbidities: they decide
# which measures apply, not whether the patient qualifies (prediabetes cannot sit with diabetes).
CKM_COMORBIDITIES = frozenset({"hypertension", "dyslipidemia", "obesity", "overweight_central"})
TRACK_CONDITIONS = {
    "eCKM": ECKM_CONDITIONS,
    "CKM": CKM_QUALIFYING | CKM_COMORBIDITIES,
    "MSK": frozenset({"chronic_msk_pain"}),
    "BH": frozenset({"depression", "anxiety"}),
}
# Obesity and overweight with central obesity are one eCKM criterion (BMI >= 30 vs 25-29.99).
WEIGHT_CRITERION = frozenset({"obesity", "overweight_central"})
MUTUALLY_EXCLUSIVE = (WEIGHT_CRITERION, frozenset({"ckd_3a", "ckd_3b"}))
# Without hypertension, eCKM needs two of these criteria.
ECKM_CRITERIA: tuple[str | frozenset[str], ...] = ("dyslipidemia", WEIGHT_CRITERION, "prediabetes")
NO_FOLLOW_ON = frozenset({"MSK"})


def enrollment_problem(
    track: str, *, conditions: Sequence[str], region: str | None, period: str
) -> str | None:
    allowed = TRACK_CONDITIONS[track]
    if len(set(conditions)) != len(conditions):
        return "Each condition may be listed once."
    foreign = [c for c in conditions if c not in allowed]
    if foreign:
        if track == "eCKM" and CKM_QUALIFYING.intersection(foreign):
            return (
                f"{', '.join(foreign)} qualifies for CKM, not eCKM: enroll the patient in CKM "
                "(an active eCKM enrollment is switched to CKM)."
            )
        return f"{', '.join(foreign)} is not a {track} condition; {track} takes: " + ", ".join(
            sorted(allowed)
        )
    for pair in MUTUALLY_EXCLUSIVE:
        if pair <= set(conditions):
            return f"{' and '.join(sorted(pair))} exclude each other; list the one that applies."
    if track == "eCKM" and "hypertension" not in conditions:
        criteria = {"weight" if c in WEIGHT_CRITERION else c for c in conditions}
        if len(criteria) < 2:
            return (
                "eCKM requires hypertension, or two or more of: dyslipidemia, obesity (or "
                "overweight with central obesity), prediabetes."
            )
    if track == "CKM" and not CKM_QUALIFYING.intersection(conditions):
        return "CKM requires one or more of: diabetes, ckd_3a, ckd_3b, ascvd."
    if region is not None and track != "MSK":
        return "region applies to MSK (chronic_msk_pain) only."
    if period == "follow_on" and track in NO_FOLLOW_ON:
        return f"{track} has no follow-on care period."
    return None


def _has(condition: str | frozenset[str]) -> dict[str, Any]:
    if isinstance(condition, str):
        return {"contains": {"const": condition}}
    return {"contains": {"enum": sorted(condition)}}


def _all(*schemas: dict[str, Any]) -> dict[str, Any]:
    return {"allOf": list(schemas)}


def json_schema(schema: dict[str, Any]) -> None:
    """Adds `enrollment_problem`'s rules to an enrollment body's JSON schema: conditions listed
    once, no two that exclude each other, and per track (one `oneOf` branch each) its conditions,
    what it requires of them, whether it takes a region and a follow-on period."""
    conditions = schema["properties"]["conditions"]
    conditions["uniqueItems"] = True
    conditions["not"] = {"anyOf": [_all(*(_has(c) for c in sorted(p))) for p in MUTUALLY_EXCLUSIVE]}
    requires = {
        "eCKM": {
            "anyOf": [
                _has("hypertension"),
                *(
                    _all(_has(first), _has(second))
                    for i, first in enumerate(ECKM_CRITERIA)
                    for second in ECKM_CRITERIA[i + 1 :]
                ),
            ]
        },
        "CKM": _has(CKM_QUALIFYING),
    }
    branches = []
    for track, allowed in TRACK_CONDITIONS.items():
        properties: dict[str, Any] = {
            "track": {"const": track},
            "conditions": {"items": {"enum": sorted(allowed)}, **requires.get(track, {})},
        }
        if track != "MSK":
            properties["region"] = {"type": "null"}
        if track in NO_FOLLOW_ON:
            properties["period"] = {"const": "initial"}
        branches.append({"properties": properties})
    one_of_constraints(schema, branches)
