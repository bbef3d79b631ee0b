"""When disk, memory, GPU memory and the job queue reach their limit.

Each resource is forecast over a 24 h and a 7 d window with `vitals_core.forecast.
time_to_level` (the same function the alerter's forecast rule uses): a Theil–Sen trend with
a 95 % band. The headline is the earliest crossing among the windows, so a recent change
of pace is not hidden by a calm week. A window whose points span less than a twelfth of
it says `insufficient_data` rather than extrapolate a few minutes over days, and a
window says `exhausting` only when the whole 95 % band of its slope heads for the limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

import msgspec

from vitals_core.analytics.stats import Points, finite, span
from vitals_core.forecast import ForecastStatus, time_to_level
from vitals_core.series import parse_series

Resource: TypeAlias = Literal["disk", "memory", "gpu_memory", "queue"]

DAY = 86400.0
WINDOWS: dict[str, float] = {"24h": DAY, "7d": 7 * DAY}
MIN_SPAN_SHARE = 1.0 / 12.0
# Points per window fit: 120 over 24 h is one every 12 min, 7 140 pair slopes.
FIT_POINTS = 120

# Series name (before labels) -> resource.
RESOURCES: dict[str, Resource] = {
    "disk.percent": "disk",
    "memory.percent": "memory",
    "gpu.memory_percent": "gpu_memory",
    "app.queue_size": "queue",
}


@dataclass(frozen=True, slots=True)
class Limits:
    disk: float = 95.0
    memory: float = 95.0
    gpu_memory: float = 98.0
    queue: float = 1000.0

    def of(self, resource: Resource) -> float:
        limit: float = getattr(self, resource)
        return limit


class WindowForecast(msgspec.Struct, kw_only=True):
    window: str
    status: ForecastStatus
    n: int
    start: float | None = None
    end: float | None = None
    eta_s: float | None = None
    eta_low_s: float | None = None
    eta_high_s: float | None = None
    slope_per_hour: float | None = None
    slope_low_per_hour: float | None = None
    slope_high_per_hour: float | None = None
    r2: float | None = None


class Capacity(msgspec.Struct, kw_only=True):
    resource: Resource
    series: str
    limit: float
    current: float | None
    status: ForecastStatus
    window: str | None  # the window the headline comes from
    eta_s: float | None = None
    eta_low_s: float | None = None
    eta_high_s: float | None = None
    at: float | None = None  # when, in epoch seconds
    windows: list[WindowForecast] = []


@dataclass(frozen=True, slots=True)
class Target:
    resource: Resource
    series: str
    limit: float


def targets(
    names: Iterable[str], limits: Limits, ignored_mounts: Sequence[str] = ()
) -> list[Target]:
    """The forecastable series among a host's series names, each with its limit."""
    out = []
    for name in sorted(set(names)):
        base, labels = parse_series(name)
        resource = RESOURCES.get(base)
        if resource is None or labels.get("mount") in ignored_mounts:
            continue
        out.append(Target(resource, name, limits.of(resource)))
    return out


def _window(window: str, length: float, points: Points, limit: float, now: float) -> WindowForecast:
    pts = finite(points)
    if span(pts) < length * MIN_SPAN_SHARE:
        return WindowForecast(window=window, status="insufficient_data", n=len(pts))
    f = time_to_level([t for t, _ in pts], [v for _, v in pts], limit, now, max_points=FIT_POINTS)
    status = f.status
    if status == "exhausting" and f.eta_high is None:
        # Part of the slope's band never reaches the limit: noise, not a trend to act on.
        status = "not_exhausting"
    out = WindowForecast(
        window=window,
        status=status,
        n=len(pts),
        start=pts[0][0],
        end=pts[-1][0],
    )
    if status != "not_exhausting":
        out.eta_s, out.eta_low_s, out.eta_high_s = f.eta, f.eta_low, f.eta_high
    if f.fit is not None:
        out.slope_per_hour = round(f.fit.slope * 3600.0, 6)
        out.slope_low_per_hour = round(f.fit.slope_low * 3600.0, 6)
        out.slope_high_per_hour = round(f.fit.slope_high * 3600.0, 6)
        out.r2 = round(f.fit.r2, 3)
    return out


_RANK: dict[ForecastStatus, int] = {
    "reached": 0,
    "exhausting": 1,
    "not_exhausting": 2,
    "insufficient_data": 3,
}


def capacity(target: Target, windows: Mapping[str, Points], now: float) -> Capacity:
    """Forecast one resource; `windows` maps "24h"/"7d" to that window's points."""
    per_window = [
        _window(name, length, windows.get(name, ()), target.limit, now)
        for name, length in WINDOWS.items()
    ]
    best = min(
        per_window,
        key=lambda w: (_RANK[w.status], w.eta_s if w.eta_s is not None else float("inf")),
    )
    latest = [finite(windows.get(name, ())) for name in WINDOWS]
    current = next((pts[-1][1] for pts in latest if pts), None)
    out = Capacity(
        resource=target.resource,
        series=target.series,
        limit=target.limit,
        current=current,
        status=best.status,
        window=best.window if best.status != "insufficient_data" else None,
        windows=per_window,
    )
    if best.status in ("exhausting", "reached"):
        out.eta_s = best.eta_s
        out.eta_low_s = best.eta_low_s
        out.eta_high_s = best.eta_high_s
        out.at = now + (best.eta_s or 0.0)
    return out
