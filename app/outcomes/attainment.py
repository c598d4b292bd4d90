"""An organization's Outcome Attainment Rate and projected payment; pure (docs/rules.md
"Payment").

Input is plain data: one `Member` per enrollment of the cohort, already evaluated, and the
ruleset; no I/O. Invariants:

- the rate is the share of the cohort that attains (None for an empty cohort), rounded to four
  places; the withhold is earned when the rate reaches the threshold in force for care periods
  starting on the report date (rate >= threshold, both from the ruleset);
- a member's payment for the period is its track's initial rate plus the rural add-on, or the
  follow-on rate (no add-on; a track without follow-on periods pays nothing for one); the
  `withhold` share of the total is withheld, and paid only when the withhold is earned;
- across tracks, withholds are earned per track: the payment is the sum of the tracks' payments
  and `withhold_earned` is None; the rate, statuses and strata cover the whole cohort;
- statuses count each member once: `attained`, else its least advanced applicable status, else
  `not_applicable`; strata count the social-risk groups even when empty, so high-need patients
  are never quietly left out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from app.outcomes.rules import Payment, Ruleset, Track
from app.outcomes.schemas import PaymentProjection, Stratum, TrackAttainment
from app.outcomes.targets import Status

# The social-risk groups results are stratified by (docs/rules.md "Payment").
STRATA = ("dual_eligible", "rural", "limited_digital_access")


@dataclass(frozen=True, slots=True)
class Member:
    """One enrollment of the cohort, as its attainment and payment need it."""

    track: Track
    attained: bool | None
    status: Status | None = None  # least advanced applicable status; None: nothing applies
    follow_on: bool = False
    rural: bool = False
    dual_eligible: bool = False
    limited_digital_access: bool = False

    def in_stratum(self, name: str) -> bool:
        return {
            "dual_eligible": self.dual_eligible,
            "rural": self.rural,
            "limited_digital_access": self.limited_digital_access,
        }[name]


def period_payment(member: Member, *, payment: Payment) -> float:
    """The Outcome-Aligned Payment of the member's care period, before any withhold."""
    rate = payment.rates[member.track]
    if member.follow_on:
        return rate.follow_on or 0.0
    return rate.initial + (rate.rural_addon if member.rural else 0.0)


def _rate(attained: int, patients: int) -> float | None:
    return round(attained / patients, 4) if patients else None


def _projection(total: float, *, withhold: float, earned: bool) -> PaymentProjection:
    withheld = round(total * withhold, 2)
    return PaymentProjection(
        outcome_aligned_payment=round(total, 2),
        withheld=withheld,
        withhold_earned=earned,
        projected=round(total if earned else total - withheld, 2),
    )


def _summary(
    members: Sequence[Member],
    *,
    rules: Ruleset,
    track: Track | None,
    as_of: date,
    payment: PaymentProjection | None = None,
) -> TrackAttainment:
    patients = len(members)
    attained = sum(1 for m in members if m.attained is True)
    rate = _rate(attained, patients)
    threshold = rules.attainment.threshold_for(as_of) if track is not None else None
    threshold_met = rate >= threshold if rate is not None and threshold is not None else None
    if payment is None:
        total = 0.0
        for m in members:
            total += period_payment(m, payment=rules.payment)
        payment = _projection(total, withhold=rules.payment.withhold, earned=bool(threshold_met))
    statuses: dict[str, int] = defaultdict(int)
    for m in members:
        statuses["attained" if m.attained else (m.status or "not_applicable")] += 1
    strata = {}
    for name in STRATA:
        group = [m for m in members if m.in_stratum(name)]
        hit = sum(1 for m in group if m.attained is True)
        strata[name] = Stratum(patients=len(group), attained=hit, rate=_rate(hit, len(group)))
    return TrackAttainment(
        track=track,
        as_of=as_of,
        rules_version=rules.version,
        patients=patients,
        attained=attained,
        rate=rate,
        threshold=threshold,
        threshold_met=threshold_met,
        statuses=dict(statuses),
        payment=payment,
        strata=strata,
    )


def track_attainment(
    members: Sequence[Member], *, rules: Ruleset, track: Track, as_of: date
) -> TrackAttainment:
    """The attainment of one track's cohort (every member is in `track`)."""
    return _summary(members, rules=rules, track=track, as_of=as_of)


def across_tracks(members: Sequence[Member], *, rules: Ruleset, as_of: date) -> TrackAttainment:
    """Every track's attainment in `tracks`, and the cohort as a whole with their payments'
    sum."""
    by_track: dict[Track, list[Member]] = defaultdict(list)
    for m in members:
        by_track[m.track].append(m)
    tracks = [
        track_attainment(by_track[t], rules=rules, track=t, as_of=as_of) for t in sorted(by_track)
    ]
    payment = PaymentProjection(
        outcome_aligned_payment=round(sum(t.payment.outcome_aligned_payment for t in tracks), 2),
        withheld=round(sum(t.payment.withheld for t in tracks), 2),
        withhold_earned=None,
        projected=round(sum(t.payment.projected for t in tracks), 2),
    )
    summary = _summary(members, rules=rules, track=None, as_of=as_of, payment=payment)
    summary.tracks = tracks
    return summary
