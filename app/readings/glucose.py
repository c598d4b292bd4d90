"""CGM glucose metrics per the 2019 international consensus on time in range.

Battelino T, et al. "Clinical Targets for Continuous Glucose Monitoring Data Interpretation:
Recommendations From the International Consensus on Time in Range." Diabetes Care 2019;42:1593.
Targets and formulas as quoted in docs/rules.md ("CGM").

Invariants:
- percentages are shares of readings (with regular CGM sampling, share of readings = share of
  time, which is how the consensus reports them);
- ranges are inclusive where the consensus says "70-180": TIR = 70 <= g <= 180; TBR 70 = g < 70
  and TBR 54 = g < 54; TAR 180 = g > 180 and TAR 250 = g > 250. The contract names
  `tbr_70_percent` and `tbr_54_percent`, so they are cumulative ("below 70" includes level 2,
  < 54) rather than the consensus's disjoint level 1 (54-69) and level 2 (< 54); likewise above
  180 includes above 250. Hence tir + tbr_70 + tar_180 = 100 before rounding;
- samples are canonical mg/dL values the caller has already chosen (CGM, i.e. interstitial);
- wear is the share of the period the readings cover, each reading covering its sensor's
  sampling interval (docs/rules.md "CGM"): a 15-minute sensor's reading stands for 15 minutes,
  so such a sensor worn all the time is 100 %; an instant sent twice counts once;
- empty input gives readings 0, days 0, wear 0 and every glucose metric None.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from app.readings.units import round_half_up

TIR_LOW = 70.0
TIR_HIGH = 180.0
LEVEL_2_LOW = 54.0
LEVEL_2_HIGH = 250.0
# docs/rules.md "CGM", "Enough data": at least 14 days, the sensor worn at least 70 % of the time.
SUFFICIENT_DAYS = 14
SUFFICIENT_WEAR_PERCENT = 70.0
MINUTES_PER_DAY = 24 * 60


class GlucoseSample(NamedTuple):
    at: datetime  # aware UTC instant of the reading
    local_date: date  # the patient's local day of `at`
    mg_dl: float
    # The sensor's sampling interval: the minutes of wear this reading stands for.
    interval_minutes: int


@dataclass(frozen=True, slots=True)
class GlucoseMetrics:
    readings: int
    days_with_data: int
    mean_mg_dl: float | None
    gmi_percent: float | None
    cv_percent: float | None  # None below two readings (sample SD undefined)
    tir_percent: float | None
    tbr_70_percent: float | None
    tbr_54_percent: float | None
    tar_180_percent: float | None
    tar_250_percent: float | None
    wear_percent: float  # share of the period covered by readings, capped at 100
    sufficient: bool


def gmi_percent(mean_mg_dl: float) -> float:
    """Glucose management indicator, % (Bergenstal et al., Diabetes Care 2018;41:2275)."""
    return 3.31 + 0.02392 * mean_mg_dl


def _percent(part: int, whole: int) -> float:
    return round_half_up(100.0 * part / whole, 1)


def _covered_minutes(samples: Sequence[GlucoseSample]) -> int:
    """Minutes of wear: each distinct instant counts once (a re-sent reading cannot push wear
    up), for the longest sampling interval a reading at that instant has."""
    covered: dict[datetime, int] = {}
    for s in samples:
        if s.interval_minutes < 1:
            raise ValueError("interval_minutes must be at least 1")
        if s.interval_minutes > covered.get(s.at, 0):
            covered[s.at] = s.interval_minutes
    return sum(covered.values())


def glucose_metrics(samples: Sequence[GlucoseSample], *, days: int) -> GlucoseMetrics:
    """Consensus CGM metrics over a period of `days` local days."""
    if days < 1:
        raise ValueError("days must be at least 1")

    n = len(samples)
    period_minutes = days * MINUTES_PER_DAY
    wear = round_half_up(min(100.0, 100.0 * _covered_minutes(samples) / period_minutes), 1)
    days_with_data = len({s.local_date for s in samples})
    # Decided on the rounded figure so the verdict never contradicts the wear shown with it.
    sufficient = days_with_data >= SUFFICIENT_DAYS and wear >= SUFFICIENT_WEAR_PERCENT
    if n == 0:
        return GlucoseMetrics(
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
            wear_percent=wear,
            sufficient=False,
        )

    values = [float(s.mg_dl) for s in samples]
    mean = math.fsum(values) / n
    cv: float | None = None
    if n >= 2 and mean > 0:
        # CV = SD / mean x 100 (consensus). SD is the sample SD (n - 1), as R's sd() in the iglu
        # package's cv_glu. The two differ by a factor sqrt(n / (n - 1)): 0.17 % of CV for one
        # day of 5-minute readings, so the choice matters only for sparse meter data.
        variance = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
        cv = round_half_up(100.0 * math.sqrt(variance) / mean, 1)

    return GlucoseMetrics(
        readings=n,
        days_with_data=days_with_data,
        mean_mg_dl=round_half_up(mean, 1),
        # From the unrounded mean: rounding twice could move GMI by 0.01.
        gmi_percent=round_half_up(gmi_percent(mean), 2),
        cv_percent=cv,
        tir_percent=_percent(sum(TIR_LOW <= v <= TIR_HIGH for v in values), n),
        tbr_70_percent=_percent(sum(v < TIR_LOW for v in values), n),
        tbr_54_percent=_percent(sum(v < LEVEL_2_LOW for v in values), n),
        tar_180_percent=_percent(sum(v > TIR_HIGH for v in values), n),
        tar_250_percent=_percent(sum(v > LEVEL_2_HIGH for v in values), n),
        wear_percent=wear,
        sufficient=sufficient,
    )
