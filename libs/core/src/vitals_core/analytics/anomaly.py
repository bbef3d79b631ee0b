"""Anomaly flags: points outside a robust band (rolling median ± k · scaled MAD).

The band at a point comes from the `window` points before it, so a spike cannot widen its
own band. Median and MAD shrug off earlier spikes, unlike a mean and standard deviation.
The scale has a floor (`min_scale`) so a flat series does not flag every tiny step.
The band is refreshed every `stride` points: the cost stays linear in the series length.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import msgspec

from vitals_core.analytics.stats import MAD_TO_SIGMA, Points, finite, mad, median
from vitals_core.series import parse_series

WINDOW = 120
MIN_HISTORY = 30
THRESHOLD = 5.5
MAX_FLAGS = 200
# Relative floor on the scale: 1 % of the median's magnitude.
REL_FLOOR = 0.01


class AnomalyFlag(msgspec.Struct, kw_only=True):
    ts: float
    value: float
    expected: float  # the rolling median
    low: float
    high: float
    score: float  # robust z: distance from the median in scaled MADs


class Anomalies(msgspec.Struct, kw_only=True):
    flags: list[AnomalyFlag]
    dropped: int = 0  # flags beyond MAX_FLAGS, counted, not listed
    threshold: float = THRESHOLD
    window: int = WINDOW


def min_scale(series: str) -> float:
    """The smallest band half-width, in robust sigmas, worth flagging for a series."""
    name = parse_series(series)[0]
    if name.endswith(("percent", "utilization")):
        return 0.5  # percentage points
    if name == "check.up":
        return 0.5  # up/down is an availability question, not an anomaly
    return 1e-9


def band(history: Sequence[float], floor: float) -> tuple[float, float]:
    """(median, scale) of the history; the scale never falls below the floor."""
    center = median(history)
    scale = MAD_TO_SIGMA * mad(history, center)
    return center, max(scale, floor, REL_FLOOR * abs(center))


def check_point(
    history: Sequence[float], value: float, threshold: float = THRESHOLD, floor: float = 1e-9
) -> AnomalyFlag | None:
    """One point against the band of the values before it; for rules that see one at a time."""
    if len(history) < MIN_HISTORY or not math.isfinite(value):
        return None
    center, scale = band(history, floor)
    score = (value - center) / scale
    if abs(score) <= threshold:
        return None
    return _flag(0.0, value, center, scale, threshold, score)


def _flag(
    ts: float, value: float, center: float, scale: float, threshold: float, score: float
) -> AnomalyFlag:
    return AnomalyFlag(
        ts=ts,
        value=value,
        expected=round(center, 6),
        low=round(center - threshold * scale, 6),
        high=round(center + threshold * scale, 6),
        score=round(score, 2),
    )


def detect(
    series: str,
    points: Points,
    threshold: float = THRESHOLD,
    window: int = WINDOW,
    stride: int | None = None,
) -> Anomalies:
    """Flag every point of the series that lies outside the band of the points before it."""
    pts = finite(points)
    vals = [v for _, v in pts]
    step = stride if stride is not None else max(1, window // 4)
    floor = min_scale(series)
    flags: list[AnomalyFlag] = []
    dropped = 0
    for first in range(MIN_HISTORY, len(vals), step):
        center, scale = band(vals[max(0, first - window) : first], floor)
        low, high = center - threshold * scale, center + threshold * scale
        last = min(first + step, len(vals))
        for i in [i for i in range(first, last) if not low <= vals[i] <= high]:
            if len(flags) < MAX_FLAGS:
                score = (vals[i] - center) / scale
                flags.append(_flag(pts[i][0], vals[i], center, scale, threshold, score))
            else:
                dropped += 1
    return Anomalies(flags=flags, dropped=dropped, threshold=threshold, window=window)
