"""Who qualifies for which track (docs/rules.md "Tracks and qualifying conditions"); pure rules.

`enrollment_problem` returns the violated rule as a sentence, or None when the enrollment is valid.
"""

from __future__ import annotations

from collections.abc import Sequence

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
MUTUALLY_EXCLUSIVE = (
    frozenset({"obesity", "overweight_central"}),  # BMI >= 30 vs 25-29.99
    frozenset({"ckd_3a", "ckd_3b"}),
)
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
        # Obesity and overweight with central obesity are one criterion, counted once.
        criteria = {"weight" if c in ("obesity", "overweight_central") else c for c in conditions}
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
