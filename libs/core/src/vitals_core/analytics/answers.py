"""The analytics endpoints' answers, built from fetched data by pure functions.

Each endpoint has a plan (which series over which span to fetch, decided from a host's
series names and latest sample) and a builder (fetched points and `now` in, answer out).
The gateway's `analytics_api` does the fetching between the two.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

import msgspec

from vitals_core.analytics import anomaly, capacity, health, recommendations, trends
from vitals_core.analytics.capacity import Capacity, Limits, Target
from vitals_core.analytics.components import ComponentUsage, HostComponents, components
from vitals_core.analytics.health import FleetHealth, GroupHealth, HostHealth
from vitals_core.analytics.recommendations import HostEvidence, Recommendation
from vitals_core.analytics.stats import Points
from vitals_core.analytics.trends import AppSummary, Trend
from vitals_core.events import AlertEvent, CheckResult, MetricSample
from vitals_core.series import parse_series
from vitals_core.settings.analytics import AnalyticsSettings, ComponentGroup

Range: TypeAlias = Literal["1h", "24h", "7d"]
RANGES: dict[str, float] = {"1h": 3600.0, "24h": 86400.0, "7d": 7 * 86400.0}
HOUR = RANGES["1h"]
DAY = RANGES["24h"]
WEEK = RANGES["7d"]

# Without `metric=`, the analytics answer covers these series (every label of each).
DEFAULT_METRICS = (
    "cpu.percent",
    "cpu.load1",
    "memory.percent",
    "swap.in_per_s",
    "disk.percent",
    "gpu.utilization",
    "gpu.memory_percent",
    "app.queue_size",
    "app.error_rate",
    "app.throughput_per_s",
    "app.response_ms.p95",
)


class UnknownMetric(ValueError):
    """`metric=` names no series of the host; the text says which."""


def limits(settings: AnalyticsSettings) -> Limits:
    return Limits(
        disk=settings.disk_limit,
        memory=settings.memory_limit,
        gpu_memory=settings.gpu_memory_limit,
        queue=settings.queue_limit,
    )


def ignored_mounts(sample: MetricSample | None) -> list[str]:
    if sample is None:
        return []
    return [d.mount for d in sample.disks if d.fstype in health.IGNORED_FSTYPES]


# --- health ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HostHealthData:
    host: str
    sample: MetricSample | None
    recent: Mapping[str, Points]  # `health.recent_series`, over the last `health.RECENT` s
    checks: Sequence[CheckResult] = ()
    check_up: Mapping[str, Points] = field(default_factory=dict)  # check.up{check=…}, last hour


class HealthAnswer(msgspec.Struct, kw_only=True):
    generated_at: float
    fleet: FleetHealth | None  # None when the answer is about one host
    hosts: list[HostHealth]
    groups: list[GroupHealth]


def health_plan(sample: MetricSample | None, names: Iterable[str]) -> tuple[list[str], list[str]]:
    """(series over the last 5 min, check.up series over the last hour) for one host."""
    recent = health.recent_series(sample) if sample is not None else []
    ups = sorted(n for n in names if parse_series(n)[0] == "check.up")
    return recent, ups


def build_health(
    data: Sequence[HostHealthData],
    alerts: Sequence[AlertEvent],
    now: float,
    stale_after: float,
    settings: AnalyticsSettings,
    fleet: bool = True,
) -> HealthAnswer:
    hosts = [
        health.host_health(
            d.host, d.sample, d.recent, alerts, now, stale_after, settings.down_after
        )
        for d in data
    ]
    by_group: dict[str, list[CheckResult]] = {}
    up: dict[tuple[str, str], Points] = {}
    for d in data:
        for c in d.checks:
            by_group.setdefault(health.group_name(c), []).append(c)
            up[(d.host, c.check)] = d.check_up.get(f"check.up{{check={c.check}}}", ())
    groups = [
        health.group_health(name, checks, up, alerts, now, settings.down_after)
        for name, checks in sorted(by_group.items())
    ]
    return HealthAnswer(
        generated_at=now,
        fleet=health.fleet_health(hosts, groups) if fleet else None,
        hosts=hosts,
        groups=groups,
    )


# --- analytics ------------------------------------------------------------------------------


class MetricAnalytics(msgspec.Struct, kw_only=True):
    series: str
    trend: Trend
    anomalies: anomaly.Anomalies


class AnalyticsAnswer(msgspec.Struct, kw_only=True):
    host: str
    range: str
    start: float
    end: float
    generated_at: float
    metrics: list[MetricAnalytics]
    apps: list[AppSummary]
    capacity: list[Capacity]


@dataclass(frozen=True, slots=True)
class AnalyticsPlan:
    series: list[str]  # over the range and the range before it
    apps: list[str]
    app_series: list[str]  # what the app summaries read, over the same two ranges
    targets: list[Target]  # capacity, over the last 24 h and 7 d

    def current_series(self) -> list[str]:
        return sorted({*self.series, *self.app_series})


def select(names: Iterable[str], metric: str | None) -> list[str]:
    """The series `metric=` asks for: an exact name, or a name without labels (all of them)."""
    names = sorted(set(names))
    if metric is None:
        return [n for n in names if parse_series(n)[0] in DEFAULT_METRICS]
    chosen = [n for n in names if n == metric or parse_series(n)[0] == metric]
    if not chosen:
        raise UnknownMetric(f"no series named {metric!r} on this host")
    return chosen


def analytics_plan(
    names: Iterable[str],
    sample: MetricSample | None,
    metric: str | None,
    settings: AnalyticsSettings,
) -> AnalyticsPlan:
    """What to fetch; with `metric=` the answer narrows to it (no app summaries)."""
    names = list(names)
    skip = ignored_mounts(sample)
    # Read-only images are left out unless asked for by their exact name.
    chosen = [
        n
        for n in select(names, metric)
        if n == metric or parse_series(n)[1].get("mount") not in skip
    ]
    apps = trends.apps_of(names) if metric is None else []
    app_series = sorted({s for a in apps for s in trends.app_series(a)} & set(names))
    targets = [t for t in capacity.targets(names, limits(settings), skip) if t.series in chosen]
    return AnalyticsPlan(series=chosen, apps=apps, app_series=app_series, targets=targets)


def build_analytics(
    host: str,
    range_: Range,
    plan: AnalyticsPlan,
    current: Mapping[str, Points],
    previous: Mapping[str, Points],
    day: Mapping[str, Points],
    week: Mapping[str, Points],
    now: float,
    settings: AnalyticsSettings,
) -> AnalyticsAnswer:
    """`current`/`previous`: the range and the one before; `day`/`week`: capacity windows."""
    length = RANGES[range_]
    start = now - length
    metrics = []
    for name in plan.series:
        pts = current.get(name, ())
        metrics.append(
            MetricAnalytics(
                series=name,
                trend=trends.trend(name, pts, previous.get(name, ()), start, now),
                anomalies=anomaly.detect(name, pts, threshold=settings.anomaly_threshold),
            )
        )
    apps = [trends.app_summary(a, current, previous) for a in plan.apps]
    forecasts = [
        capacity.capacity(t, {"24h": day.get(t.series, ()), "7d": week.get(t.series, ())}, now)
        for t in plan.targets
    ]
    return AnalyticsAnswer(
        host=host,
        range=range_,
        start=start,
        end=now,
        generated_at=now,
        metrics=metrics,
        apps=apps,
        capacity=forecasts,
    )


# --- optimization ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OptimizationPlan:
    hour: list[str]  # over the last hour
    day: list[str]  # over the last 24 h (rules and capacity)
    week: list[str]  # over the last 7 d (capacity)
    targets: list[Target]


class OptimizationAnswer(msgspec.Struct, kw_only=True):
    generated_at: float
    hosts: list[str]
    recommendations: list[Recommendation]


def optimization_plan(
    names: Iterable[str], sample: MetricSample | None, settings: AnalyticsSettings
) -> OptimizationPlan:
    names = list(names)
    hour, day = recommendations.needed(names)
    targets = capacity.targets(names, limits(settings), ignored_mounts(sample))
    week = [t.series for t in targets]
    return OptimizationPlan(hour=hour, day=sorted({*day, *week}), week=week, targets=targets)


def host_recommendations(
    host: str,
    sample: MetricSample | None,
    plan: OptimizationPlan,
    hour: Mapping[str, Points],
    day: Mapping[str, Points],
    week: Mapping[str, Points],
    now: float,
) -> list[Recommendation]:
    forecasts = [
        capacity.capacity(t, {"24h": day.get(t.series, ()), "7d": week.get(t.series, ())}, now)
        for t in plan.targets
    ]
    evidence = HostEvidence(
        host=host,
        now=now,
        cpu_count=sample.cpu.count if sample is not None else 0,
        hour=hour,
        day=day,
        capacity=forecasts,
    )
    return recommendations.recommend(evidence)


def build_optimization(
    per_host: Mapping[str, Sequence[Recommendation]], now: float
) -> OptimizationAnswer:
    every = [r for host in sorted(per_host) for r in per_host[host]]
    order = {"critical": 0, "warning": 1, "info": 2}
    return OptimizationAnswer(
        generated_at=now,
        hosts=sorted(per_host),
        recommendations=sorted(every, key=lambda r: (order[r.severity], r.host, r.rule)),
    )


# --- components -----------------------------------------------------------------------------


class ComponentsAnswer(msgspec.Struct, kw_only=True):
    generated_at: float
    hosts: list[HostComponents]
    # Summed over the hosts; memory shares are not, as hosts differ in size.
    fleet: list[ComponentUsage]


def build_components(
    samples: Mapping[str, MetricSample | None], groups: Sequence[ComponentGroup], now: float
) -> ComponentsAnswer:
    hosts = [components(h, samples[h], groups) for h in sorted(samples)]
    totals: dict[str, ComponentUsage] = {}
    for hc in hosts:
        for u in hc.components:
            t = totals.setdefault(
                u.component,
                ComponentUsage(
                    component=u.component,
                    processes=0,
                    cpu_percent=0.0,
                    host_cpu_share=None,
                    rss=0,
                    memory_percent=None,
                    names=[],
                ),
            )
            t.processes += u.processes
            t.cpu_percent = round(t.cpu_percent + u.cpu_percent, 2)
            t.rss += u.rss
            t.names = sorted({*t.names, *u.names})[:10]
    return ComponentsAnswer(generated_at=now, hosts=hosts, fleet=list(totals.values()))
