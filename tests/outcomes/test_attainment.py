"""Attainment rate and payment against docs/rules.md "Payment" and docs/api.md "Refines the
attainment endpoint", with the real ruleset (and one with a second threshold).

Expected amounts are written out from the payment table (eCKM $360 +$15 rural, $180 follow-on;
CKM $420 +$15 rural, $210 follow-on; MSK $180, no follow-on; BH $180, $90 follow-on; 50 %
withheld; withhold earned when the rate >= the threshold of the periods' start date, 50 % from
2026-07-05 through 2027-12-31), never recomputed by the code's own formula. `rate` is attained
over closed periods (end-of-period window closed, or a complete end-of-period report);
`projected_rate` counts every period by `projected`.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.outcomes.attainment import Member, across_tracks, period_payment, track_attainment
from app.outcomes.rules import DEFAULT_RULESET, Ruleset, Track, load_ruleset
from app.outcomes.targets import NEED_ORDER

RULES = load_ruleset()
START = date(2026, 7, 5)  # the first care periods, threshold 50 %
AS_OF = date(2027, 9, 10)  # after their end-of-period windows closed (day 425: 2027-09-02)
TRACKS: tuple[Track, ...] = ("eCKM", "CKM", "MSK", "BH")


def won(track: Track, **more: Any) -> Member:
    """A complete end-of-period report that attained."""
    more.setdefault("start", START)
    return Member(track=track, attained=True, projected=True, closed=True, reported=True, **more)


def lost(track: Track, reported: bool = True, **more: Any) -> Member:
    """A complete end-of-period report that did not attain, or (`reported=False`) a window
    that closed without one."""
    more.setdefault("start", START)
    return Member(
        track=track, attained=False, projected=False, closed=True, reported=reported, **more
    )


def running(track: Track, projected: bool, **more: Any) -> Member:
    """A period whose end-of-period window is still open, without a complete report."""
    more.setdefault("start", START)
    return Member(track=track, attained=None, projected=projected, **more)


# (track, follow_on, rural, amount of one care period before the withhold)
PERIODS: list[tuple[Track, bool, bool, float]] = [
    ("eCKM", False, False, 360.0),
    ("eCKM", False, True, 375.0),
    ("eCKM", True, False, 180.0),
    ("eCKM", True, True, 180.0),  # the rural add-on is for initial periods only
    ("CKM", False, False, 420.0),
    ("CKM", False, True, 435.0),
    ("CKM", True, False, 210.0),
    ("CKM", True, True, 210.0),
    ("MSK", False, False, 180.0),
    ("MSK", False, True, 180.0),  # no rural add-on
    ("MSK", True, False, 0.0),  # no follow-on periods: nothing is paid
    ("BH", False, False, 180.0),
    ("BH", False, True, 180.0),
    ("BH", True, False, 90.0),
    ("BH", True, True, 90.0),
]


@pytest.mark.parametrize(("track", "follow_on", "rural", "amount"), PERIODS)
def test_period_payment(track: Track, follow_on: bool, rural: bool, amount: float) -> None:
    member = running(track, False, follow_on=follow_on, rural=rural)
    assert period_payment(member, payment=RULES.payment) == amount


Counts = tuple[int, int, int, int, float | None, float | None, float | None, bool | None]
Money = tuple[float, float, bool, float]

# (case, track, members,
#  (periods, closed, reported, attained, rate, projected_rate, threshold, threshold_met),
#  (outcome-aligned payment, withheld, withhold earned, projected payment))
SUMMARIES: list[tuple[str, Track, list[Member], Counts, Money]] = [
    ("empty cohort", "eCKM", [], (0, 0, 0, 0, None, None, None, None), (0.0, 0.0, False, 0.0)),
    (
        "eCKM attained",
        "eCKM",
        [won("eCKM")],
        (1, 1, 1, 1, 1.0, 1.0, 0.5, True),
        (360.0, 180.0, True, 360.0),
    ),
    (
        "eCKM rural, window closed without a report: half withheld",
        "eCKM",
        [lost("eCKM", reported=False, rural=True)],
        (1, 1, 0, 0, 0.0, 0.0, 0.5, False),
        (375.0, 187.5, False, 187.5),
    ),
    (
        "eCKM follow-on",
        "eCKM",
        [won("eCKM", follow_on=True)],
        (1, 1, 1, 1, 1.0, 1.0, 0.5, True),
        (180.0, 90.0, True, 180.0),
    ),
    (
        "eCKM rural follow-on, not attained: no add-on",
        "eCKM",
        [lost("eCKM", follow_on=True, rural=True)],
        (1, 1, 1, 0, 0.0, 0.0, 0.5, False),
        (180.0, 90.0, False, 90.0),
    ),
    (
        "CKM attained",
        "CKM",
        [won("CKM")],
        (1, 1, 1, 1, 1.0, 1.0, 0.5, True),
        (420.0, 210.0, True, 420.0),
    ),
    (
        "CKM rural",
        "CKM",
        [won("CKM", rural=True)],
        (1, 1, 1, 1, 1.0, 1.0, 0.5, True),
        (435.0, 217.5, True, 435.0),
    ),
    (
        "CKM follow-on, not attained",
        "CKM",
        [lost("CKM", follow_on=True)],
        (1, 1, 1, 0, 0.0, 0.0, 0.5, False),
        (210.0, 105.0, False, 105.0),
    ),
    (
        "MSK not attained",
        "MSK",
        [lost("MSK")],
        (1, 1, 1, 0, 0.0, 0.0, 0.5, False),
        (180.0, 90.0, False, 90.0),
    ),
    (
        "MSK follow-on: nothing to pay",
        "MSK",
        [won("MSK", follow_on=True)],
        (1, 1, 1, 1, 1.0, 1.0, 0.5, True),
        (0.0, 0.0, True, 0.0),
    ),
    (
        "BH rural: no add-on",
        "BH",
        [won("BH", rural=True)],
        (1, 1, 1, 1, 1.0, 1.0, 0.5, True),
        (180.0, 90.0, True, 180.0),
    ),
    (
        "BH follow-on",
        "BH",
        [won("BH", follow_on=True)],
        (1, 1, 1, 1, 1.0, 1.0, 0.5, True),
        (90.0, 45.0, True, 90.0),
    ),
    (
        "threshold exactly met: 1 of 2",
        "eCKM",
        [won("eCKM"), lost("eCKM")],
        (2, 2, 2, 1, 0.5, 0.5, 0.5, True),
        (720.0, 360.0, True, 720.0),
    ),
    (
        "just below: 1 of 3",
        "BH",
        [won("BH"), lost("BH"), lost("BH", reported=False)],
        (3, 3, 2, 1, 0.3333, 0.3333, 0.5, False),
        (540.0, 270.0, False, 270.0),
    ),
    (
        "open periods are not in the rate, but in the projected rate",
        "CKM",
        [won("CKM"), running("CKM", False), running("CKM", False)],
        (3, 1, 1, 1, 1.0, 0.3333, 0.5, True),
        (1260.0, 630.0, True, 630.0),
    ),
    (
        "nothing closed yet: no rate, a projected one",
        "eCKM",
        [running("eCKM", True), running("eCKM", True), running("eCKM", False)],
        (3, 0, 0, 0, None, 0.6667, 0.5, None),
        (1080.0, 540.0, False, 1080.0),
    ),
    (
        "mixed periods, 2 of 3",
        "eCKM",
        [won("eCKM", rural=True), won("eCKM", follow_on=True), lost("eCKM")],
        (3, 3, 3, 2, 0.6667, 0.6667, 0.5, True),
        (915.0, 457.5, True, 915.0),
    ),
]


@pytest.mark.parametrize(
    ("track", "members", "counts", "money"),
    [pytest.param(*r[1:], id=r[0]) for r in SUMMARIES],
)
def test_track_attainment(
    track: Track, members: list[Member], counts: Counts, money: Money
) -> None:
    summary = track_attainment(members, rules=RULES, track=track, cohort=2026, as_of=AS_OF)
    assert (
        summary.periods,
        summary.closed,
        summary.reported,
        summary.attained,
        summary.rate,
        summary.projected_rate,
        summary.threshold,
        summary.threshold_met,
    ) == counts
    p = summary.payment
    assert (p.outcome_aligned_payment, p.withheld, p.withhold_earned, p.projected) == money
    assert (summary.track, summary.cohort, summary.as_of) == (track, 2026, AS_OF)
    assert (summary.tracks, summary.control_group_periods) == (None, 0)
    assert summary.rules_version == RULES.version


# --- thresholds by care-period start date -------------------------------------------------------


def _with_a_later_threshold() -> Ruleset:
    """The real ruleset plus a 60 % threshold for care periods from 2028-01-01."""
    data = tomllib.loads(DEFAULT_RULESET.read_text())
    data["attainment"]["thresholds"].append({"from": date(2028, 1, 1), "value": 0.6})
    return Ruleset.model_validate(data)


LATER = _with_a_later_threshold()

# (case, ruleset, care-period start, threshold)
THRESHOLDS: list[tuple[str, Ruleset, date, float]] = [
    ("the first care periods", RULES, date(2026, 7, 5), 0.5),
    ("the last day of the first threshold", RULES, date(2027, 12, 31), 0.5),
    ("beyond the known ones: the latest", RULES, date(2028, 1, 1), 0.5),
    ("before the first: the first", LATER, date(2026, 7, 4), 0.5),
    ("2027-12-31 with a later threshold", LATER, date(2027, 12, 31), 0.5),
    ("2028-01-01 with a later threshold", LATER, date(2028, 1, 1), 0.6),
    ("years later", LATER, date(2031, 3, 1), 0.6),
]


@pytest.mark.parametrize(
    ("rules", "start", "threshold"), [pytest.param(*r[1:], id=r[0]) for r in THRESHOLDS]
)
def test_threshold_for(rules: Ruleset, start: date, threshold: float) -> None:
    assert rules.attainment.threshold_for(start) == threshold


def test_withholds_are_earned_per_threshold() -> None:
    # Two periods under 50 % (1 of 2: earned) and two under 60 % (1 of 2: not earned).
    early, late = date(2027, 12, 31), date(2028, 1, 1)
    members = [
        won("eCKM", start=early),
        lost("eCKM", start=early),
        won("eCKM", start=late),
        lost("eCKM", start=late),
    ]
    summary = track_attainment(members, rules=LATER, track="eCKM", cohort=None, as_of=AS_OF)
    assert (summary.rate, summary.threshold, summary.threshold_met) == (0.5, None, None)
    p = summary.payment
    assert (p.outcome_aligned_payment, p.withheld, p.withhold_earned) == (1440.0, 720.0, False)
    assert p.projected == 1080.0  # 720 earned in full, 720 less its 360 withheld
    same = track_attainment(members, rules=RULES, track="eCKM", cohort=None, as_of=AS_OF)
    assert (same.threshold, same.threshold_met) == (0.5, True)
    assert (same.payment.withhold_earned, same.payment.projected) == (True, 1440.0)


# --- across tracks and the control group ------------------------------------------------------


def test_across_tracks_sums_the_tracks_payments() -> None:
    members = [
        won("eCKM", rural=True),
        lost("eCKM"),  # eCKM: 1 of 2, earned: 375 + 360
        lost("CKM"),
        lost("CKM", follow_on=True),  # CKM: 0 of 2, half of 420 + 210 withheld
        won("MSK"),  # MSK: 1 of 1, earned: 180
        lost("BH"),
        won("BH"),
        lost("BH", follow_on=True),  # BH: 1 of 3, half of 180 + 180 + 90 withheld
    ]
    summary = across_tracks(members, rules=RULES, cohort=None, as_of=AS_OF)
    assert [t.track for t in summary.tracks or []] == ["BH", "CKM", "MSK", "eCKM"]
    by_track = {t.track: t for t in summary.tracks or []}
    assert {
        t: (s.payment.outcome_aligned_payment, s.payment.projected) for t, s in by_track.items()
    } == {
        "eCKM": (735.0, 735.0),
        "CKM": (630.0, 315.0),
        "MSK": (180.0, 180.0),
        "BH": (450.0, 225.0),
    }
    assert {t: s.threshold_met for t, s in by_track.items()} == {
        "eCKM": True,
        "CKM": False,
        "MSK": True,
        "BH": False,
    }
    assert (summary.track, summary.periods, summary.attained, summary.rate) == (None, 8, 3, 0.375)
    assert (summary.threshold, summary.threshold_met) == (None, None)
    assert summary.payment.outcome_aligned_payment == 1995.0
    assert summary.payment.withheld == 997.5
    assert summary.payment.withhold_earned is None  # earned per track, not overall
    assert summary.payment.projected == 1455.0


def test_across_tracks_of_nobody() -> None:
    summary = across_tracks([], rules=RULES, cohort=None, as_of=AS_OF)
    assert summary.tracks == []
    assert (summary.periods, summary.rate, summary.statuses) == (0, None, {})
    assert summary.payment.outcome_aligned_payment == 0.0
    assert summary.payment.projected == 0.0


def test_control_group_periods_are_counted_apart() -> None:
    members = [won("eCKM"), lost("BH")]
    summary = across_tracks(
        members, rules=RULES, cohort=2026, as_of=AS_OF, control_group=["eCKM", "eCKM", "MSK"]
    )
    assert summary.control_group_periods == 3
    assert (summary.periods, summary.attained, summary.rate) == (2, 1, 0.5)
    assert summary.payment.outcome_aligned_payment == 540.0  # 360 + 180: none for the 3
    tracks = {t.track: (t.periods, t.control_group_periods, t.rate) for t in summary.tracks or []}
    assert tracks == {"BH": (1, 0, 0.0), "MSK": (0, 1, None), "eCKM": (1, 2, 1.0)}
    one = track_attainment(
        [won("eCKM")], rules=RULES, track="eCKM", cohort=2026, as_of=AS_OF, control_group_periods=2
    )
    assert (one.periods, one.control_group_periods, one.rate) == (1, 2, 1.0)
    assert one.payment.outcome_aligned_payment == 360.0


# --- statuses and strata ----------------------------------------------------------------------


def test_statuses_and_strata() -> None:
    members = [
        won("eCKM", status="met", dual_eligible=True, rural=True),
        lost("eCKM", status="off_track", rural=True),
        running("eCKM", False, status="insufficient_data", rural=True, limited_digital_access=True),
        running("eCKM", False, status=None),  # no measure applies
        won("eCKM", status="met", dual_eligible=True),
        running("eCKM", True, status="on_track"),
    ]
    summary = track_attainment(members, rules=RULES, track="eCKM", cohort=None, as_of=AS_OF)
    assert summary.statuses == {
        "attained": 2,
        "off_track": 1,
        "insufficient_data": 1,
        "not_applicable": 1,
        "on_track": 1,
    }
    strata = {
        k: (s.periods, s.attained, s.rate, s.projected_rate) for k, s in summary.strata.items()
    }
    assert strata == {
        "dual_eligible": (2, 2, 1.0, 1.0),
        "rural": (3, 1, 0.5, 0.3333),  # 1 of the 2 closed; 1 of 3 projected
        "limited_digital_access": (1, 0, None, 0.0),  # nothing closed yet
    }


def test_empty_strata_are_reported() -> None:
    summary = track_attainment([won("BH")], rules=RULES, track="BH", cohort=None, as_of=AS_OF)
    strata = {
        k: (s.periods, s.attained, s.rate, s.projected_rate) for k, s in summary.strata.items()
    }
    assert strata == {
        "dual_eligible": (0, 0, None, None),
        "rural": (0, 0, None, None),
        "limited_digital_access": (0, 0, None, None),
    }


@st.composite
def members(draw: st.DrawFn) -> Member:
    track = draw(st.sampled_from(TRACKS))
    outcome = draw(st.sampled_from(["won", "lost", "closed", "running_yes", "running_no"]))
    more: dict[str, Any] = {
        "status": draw(st.sampled_from([None, *NEED_ORDER])),
        "follow_on": draw(st.booleans()),
        "rural": draw(st.booleans()),
        "dual_eligible": draw(st.booleans()),
        "limited_digital_access": draw(st.booleans()),
    }
    if outcome == "won":
        return won(track, **more)
    if outcome in ("lost", "closed"):
        return lost(track, reported=outcome == "lost", **more)
    return running(track, outcome == "running_yes", **more)


@given(st.lists(members(), max_size=30))
def test_the_whole_is_the_sum_of_its_tracks(cohort: list[Member]) -> None:
    summary = across_tracks(cohort, rules=RULES, cohort=None, as_of=AS_OF)
    tracks = summary.tracks or []
    assert summary.periods == len(cohort) == sum(t.periods for t in tracks)
    assert summary.attained == sum(t.attained for t in tracks)
    assert summary.closed == sum(t.closed for t in tracks)
    assert summary.reported == sum(t.reported for t in tracks)
    assert sum(summary.statuses.values()) == len(cohort)
    for part in ("outcome_aligned_payment", "withheld", "projected"):
        total = sum(getattr(t.payment, part) for t in tracks)
        assert getattr(summary.payment, part) == pytest.approx(total)
    for t in tracks:
        p = t.payment
        assert p.withheld == pytest.approx(p.outcome_aligned_payment * 0.5)
        assert p.withhold_earned is (t.rate is not None and t.rate >= 0.5)
        projected_earned = t.projected_rate is not None and t.projected_rate >= 0.5
        kept = p.outcome_aligned_payment if projected_earned else p.outcome_aligned_payment / 2
        assert p.projected == pytest.approx(kept)


@given(
    st.lists(
        st.tuples(
            members(),
            st.sampled_from([START, date(2027, 12, 31), date(2028, 1, 1), date(2028, 3, 1)]),
            st.booleans(),
            st.booleans(),
        ),
        max_size=30,
    )
)
def test_identical_periods_counted_once_weighted_give_the_same_attainment(
    drawn: list[tuple[Member, date, bool, bool]],
) -> None:
    """The stored path counts identical periods together (`periods`), and their start date by
    the threshold in force; the summary is the same as one member per period."""
    cohort = [
        replace(m, start=start, baseline_complete=baseline, current_complete=current)
        for m, start, baseline, current in drawn
    ]
    threshold_start = {START: START, date(2027, 12, 31): START}  # the rest: 2028-01-01
    grouped = Counter(
        replace(m, start=threshold_start.get(m.start, date(2028, 1, 1))) for m in cohort
    )
    weighted = [replace(m, periods=n) for m, n in grouped.items()]
    assert len(weighted) <= len(cohort)
    as_one = across_tracks(cohort, rules=LATER, cohort=None, as_of=AS_OF)
    assert across_tracks(weighted, rules=LATER, cohort=None, as_of=AS_OF) == as_one


@pytest.mark.parametrize(
    ("flags", "whole", "limited"),
    [
        # (baseline_complete, current_complete, limited_digital_access) per period
        ([], (None, None), (None, None)),
        ([(True, True, False), (True, False, False)], (1.0, 0.5), (None, None)),
        (
            [(True, True, False), (True, True, False), (False, False, True), (True, False, True)],
            (0.75, 0.5),
            (0.5, 0.0),  # the group behind on data, not on health
        ),
    ],
)
def test_data_completeness_by_stratum(
    flags: list[tuple[bool, bool, bool]],
    whole: tuple[float | None, float | None],
    limited: tuple[float | None, float | None],
) -> None:
    members = [
        running(
            "eCKM",
            False,
            baseline_complete=baseline,
            current_complete=current,
            limited_digital_access=limited_access,
        )
        for baseline, current, limited_access in flags
    ]
    summary = track_attainment(members, rules=RULES, track="eCKM", cohort=None, as_of=AS_OF)
    assert (summary.data.baseline, summary.data.current) == whole
    group = summary.strata["limited_digital_access"].data
    assert (group.baseline, group.current) == limited
    empty = summary.strata["dual_eligible"].data
    assert (empty.baseline, empty.current) == (None, None)
