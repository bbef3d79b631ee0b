"""Trend, change against the previous period and percentiles of a series over a range.

The slope is Theil–Sen's (`vitals_core.forecast.theil_sen`): spikes do not tilt it, and its
band and r² say how much to trust it. Application series get a summary of their own:
throughput in jobs per hour, error rate, response-time percentiles and queue growth.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec

from vitals_core.analytics.stats import Points, finite, mean, quantile, values
from vitals_core.forecast import theil_sen
from vitals_core.series import parse_series, series_name

# A trend to show needs fewer points than a forecast to act on (the fit's cost is n²).
TREND_POINTS = 100


class Trend(msgspec.Struct, kw_only=True):
    series: str
    start: float
    end: float
    n: int
    last: float | None = None
    mean: float | None = None
    min: float | None = None
    max: float | None = None
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    # Per hour, with Sen's 95 % band; r² is the share of the variance the line explains.
    slope_per_hour: float | None = None
    slope_low_per_hour: float | None = None
    slope_high_per_hour: float | None = None
    r2: float | None = None
    previous_mean: float | None = None
    change: float | None = None
    change_percent: float | None = None


def _r(x: float, digits: int = 4) -> float:
    return round(x, digits)


def trend(series: str, points: Points, previous: Points, start: float, end: float) -> Trend:
    """Summarise `points` (the range `start..end`) against `previous` (the range before)."""
    pts = finite(points)
    vs = [v for _, v in pts]
    if not vs:
        return Trend(series=series, start=start, end=end, n=0)
    ordered = sorted(vs)
    avg = mean(vs)
    out = Trend(
        series=series,
        start=start,
        end=end,
        n=len(vs),
        last=_r(vs[-1]),
        mean=_r(avg),
        min=_r(ordered[0]),
        max=_r(ordered[-1]),
        p50=_r(quantile(ordered, 0.50)),
        p95=_r(quantile(ordered, 0.95)),
        p99=_r(quantile(ordered, 0.99)),
    )
    fit = theil_sen([t for t, _ in pts], vs, max_points=TREND_POINTS)
    if fit is not None:
        out.slope_per_hour = _r(fit.slope * 3600.0, 6)
        out.slope_low_per_hour = _r(fit.slope_low * 3600.0, 6)
        out.slope_high_per_hour = _r(fit.slope_high * 3600.0, 6)
        out.r2 = _r(fit.r2, 3)
    before = values(previous)
    if before:
        prev = mean(before)
        out.previous_mean = _r(prev)
        out.change = _r(avg - prev)
        out.change_percent = _r(100.0 * (avg - prev) / abs(prev), 2) if prev else None
    return out


# --- application ----------------------------------------------------------------------------

APP_SERIES = (
    "app.throughput_per_s",
    "app.error_rate",
    "app.queue_size",
    "app.response_ms.p50",
    "app.response_ms.p95",
    "app.response_ms.p99",
)


class AppSummary(msgspec.Struct, kw_only=True):
    app: str
    throughput_jobs_per_hour: float | None = None
    throughput_change_percent: float | None = None
    error_rate: float | None = None
    error_rate_previous: float | None = None
    # The median over the range of the percentiles each report carried, and the worst p99.
    response_ms_p50: float | None = None
    response_ms_p95: float | None = None
    response_ms_p99: float | None = None
    response_ms_p99_max: float | None = None
    queue_size: float | None = None
    queue_growth_per_hour: float | None = None
    queue_growth_low_per_hour: float | None = None
    queue_growth_high_per_hour: float | None = None


def apps_of(names: Iterable[str]) -> list[str]:
    """The applications a host reports, from its series names."""
    return sorted(
        {labels["app"] for n in names for name, labels in [parse_series(n)] if "app" in labels}
        - {""}
    )


def app_series(app: str) -> list[str]:
    return [series_name(name, app=app) for name in APP_SERIES]


def _median(points: Points) -> float | None:
    vs = values(points)
    return _r(quantile(sorted(vs), 0.5)) if vs else None


def app_summary(
    app: str, current: Mapping[str, Points], previous: Mapping[str, Points]
) -> AppSummary:
    """`current` and `previous` map the app's series names to their points in each range."""

    def cur(name: str) -> list[float]:
        return values(current.get(series_name(name, app=app), ()))

    def prev(name: str) -> list[float]:
        return values(previous.get(series_name(name, app=app), ()))

    out = AppSummary(app=app)
    throughput, throughput_before = cur("app.throughput_per_s"), prev("app.throughput_per_s")
    if throughput:
        out.throughput_jobs_per_hour = _r(mean(throughput) * 3600.0, 2)
        if throughput_before and mean(throughput_before):
            ratio = mean(throughput) / mean(throughput_before) - 1.0
            out.throughput_change_percent = _r(100.0 * ratio, 2)
    errors, errors_before = cur("app.error_rate"), prev("app.error_rate")
    out.error_rate = _r(mean(errors), 6) if errors else None
    out.error_rate_previous = _r(mean(errors_before), 6) if errors_before else None
    for q in ("p50", "p95", "p99"):
        key = series_name(f"app.response_ms.{q}", app=app)
        setattr(out, f"response_ms_{q}", _median(current.get(key, ())))
    p99 = cur("app.response_ms.p99")
    out.response_ms_p99_max = _r(max(p99)) if p99 else None
    queue = finite(current.get(series_name("app.queue_size", app=app), ()))
    if queue:
        out.queue_size = _r(queue[-1][1])
        fit = theil_sen([t for t, _ in queue], [v for _, v in queue], max_points=TREND_POINTS)
        if fit is not None:
            out.queue_growth_per_hour = _r(fit.slope * 3600.0)
            out.queue_growth_low_per_hour = _r(fit.slope_low * 3600.0)
            out.queue_growth_high_per_hour = _r(fit.slope_high * 3600.0)
    return out
