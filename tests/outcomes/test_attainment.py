"""Attainment rate and payment against docs/rules.md "Payment", with the real ruleset.

Expected amounts are written out from the payment table (eCKM $360 +$15 rural, $180 follow-on;
CKM $420 +$15 rural, $210 follow-on; MSK $180, no follow-on; BH $180, $90 follow-on; 50 %
withheld; withhold earned when the rate >= 50 % for care periods from 2026-07-05), never
recomputed by the code's own formula.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.outcomes.attainment import Member, across_tracks, period_payment, track_attainment
from app.outcomes.rules import Track, load_ruleset
from app.outcomes.targets import NEED_ORDER

RULES = load_ruleset()
AS_OF = date(2026, 7, 5)  # the first day of the first threshold (50 %)
TRACKS: tuple[Track, ...] = ("eCKM", "CKM", "MSK", "BH")


def m(track: Track, attained: bool | None = True, **more: Any) -> Member:
    return Member(track=track, attained=attained, **more)


# (track, follow_on, rural, amount of one care period before the withhold)
PERIODS = [
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
    member = m(track, follow_on=follow_on, rural=rural)
    assert period_payment(member, payment=RULES.payment) == amount


# (case, track, members, expected: patients, attained, rate, threshold_met,
#  outcome-aligned payment, withheld, withhold earned, projected)
SUMMARIES = [
    ("empty cohort", "eCKM", [], (0, 0, None, None, 0.0, 0.0, False, 0.0)),
    ("eCKM attained", "eCKM", [m("eCKM")], (1, 1, 1.0, True, 360.0, 180.0, True, 360.0)),
    (
        "eCKM rural, not attained: half withheld",
        "eCKM",
        [m("eCKM", False, rural=True)],
        (1, 0, 0.0, False, 375.0, 187.5, False, 187.5),
    ),
    (
        "eCKM follow-on",
        "eCKM",
        [m("eCKM", follow_on=True)],
        (1, 1, 1.0, True, 180.0, 90.0, True, 180.0),
    ),
    (
        "eCKM rural follow-on: no add-on",
        "eCKM",
        [m("eCKM", False, follow_on=True, rural=True)],
        (1, 0, 0.0, False, 180.0, 90.0, False, 90.0),
    ),
    ("CKM attained", "CKM", [m("CKM")], (1, 1, 1.0, True, 420.0, 210.0, True, 420.0)),
    (
        "CKM rural",
        "CKM",
        [m("CKM", rural=True)],
        (1, 1, 1.0, True, 435.0, 217.5, True, 435.0),
    ),
    (
        "CKM follow-on, not attained",
        "CKM",
        [m("CKM", False, follow_on=True)],
        (1, 0, 0.0, False, 210.0, 105.0, False, 105.0),
    ),
    ("MSK not attained", "MSK", [m("MSK", False)], (1, 0, 0.0, False, 180.0, 90.0, False, 90.0)),
    ("BH follow-on", "BH", [m("BH", follow_on=True)], (1, 1, 1.0, True, 90.0, 45.0, True, 90.0)),
    (
        "threshold exactly met: 1 of 2",
        "eCKM",
        [m("eCKM"), m("eCKM", False)],
        (2, 1, 0.5, True, 720.0, 360.0, True, 720.0),
    ),
    (
        "just below: 1 of 3",
        "BH",
        [m("BH"), m("BH", False), m("BH", False)],
        (3, 1, 0.3333, False, 540.0, 270.0, False, 270.0),
    ),
    (
        "not yet final counts as not attained",
        "CKM",
        [m("CKM"), m("CKM", None), m("CKM", None)],
        (3, 1, 0.3333, False, 1260.0, 630.0, False, 630.0),
    ),
    (
        "mixed periods, 2 of 3",
        "eCKM",
        [m("eCKM", rural=True), m("eCKM", follow_on=True), m("eCKM", False)],
        (3, 2, 0.6667, True, 915.0, 457.5, True, 915.0),
    ),
]


@pytest.mark.parametrize(
    ("track", "members", "expected"),
    [pytest.param(t, ms, e, id=case) for case, t, ms, e in SUMMARIES],
)
def test_track_attainment(
    track: Track,
    members: list[Member],
    expected: tuple[int, int, float | None, bool | None, float, float, bool, float],
) -> None:
    summary = track_attainment(members, rules=RULES, track=track, as_of=AS_OF)
    patients, attained, rate, met, oap, withheld, earned, projected = expected
    assert (summary.patients, summary.attained, summary.rate) == (patients, attained, rate)
    assert summary.threshold == 0.5
    assert summary.threshold_met is met
    assert summary.payment.outcome_aligned_payment == oap
    assert summary.payment.withheld == withheld
    assert summary.payment.withhold_earned is earned
    assert summary.payment.projected == projected
    assert summary.tracks is None
    assert summary.rules_version == RULES.version


def test_across_tracks_sums_the_tracks_payments() -> None:
    members = [
        m("eCKM", rural=True),
        m("eCKM", False),  # eCKM: 1 of 2, earned: 375 + 360
        m("CKM", False),
        m("CKM", False, follow_on=True),  # CKM: 0 of 2, half of 420 + 210 withheld
        m("MSK"),  # MSK: 1 of 1, earned: 180
        m("BH", False),
        m("BH"),
        m("BH", False, follow_on=True),  # BH: 1 of 3, half of 180 + 180 + 90 withheld
    ]
    summary = across_tracks(members, rules=RULES, as_of=AS_OF)
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
    assert (summary.track, summary.patients, summary.attained, summary.rate) == (None, 8, 3, 0.375)
    assert (summary.threshold, summary.threshold_met) == (None, None)
    assert summary.payment.outcome_aligned_payment == 1995.0
    assert summary.payment.withheld == 997.5
    assert summary.payment.withhold_earned is None  # earned per track, not overall
    assert summary.payment.projected == 1455.0


def test_across_tracks_of_nobody() -> None:
    summary = across_tracks([], rules=RULES, as_of=AS_OF)
    assert summary.tracks == []
    assert (summary.patients, summary.rate, summary.statuses) == (0, None, {})
    assert summary.payment.outcome_aligned_payment == 0.0
    assert summary.payment.projected == 0.0


def test_statuses_and_strata() -> None:
    members = [
        m("eCKM", True, status="met", dual_eligible=True, rural=True),
        m("eCKM", False, status="off_track", rural=True),
        m("eCKM", None, status="insufficient_data", rural=True, limited_digital_access=True),
        m("eCKM", None, status=None),  # no measure applies
        m("eCKM", True, status="met", dual_eligible=True),
        m("eCKM", None, status="on_track"),
    ]
    summary = track_attainment(members, rules=RULES, track="eCKM", as_of=AS_OF)
    assert summary.statuses == {
        "attained": 2,
        "off_track": 1,
        "insufficient_data": 1,
        "not_applicable": 1,
        "on_track": 1,
    }
    strata = {k: (s.patients, s.attained, s.rate) for k, s in summary.strata.items()}
    assert strata == {
        "dual_eligible": (2, 2, 1.0),
        "rural": (3, 1, 0.3333),
        "limited_digital_access": (1, 0, 0.0),
    }


def test_empty_strata_are_reported() -> None:
    summary = track_attainment([m("BH")], rules=RULES, track="BH", as_of=AS_OF)
    strata = {k: (s.patients, s.attained, s.rate) for k, s in summary.strata.items()}
    assert strata == {
        "dual_eligible": (0, 0, None),
        "rural": (0, 0, None),
        "limited_digital_access": (0, 0, None),
    }


cohorts = st.lists(
    st.builds(
        Member,
        track=st.sampled_from(TRACKS),
        attained=st.sampled_from([True, False, None]),
        status=st.sampled_from([None, *NEED_ORDER]),
        follow_on=st.booleans(),
        rural=st.booleans(),
        dual_eligible=st.booleans(),
        limited_digital_access=st.booleans(),
    ),
    max_size=30,
)


@given(cohorts)
def test_the_whole_is_the_sum_of_its_tracks(cohort: list[Member]) -> None:
    summary = across_tracks(cohort, rules=RULES, as_of=AS_OF)
    tracks = summary.tracks or []
    assert summary.patients == len(cohort) == sum(t.patients for t in tracks)
    assert summary.attained == sum(t.attained for t in tracks)
    assert sum(summary.statuses.values()) == len(cohort)
    for part in ("outcome_aligned_payment", "withheld", "projected"):
        total = sum(getattr(t.payment, part) for t in tracks)
        assert getattr(summary.payment, part) == pytest.approx(total)
    for t in tracks:
        p = t.payment
        assert p.withheld == pytest.approx(p.outcome_aligned_payment * 0.5)
        kept = p.outcome_aligned_payment if p.withhold_earned else p.outcome_aligned_payment / 2
        assert p.projected == pytest.approx(kept)
        assert p.withhold_earned is (t.rate is not None and t.rate >= 0.5)
