"""An organization's Outcome Attainment Rate and projected payment; pure (docs/rules.md
"Payment", docs/api.md "Care periods and the ACCESS reporting calendar").

Input is plain data: one `Member` per care period of the cohort (control-group periods are
left out before, they get no OAP and are not in the rate), already evaluated, and the ruleset;
no I/O. Invariants:

- `rate` = attained / closed, where closed periods are those whose end-of-period window has
  closed or that have a complete end-of-period report (None when none is closed);
  `projected_rate` counts every period by whether an end-of-period report made today would
  show attainment;
- a period's threshold is the one in force for its start date; the withhold of the periods
  sharing a threshold is earned when their rate reaches it (by the projected rate for the
  projected payment);
- a period's payment is its track's initial rate plus the rural add-on, or the follow-on rate
  (no add-on; a track without follow-on periods pays nothing for one); the `withhold` share of
  the total is withheld unless earned;
- across tracks, withholds are earned per track and the payments are their sum;
- statuses count each period once: `attained`, else its least advanced applicable status, else
  `not_applicable`; strata count the social-risk groups even when empty, so high-need patients
  are never quietly left out;
- a member may stand for several identical periods (`periods`): every count and amount is
  the same as with one member per period.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from app.outcomes.rules import Payment, Ruleset, Track
from app.outcomes.schemas import DataCompleteness, PaymentProjection, Stratum, TrackAttainment
from app.outcomes.targets import Status

# The social-risk groups results are stratified by (docs/rules.md "Payment").
STRATA = ("dual_eligible", "rural", "limited_digital_access")


@dataclass(frozen=True, slots=True)
class Member:
    """One care period of the cohort, as its attainment and payment need it."""

    track: Track
    start: date
    attained: bool | None  # from a complete end-of-period report; False once its window closed
    projected: bool | None = None
    closed: bool = False  # end-of-period window closed, or a complete end-of-period report
    reported: bool = False  # a complete end-of-period report
    status: Status | None = None  # least advanced applicable status; None: nothing applies
    follow_on: bool = False
    rural: bool = False
    dual_eligible: bool = False
    limited_digital_access: bool = False
    baseline_complete: bool = False  # every baseline the baseline report needs is known
    current_complete: bool = False  # every applicable target measure has a current value
    # How many care periods this member stands for: identical periods (the start date may be
    # any day with the same threshold) are counted once, weighted, by the stored path.
    periods: int = 1

    def in_stratum(self, name: str) -> bool:
        if name not in STRATA:
            raise KeyError(name)
        return bool(getattr(self, name))


def period_payment(member: Member, *, payment: Payment) -> float:
    """The Outcome-Aligned Payment of the member's care period, before any withhold."""
    rate = payment.rates[member.track]
    if member.follow_on:
        return rate.follow_on or 0.0
    return rate.initial + (rate.rural_addon if member.rural else 0.0)


def _share(hits: int, of: int) -> float | None:
    return round(hits / of, 4) if of else None


def _count(members: Iterable[Member]) -> int:
    """The care periods the members stand for."""
    return sum(m.periods for m in members)


def _rates(members: Sequence[Member]) -> tuple[float | None, float | None]:
    closed = [m for m in members if m.closed]
    rate = _share(_count(m for m in closed if m.attained is True), _count(closed))
    projected = _share(_count(m for m in members if m.projected is True), _count(members))
    return rate, projected


def _thresholds(members: Sequence[Member], *, rules: Ruleset) -> dict[date, float]:
    """The OAT of each start date among the members (a few hundred dates, not one look-up per
    period: an organization has tens of thousands)."""
    return {start: rules.attainment.threshold_for(start) for start in {m.start for m in members}}


def _payment(members: Sequence[Member], *, rules: Ruleset) -> PaymentProjection:
    """Withholds earned per group of periods sharing a threshold."""
    groups: dict[float, list[Member]] = defaultdict(list)
    threshold_of = _thresholds(members, rules=rules)
    for m in members:
        groups[threshold_of[m.start]].append(m)
    total = withheld = projected = 0.0
    earned_all: list[bool] = []
    for threshold, group in groups.items():
        amount = sum(period_payment(m, payment=rules.payment) * m.periods for m in group)
        held = amount * rules.payment.withhold
        rate, projected_rate = _rates(group)
        earned = rate is not None and rate >= threshold
        projected_earned = projected_rate is not None and projected_rate >= threshold
        total += amount
        withheld += held
        projected += amount if projected_earned else amount - held
        earned_all.append(earned)
    return PaymentProjection(
        outcome_aligned_payment=round(total, 2),
        withheld=round(withheld, 2),
        withhold_earned=all(earned_all) if earned_all else False,
        projected=round(projected, 2),
    )


def _stratum(members: Sequence[Member], *, name: str) -> Stratum:
    group = [m for m in members if m.in_stratum(name)]
    rate, projected = _rates(group)
    return Stratum(
        periods=_count(group),
        attained=_count(m for m in group if m.attained is True),
        rate=rate,
        projected_rate=projected,
        data=_completeness(group),
    )


def _completeness(members: Sequence[Member]) -> DataCompleteness:
    """The share of periods with complete baseline, and current, data."""
    return DataCompleteness(
        baseline=_share(_count(m for m in members if m.baseline_complete), _count(members)),
        current=_share(_count(m for m in members if m.current_complete), _count(members)),
    )


def _summary(
    members: Sequence[Member],
    *,
    rules: Ruleset,
    track: Track | None,
    cohort: int | None,
    as_of: date,
    control_group_periods: int,
    payment: PaymentProjection | None = None,
) -> TrackAttainment:
    rate, projected_rate = _rates(members)
    thresholds = set(_thresholds(members, rules=rules).values())
    threshold = thresholds.pop() if len(thresholds) == 1 and track is not None else None
    statuses: dict[str, int] = defaultdict(int)
    for m in members:
        statuses["attained" if m.attained else (m.status or "not_applicable")] += m.periods
    return TrackAttainment(
        track=track,
        cohort=cohort,
        as_of=as_of,
        rules_version=rules.version,
        periods=_count(members),
        control_group_periods=control_group_periods,
        reported=_count(m for m in members if m.reported),
        closed=_count(m for m in members if m.closed),
        attained=_count(m for m in members if m.attained is True),
        rate=rate,
        projected_rate=projected_rate,
        threshold=threshold,
        threshold_met=rate >= threshold if rate is not None and threshold is not None else None,
        statuses=dict(statuses),
        payment=payment or _payment(members, rules=rules),
        data=_completeness(members),
        strata={name: _stratum(members, name=name) for name in STRATA},
    )


def track_attainment(
    members: Sequence[Member],
    *,
    rules: Ruleset,
    track: Track,
    cohort: int | None,
    as_of: date,
    control_group_periods: int = 0,
) -> TrackAttainment:
    """The attainment of one track's periods (every member is in `track`)."""
    return _summary(
        members,
        rules=rules,
        track=track,
        cohort=cohort,
        as_of=as_of,
        control_group_periods=control_group_periods,
    )


def across_tracks(
    members: Sequence[Member],
    *,
    rules: Ruleset,
    cohort: int | None,
    as_of: date,
    control_group: Sequence[Track] = (),
) -> TrackAttainment:
    """Every track's attainment in `tracks`, and all periods together with their payments'
    sum; `control_group`: the track of each control-group period left out."""
    by_track: dict[Track, list[Member]] = defaultdict(list)
    for m in members:
        by_track[m.track].append(m)
    left_out: dict[Track, int] = defaultdict(int)
    for t in control_group:
        left_out[t] += 1
    tracks = [
        track_attainment(
            by_track[t],
            rules=rules,
            track=t,
            cohort=cohort,
            as_of=as_of,
            control_group_periods=left_out[t],
        )
        for t in sorted({*by_track, *left_out})
    ]
    payment = PaymentProjection(
        outcome_aligned_payment=round(sum(t.payment.outcome_aligned_payment for t in tracks), 2),
        withheld=round(sum(t.payment.withheld for t in tracks), 2),
        withhold_earned=None,
        projected=round(sum(t.payment.projected for t in tracks), 2),
    )
    summary = _summary(
        members,
        rules=rules,
        track=None,
        cohort=cohort,
        as_of=as_of,
        control_group_periods=len(control_group),
        payment=payment,
    )
    summary.tracks = tracks
    return summary
