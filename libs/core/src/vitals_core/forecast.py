"""Robust trend fitting and time-to-limit forecasts, shared by the alerter and the analytics.

Pure functions of their inputs: times in seconds, any units for values. The Theil–Sen
estimator (the median of pairwise slopes) shrugs off spikes and gaps that would tilt a
least-squares line, and its pair slopes give a confidence band for free.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

# Pairwise slopes grow as n²; beyond this many points the series is thinned evenly.
MAX_POINTS = 160
Z_95 = 1.96


@dataclass(frozen=True, slots=True)
class Fit:
    slope: float  # value units per second
    intercept: float  # value at t = 0
    slope_low: float  # 95 % band of the slope
    slope_high: float
    r2: float  # share of the variance the line explains (0..1)
    n: int
    start: float
    end: float

    def at(self, t: float) -> float:
        return self.intercept + self.slope * t

    @property
    def slope_per_hour(self) -> float:
        return self.slope * 3600.0


ForecastStatus = Literal["exhausting", "not_exhausting", "reached", "insufficient_data"]


@dataclass(frozen=True, slots=True)
class Forecast:
    status: ForecastStatus
    level: float
    eta: float | None = None  # seconds from `now` until the level is reached
    eta_low: float | None = None  # the earliest within the band
    eta_high: float | None = None  # the latest within the band (None: maybe never)
    fit: Fit | None = None


def _thin(
    times: Sequence[float], values: Sequence[float], max_points: int = MAX_POINTS
) -> tuple[list[float], list[float]]:
    n = len(times)
    if n <= max_points:
        return list(times), list(values)
    step = (n - 1) / (max_points - 1)
    idx = [round(i * step) for i in range(max_points)]
    return [times[i] for i in idx], [values[i] for i in idx]


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2.0


def theil_sen(
    times: Sequence[float],
    values: Sequence[float],
    min_points: int = 3,
    max_points: int = MAX_POINTS,
) -> Fit | None:
    """The Theil–Sen line through the points, or None when there are too few of them.

    Beyond `max_points` the series is thinned evenly: the cost grows as its square.
    """
    if len(times) != len(values):
        raise ValueError("times and values differ in length")
    if max_points < 2:
        raise ValueError("max_points must be at least 2")
    points = [(t, v) for t, v in zip(times, values, strict=True) if math.isfinite(v)]
    if len(points) < min_points:
        return None
    ts, vs = _thin([p[0] for p in points], [p[1] for p in points], max_points)
    n = len(ts)
    slopes = sorted(
        (vs[j] - vs[i]) / (ts[j] - ts[i])
        for i in range(n)
        for j in range(i + 1, n)
        if ts[j] != ts[i]
    )
    if not slopes:
        return None
    slope = _median(slopes)
    intercept = _median([v - slope * t for t, v in zip(ts, vs, strict=True)])
    # Sen's confidence interval: ranks around the median of the pairwise slopes.
    m = len(slopes)
    c = Z_95 * math.sqrt(n * (n - 1) * (2 * n + 5) / 18.0)
    lo = max(0, min(m - 1, math.floor((m - c) / 2.0)))
    hi = max(0, min(m - 1, math.ceil((m + c) / 2.0)))
    return Fit(
        slope=slope,
        intercept=intercept,
        slope_low=slopes[lo],
        slope_high=slopes[hi],
        r2=_r2(ts, vs, slope, intercept),
        n=len(points),
        start=points[0][0],
        end=points[-1][0],
    )


def _r2(ts: list[float], vs: list[float], slope: float, intercept: float) -> float:
    mean = sum(vs) / len(vs)
    total = sum((v - mean) ** 2 for v in vs)
    if total == 0.0:
        return 1.0
    residual = sum((v - (intercept + slope * t)) ** 2 for t, v in zip(ts, vs, strict=True))
    return max(0.0, 1.0 - residual / total)


def _eta(current: float, level: float, slope: float) -> float | None:
    """Seconds until `current` moving at `slope` reaches `level`, None if it never does."""
    gap = level - current
    if gap == 0.0:
        return 0.0
    if slope == 0.0 or (gap > 0) != (slope > 0):
        return None
    return gap / slope


def time_to_level(
    times: Sequence[float],
    values: Sequence[float],
    level: float,
    now: float,
    direction: Literal["rising", "falling"] = "rising",
    max_points: int = MAX_POINTS,
) -> Forecast:
    """When the series, extrapolated from its robust trend, reaches `level`.

    `rising`: the level is reached from below (disk use climbing to 95 %); `falling`: from
    above (free bytes dropping to 0). The answer is about the trend, not the last point: a
    spike does not move it. `eta_low` and `eta_high` come from the slope's 95 % band;
    `eta_high` is None where the band admits a trend that never gets there.
    """
    fit = theil_sen(times, values, max_points=max_points)
    if fit is None:
        return Forecast("insufficient_data", level)
    current = fit.at(now)
    sign = 1.0 if direction == "rising" else -1.0
    if sign * (current - level) >= 0.0:
        return Forecast("reached", level, eta=0.0, eta_low=0.0, eta_high=0.0, fit=fit)
    eta = _eta(current, level, fit.slope)
    if eta is None:
        return Forecast("not_exhausting", level, fit=fit)
    band = [_eta(current, level, fit.slope_low), _eta(current, level, fit.slope_high)]
    known = [e for e in band if e is not None]
    eta_low = min([eta, *known])
    eta_high = max([eta, *known]) if len(known) == 2 else None
    return Forecast("exhausting", level, eta=eta, eta_low=eta_low, eta_high=eta_high, fit=fit)
