"""Small robust statistics over `(ts, value)` points, shared by the analytics modules."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeAlias

Points: TypeAlias = Sequence[tuple[float, float]]

# Scales a median absolute deviation to a standard deviation for normal data.
MAD_TO_SIGMA = 1.4826


def finite(points: Points) -> list[tuple[float, float]]:
    return [(t, v) for t, v in points if math.isfinite(v)]


def values(points: Points) -> list[float]:
    return [v for _, v in points if math.isfinite(v)]


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile (`q` in 0..1) of values already sorted ascending."""
    if not sorted_values:
        raise ValueError("quantile of no values")
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def median(xs: Sequence[float]) -> float:
    return quantile(sorted(xs), 0.5)


def mean(xs: Sequence[float]) -> float:
    if not xs:
        raise ValueError("mean of no values")
    return math.fsum(xs) / len(xs)


def mad(xs: Sequence[float], center: float) -> float:
    """Median absolute deviation around `center`."""
    return median([abs(x - center) for x in xs])


def span(points: Points) -> float:
    """Seconds between the first and the last point (0 for fewer than two)."""
    return points[-1][0] - points[0][0] if len(points) >= 2 else 0.0
