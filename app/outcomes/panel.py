"""What a clinician's panel shows of each patient: outcome status and open urgent alerts.

Invariants: every patient asked about gets an entry (no active enrollment: no status); the
status is the least advanced among the applicable measures of all the patient's active
enrollments, each evaluated on the patient's local today by the same code as their progress;
urgent alerts are counted by the alerts service, never read here; the need rank puts open urgent
alerts first, then off track, then insufficient data, then everyone else.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts import service as alerts_service
from app.outcomes.evaluation import current_subjects, evaluate_subjects
from app.outcomes.rules import Ruleset
from app.outcomes.targets import Status, least_advanced
from app.patients.models import Patient


@dataclass(frozen=True, slots=True)
class PanelEntry:
    """What a clinician's panel shows of a patient: the least advanced status, urgent alerts."""

    status: str | None
    statuses: frozenset[str]
    open_urgent_alerts: int

    @property
    def need(self) -> int:
        """Sort rank: open urgent alerts first, then off track, then insufficient data."""
        if self.open_urgent_alerts:
            return 0
        return {"no_baseline": 1, "off_track": 1, "insufficient_data": 2}.get(self.status or "", 3)


async def panel(
    session: AsyncSession, *, rules: Ruleset, patients: Sequence[Patient], track: str | None
) -> dict[uuid.UUID, PanelEntry]:
    """A panel entry per patient, by patient id; only enrollments in `track` if given."""
    subjects = await current_subjects(session, patients=patients, track=track, rules=rules)
    evaluated = await evaluate_subjects(session, rules=rules, subjects=subjects)
    statuses: dict[uuid.UUID, set[Status]] = defaultdict(set)
    for e in evaluated:
        statuses[e.subject.patient.id] |= e.standing.statuses
    urgent = await alerts_service.open_urgent_counts(session, patient_ids=[p.id for p in patients])
    return {
        p.id: PanelEntry(
            status=least_advanced(statuses[p.id]),
            statuses=frozenset(statuses[p.id]),
            open_urgent_alerts=urgent.get(p.id, 0),
        )
        for p in patients
    }
