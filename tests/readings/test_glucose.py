"""CGM metrics (2019 international consensus), hand-computed expectations."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.readings.glucose import GlucoseMetrics, GlucoseSample, glucose_metrics

START = datetime(2026, 7, 5, tzinfo=UTC)


def every_5_minutes(values: list[float]) -> list[GlucoseSample]:
    """One sample per 5 minutes from START; local date = UTC date (tests of wear set their own)."""
    out = []
    for i, v in enumerate(values):
        at = START + timedelta(minutes=5 * i)
        out.append(GlucoseSample(at, at.date(), v, 5))
    return out


def test_empty_input() -> None:
    assert glucose_metrics([], days=14) == GlucoseMetrics(
        readings=0,
        days_with_data=0,
        mean_mg_dl=None,
        gmi_percent=None,
        cv_percent=None,
        tir_percent=None,
        tbr_70_percent=None,
        tbr_54_percent=None,
        tar_180_percent=None,
        tar_250_percent=None,
        wear_percent=0.0,
        sufficient=False,
    )


def test_hand_computed_distribution() -> None:
    # Ten readings, every boundary once: < 70: 50, 54, 69 (30 %); < 54: 50 (10 %);
    # 70-180: 70, 100, 180 (30 %); > 180: 181, 250, 251, 300 (40 %); > 250: 251, 300 (20 %).
    # Mean 1505 / 10 = 150.5; GMI 3.31 + 0.02392 x 150.5 = 6.90996.
    # Sample SD: squared deviations sum 79 236.5, / 9 = 8804.06, SD 93.83, CV 62.35 %.
    values: list[float] = [50, 54, 69, 70, 100, 180, 181, 250, 251, 300]
    m = glucose_metrics(every_5_minutes(values), days=1)
    assert m == GlucoseMetrics(
        readings=10,
        days_with_data=1,
        mean_mg_dl=150.5,
        gmi_percent=6.91,
        cv_percent=62.3,
        tir_percent=30.0,
        tbr_70_percent=30.0,
        tbr_54_percent=10.0,
        tar_180_percent=40.0,
        tar_250_percent=20.0,
        wear_percent=3.5,  # 10 of 288 expected = 3.47 %
        sufficient=False,
    )


# (value, tir, tbr_70, tbr_54, tar_180, tar_250): 70 and 180 are in range, 54 is level 1 only,
# 250 is above 180 but not above 250.
BOUNDARIES = [
    (53.9, 0.0, 100.0, 100.0, 0.0, 0.0),
    (54.0, 0.0, 100.0, 0.0, 0.0, 0.0),
    (69.9, 0.0, 100.0, 0.0, 0.0, 0.0),
    (70.0, 100.0, 0.0, 0.0, 0.0, 0.0),
    (180.0, 100.0, 0.0, 0.0, 0.0, 0.0),
    (180.1, 0.0, 0.0, 0.0, 100.0, 0.0),
    (250.0, 0.0, 0.0, 0.0, 100.0, 0.0),
    (250.1, 0.0, 0.0, 0.0, 100.0, 100.0),
]


@pytest.mark.parametrize(("value", "tir", "tbr_70", "tbr_54", "tar_180", "tar_250"), BOUNDARIES)
def test_classification_boundaries(
    value: float, tir: float, tbr_70: float, tbr_54: float, tar_180: float, tar_250: float
) -> None:
    m = glucose_metrics(every_5_minutes([value]), days=1)
    assert (m.tir_percent, m.tbr_70_percent, m.tbr_54_percent) == (tir, tbr_70, tbr_54)
    assert (m.tar_180_percent, m.tar_250_percent) == (tar_180, tar_250)


@pytest.mark.parametrize(
    ("values", "mean", "gmi", "cv"),
    [
        # GMI 3.31 + 0.02392 x 154 = 6.99368 (the consensus's example: 154 mg/dL ~ 7.0 %).
        ([154, 154, 154], 154.0, 6.99, 0.0),
        # 3.31 + 0.02392 x 100 = 5.702
        ([100, 100], 100.0, 5.70, 0.0),
        # Sample SD of (100, 200) = sqrt(2 x 50^2 / 1) = 70.711; CV 70.711 / 150 = 47.14 %
        # (population SD would give 33.3 %). GMI 3.31 + 3.588 = 6.898.
        ([100, 200], 150.0, 6.9, 47.1),
        # Deviations -10, 10, 0, 0: variance 200 / 3 = 66.67, SD 8.165, CV 8.2 %.
        ([90, 110, 100, 100], 100.0, 5.70, 8.2),
        # One reading: no sample SD, so no CV.
        ([120], 120.0, 6.18, None),
        # Mean 1/3 x (100 + 100 + 101) = 100.333 -> 100.3; GMI 3.31 + 2.39997 = 5.70997.
        ([100, 100, 101], 100.3, 5.71, 0.6),
    ],
)
def test_mean_gmi_cv(values: list[float], mean: float, gmi: float, cv: float | None) -> None:
    m = glucose_metrics(every_5_minutes(values), days=1)
    assert (m.mean_mg_dl, m.gmi_percent, m.cv_percent) == (mean, gmi, cv)
    assert m.readings == len(values)


def spread(
    count: int, days: int, interval_minutes: int, sampling_minutes: int | None = None
) -> list[GlucoseSample]:
    """`count` distinct instants round-robin over `days` local days, one per interval, each
    from a sensor sampling every `sampling_minutes` (default: the interval itself)."""
    out = []
    for i in range(count):
        day, slot = i % days, i // days
        at = START + timedelta(days=day, minutes=interval_minutes * slot)
        out.append(GlucoseSample(at, at.date(), 120.0, sampling_minutes or interval_minutes))
    return out


@pytest.mark.parametrize(
    ("count", "data_days", "period_days", "interval", "sampling", "wear", "sufficient"),
    [
        (288, 1, 1, 5, 5, 100.0, False),  # a full day, but one day is not 14
        (144, 1, 1, 5, 5, 50.0, False),
        (96, 1, 1, 15, 15, 100.0, False),  # a 15-minute sensor's full day is 96 readings
        # 14 days of a 15-minute sensor worn all the time: 1344 x 15 min = 14 days.
        (1344, 14, 14, 15, 15, 100.0, True),
        # The same readings counted as a 5-minute sensor's: 1344 x 5 / 20160 = 33.33 %.
        (1344, 14, 14, 15, 5, 33.3, False),
        # 14 days of an hourly sensor: 236 x 60 / 20160 = 70.24 % (enough), 235 = 69.94 % (not).
        (236, 14, 14, 60, 60, 70.2, True),
        (235, 14, 14, 60, 60, 69.9, False),
        # Enough wear (300 x 60 / 20160 = 89.3 %) but data on 13 days only.
        (300, 13, 14, 60, 60, 89.3, False),
        (4032, 14, 14, 5, 5, 100.0, True),
        # A 1-minute sensor: 14 days hold 20160 readings; 14112 of them are exactly 70 %.
        (14112, 14, 14, 1, 1, 70.0, True),
    ],
)
def test_wear_and_sufficiency(
    count: int,
    data_days: int,
    period_days: int,
    interval: int,
    sampling: int,
    wear: float,
    sufficient: bool,
) -> None:
    m = glucose_metrics(spread(count, data_days, interval, sampling), days=period_days)
    assert (m.wear_percent, m.days_with_data, m.sufficient) == (wear, data_days, sufficient)


def test_wear_adds_each_readings_own_interval() -> None:
    # One day: 48 readings of a 15-minute sensor (720 min) and 72 of a 5-minute one (360 min)
    # cover 1080 of 1440 minutes = 75 %.
    fifteen = spread(48, 1, 15)
    five = [s._replace(at=s.at + timedelta(hours=12)) for s in spread(72, 1, 5)]
    assert glucose_metrics(fifteen + five, days=1).wear_percent == 75.0


def test_wear_counts_distinct_instants_and_caps_at_100() -> None:
    at = START
    repeated = [GlucoseSample(at, at.date(), 100.0, 5)] * 3
    m = glucose_metrics(repeated, days=1)
    assert m.readings == 3
    assert m.wear_percent == 0.3  # 5 of 1440 minutes = 0.347 %
    # An instant sent by two sensors counts once, for the longer interval: 15 of 1440 = 1.04 %.
    both = [GlucoseSample(at, at.date(), 100.0, 5), GlucoseSample(at, at.date(), 100.0, 15)]
    assert glucose_metrics(both, days=1).wear_percent == 1.0
    over = every_5_minutes([100.0] * 300)
    assert glucose_metrics(over, days=1).wear_percent == 100.0


def test_days_with_data_uses_the_local_date() -> None:
    # 23:30 UTC on 5 July is 6 July in Asia/Tokyo: two local days, one UTC day.
    samples = [
        GlucoseSample(datetime(2026, 7, 5, 1, 0, tzinfo=UTC), date(2026, 7, 5), 100.0, 5),
        GlucoseSample(datetime(2026, 7, 5, 23, 30, tzinfo=UTC), date(2026, 7, 6), 100.0, 5),
    ]
    assert glucose_metrics(samples, days=2).days_with_data == 2


@pytest.mark.parametrize("days", [0, -1])
def test_invalid_period(days: int) -> None:
    with pytest.raises(ValueError, match="days must be at least 1"):
        glucose_metrics([], days=days)


@pytest.mark.parametrize("interval", [0, -5])
def test_invalid_sampling_interval(interval: int) -> None:
    sample = GlucoseSample(START, START.date(), 100.0, interval)
    with pytest.raises(ValueError, match="interval_minutes must be at least 1"):
        glucose_metrics([sample], days=1)
