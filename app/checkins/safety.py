"""The safety net for self-harm answers: what the patient is shown, and the alerts the team gets.

docs/rules.md "PHQ-9": item 9 (thoughts of being better off dead or of self-harm) above 0 must
raise an urgent clinician alert at once and tell the patient about crisis resources: 988 (the
US Suicide & Crisis Lifeline, call or text, 24/7) and 911 for immediate danger. Item 9 left
unanswered must not pass silently either: it opens a warning alert, so the team asks it again.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Final

from app.alerts.service import AlertSpec
from app.checkins.schemas import CrisisResource, CrisisResources
from app.checkins.scoring import PHQ9_SAFETY_ITEM, SAFETY_ITEM_MISSING, SELF_HARM_RISK

ALERT_KIND: Final = SELF_HARM_RISK
MISSING_ALERT_KIND: Final = SAFETY_ITEM_MISSING
SOURCE_TYPE: Final = "checkin"

# Worded for the patient: plain, not alarming, honest that the team may not see it at once.
CRISIS_MESSAGE: Final = (
    "You told us you have had thoughts that you would be better off dead or of hurting yourself. "
    "You are not alone, and help is available right now. Your care team has been alerted, but "
    "they may not see this right away: if you are struggling, please reach out now."
)

CRISIS_RESOURCES: Final = CrisisResources(
    message=CRISIS_MESSAGE,
    care_team_alerted=True,
    resources=[
        CrisisResource(
            name="988 Suicide & Crisis Lifeline",
            description=(
                "Free and confidential, 24 hours a day, 7 days a week. Call or text 988, or chat "
                "online. Veterans: call 988 and press 1."
            ),
            call="988",
            text="988",
            url="https://988lifeline.org",
        ),
        CrisisResource(
            name="Emergency services",
            description="If you or someone else is in immediate danger, call 911.",
            call="911",
            text=None,
            url=None,
        ),
    ],
)


def crisis_resources(flags: list[str]) -> CrisisResources | None:
    """What to show the patient with this result: the crisis resources, or nothing."""
    return CRISIS_RESOURCES if SELF_HARM_RISK in flags else None


def alert_specs(
    checkin_id: uuid.UUID,
    *,
    instrument: str,
    answers: Mapping[str, int],
    flags: Sequence[str],
    total: int | None,
    at: datetime | None = None,
) -> list[AlertSpec]:
    """The alerts a check-in's safety flags open, tied to the check-in that raised them and
    dated when it was completed (`at`); each is an event of its own (docs/rules.md "Alert
    episodes"): every such answer is one for the team to see."""
    specs = []
    if SELF_HARM_RISK in flags:
        specs.append(
            alert_spec(checkin_id, instrument=instrument, answers=answers, total=total, at=at)
        )
    if SAFETY_ITEM_MISSING in flags:
        specs.append(missing_item_alert_spec(checkin_id, instrument=instrument, total=total, at=at))
    return specs


def alert_spec(
    checkin_id: uuid.UUID,
    *,
    instrument: str,
    answers: Mapping[str, int],
    total: int | None,
    at: datetime | None = None,
) -> AlertSpec:
    """The urgent alert a self-harm answer opens, tied to the check-in that raised it."""
    return AlertSpec(
        kind=ALERT_KIND,
        severity="urgent",
        source_type=SOURCE_TYPE,
        source_id=checkin_id,
        details={
            "instrument": instrument,
            "item": PHQ9_SAFETY_ITEM,
            "answer": answers.get(PHQ9_SAFETY_ITEM),
            "total": total,
        },
        at=at,
    )


def missing_item_alert_spec(
    checkin_id: uuid.UUID, *, instrument: str, total: int | None, at: datetime | None = None
) -> AlertSpec:
    """The warning alert an unanswered item 9 opens: the team should ask it again."""
    return AlertSpec(
        kind=MISSING_ALERT_KIND,
        severity="warning",
        source_type=SOURCE_TYPE,
        source_id=checkin_id,
        details={"instrument": instrument, "item": PHQ9_SAFETY_ITEM, "total": total},
        at=at,
    )
