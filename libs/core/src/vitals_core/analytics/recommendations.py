"""Recommendations from deterministic rules, each with its evidence, a severity and an action.

A rule looks at one host's recent series and returns zero or more recommendations; each
carries the numbers it rests on and the window they came from (`Evidence`). A
recommendation cannot be built without evidence. The rules and their thresholds are
described in docs/analytics.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise

import msgspec

from vitals_core.analytics.capacity import Capacity
from vitals_core.analytics.stats import Points, finite, mean, quantile, span, values
from vitals_core.events import Severity
from vitals_core.forecast import theil_sen
from vitals_core.series import parse_series

HOUR = 3600.0
MIN_COVERAGE = 1800.0  # an hour-window rule needs at least half an hour of points

CPU_SATURATED_SHARE = 0.8
CPU_CRITICAL_RATIO = 1.5
SWAP_ACTIVE_SHARE = 0.5
SWAP_MIN_RATE = 4096.0  # bytes/s: one page a second
SWAP_CRITICAL_RATE = 10 * 2**20
MEMORY_CRITICAL = 95.0
CAPACITY_WARNING = 7 * 86400.0
CAPACITY_CRITICAL = 86400.0
GPU_IDLE = 20.0
QUEUE_GROWTH_MIN = 10.0  # jobs per hour
ERROR_SEGMENT = 900.0  # each side of an error-rate step spans at least 15 min
ERROR_STEP_ABS = 0.01  # error rate is a fraction: one percentage point
ERROR_STEP_RATIO = 2.0
ERROR_CRITICAL = 0.10
LATENCY_MIN_SPAN = 2 * HOUR
LATENCY_RISE = 0.25
LATENCY_CRITICAL_RISE = 1.0
THROUGHPUT_FLAT = 0.10
FLAP_TRANSITIONS = 4
FLAP_CRITICAL = 10

_SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


class Evidence(msgspec.Struct, kw_only=True, omit_defaults=True):
    series: str
    statistic: str
    value: float
    window: str
    start: float
    end: float
    unit: str = ""


class Recommendation(msgspec.Struct, kw_only=True):
    rule: str
    host: str
    severity: Severity
    title: str
    action: str
    evidence: list[Evidence]
    since: float | None = None

    def __post_init__(self) -> None:
        if not self.evidence:
            raise ValueError(f"recommendation {self.rule!r} has no evidence")


@dataclass(frozen=True, slots=True)
class HostEvidence:
    """What the rules see of one host: the last hour, the last day, the capacity forecasts."""

    host: str
    now: float
    cpu_count: int
    hour: Mapping[str, Points]
    day: Mapping[str, Points]
    capacity: Sequence[Capacity] = ()


HOUR_SERIES: tuple[str, ...] = (
    "cpu.load1",
    "swap.in_per_s",
    "memory.percent",
    "gpu.utilization",
    "app.queue_size",
    "check.up",
)
DAY_SERIES: tuple[str, ...] = ("app.error_rate", "app.response_ms.p95", "app.throughput_per_s")


def needed(names: Iterable[str]) -> tuple[list[str], list[str]]:
    """Of a host's series names, those the rules read over the last hour and the last day."""
    names = sorted(set(names))
    hour = [n for n in names if parse_series(n)[0] in HOUR_SERIES]
    day = [n for n in names if parse_series(n)[0] in DAY_SERIES]
    return hour, day


def _ev(
    series: str, statistic: str, value: float, window: str, pts: Points, unit: str = ""
) -> Evidence:
    """Evidence computed over `pts`; its window is their first and last timestamps."""
    return Evidence(
        series=series,
        statistic=statistic,
        value=round(value, 6),
        window=window,
        start=pts[0][0],
        end=pts[-1][0],
        unit=unit,
    )


def _hour(ev: HostEvidence, name: str) -> list[tuple[float, float]]:
    pts = finite(ev.hour.get(name, ()))
    return pts if span(pts) >= MIN_COVERAGE else []


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def cpu_saturation(ev: HostEvidence) -> list[Recommendation]:
    pts = _hour(ev, "cpu.load1")
    if not pts or ev.cpu_count <= 0:
        return []
    load = [v for _, v in pts]
    share = sum(1 for v in load if v > ev.cpu_count) / len(load)
    if share < CPU_SATURATED_SHARE:
        return []
    typical = quantile(sorted(load), 0.5)
    ratio = typical / ev.cpu_count
    return [
        Recommendation(
            rule="cpu_saturation",
            host=ev.host,
            severity="critical" if ratio >= CPU_CRITICAL_RATIO else "warning",
            title=f"CPU saturated: load {typical:.1f} on {ev.cpu_count} cores",
            action="Scale the workers out to another host, or lower their concurrency here "
            "until the load stays under the core count; see components for who uses the CPU.",
            evidence=[
                _ev("cpu.load1", "p50", typical, "1h", pts),
                _ev("cpu.load1", f"share of samples above {ev.cpu_count}", share, "1h", pts),
                _ev("cpu.count", "cores", float(ev.cpu_count), "latest", pts[-1:]),
            ],
        )
    ]


def memory_pressure(ev: HostEvidence) -> list[Recommendation]:
    pts = _hour(ev, "swap.in_per_s")
    if not pts:
        return []
    rates = [v for _, v in pts]
    share = sum(1 for v in rates if v > 0) / len(rates)
    rate = mean(rates)
    if share < SWAP_ACTIVE_SHARE or rate < SWAP_MIN_RATE:
        return []
    evidence = [
        _ev("swap.in_per_s", "mean", rate, "1h", pts, "B/s"),
        _ev("swap.in_per_s", "share of samples swapping in", share, "1h", pts),
    ]
    mem = finite(ev.hour.get("memory.percent", ()))
    mem_p95 = quantile(sorted(v for _, v in mem), 0.95) if mem else 0.0
    if mem:
        evidence.append(_ev("memory.percent", "p95", mem_p95, "1h", mem, "%"))
    critical = rate >= SWAP_CRITICAL_RATE or mem_p95 >= MEMORY_CRITICAL
    return [
        Recommendation(
            rule="memory_pressure",
            host=ev.host,
            severity="critical" if critical else "warning",
            title=f"Memory pressure: swapping in {rate / 1024:.0f} KiB/s",
            action="Add memory to this host, or run fewer workers on it (components shows "
            "each group's resident memory) so the working set fits in RAM.",
            evidence=evidence,
        )
    ]


_CAPACITY_ACTIONS = {
    "disk": "Free space (old logs, caches, stale model files, core dumps) or grow the volume.",
    "memory": "Find the process that grows (components), restart or fix it, or add memory.",
    "gpu_memory": "Run fewer models or workers on this GPU, or move them to a larger GPU.",
    "queue": "Add workers: jobs arrive faster than they are drained.",
}


def capacity_exhaustion(ev: HostEvidence) -> list[Recommendation]:
    out = []
    for c in ev.capacity:
        if c.status not in ("exhausting", "reached") or c.eta_s is None:
            continue
        if c.eta_s >= CAPACITY_WARNING:
            continue
        w = next(w for w in c.windows if w.window == c.window)
        if w.start is None or w.end is None:
            continue
        where = [(w.start, 0.0), (w.end, 0.0)]  # the window the forecast was fitted on
        window = w.window
        evidence = [
            _ev(c.series, "latest", c.current or 0.0, window, where),
            _ev(c.series, "limit", c.limit, window, where),
            _ev(c.series, "slope per hour", w.slope_per_hour or 0.0, window, where),
            _ev(c.series, "hours until the limit", c.eta_s / HOUR, window, where, "h"),
        ]
        if c.eta_low_s is not None:
            low = c.eta_low_s / HOUR
            evidence.append(_ev(c.series, "hours, earliest in the band", low, window, where, "h"))
        when = "now" if c.status == "reached" else f"in {c.eta_s / HOUR:.1f} h"
        out.append(
            Recommendation(
                rule="capacity_exhaustion",
                host=ev.host,
                severity="critical" if c.eta_s < CAPACITY_CRITICAL else "warning",
                title=f"{c.series} reaches {c.limit:g} {when}",
                action=_CAPACITY_ACTIONS[c.resource],
                evidence=evidence,
            )
        )
    return out


def gpu_idle_queue_growing(ev: HostEvidence) -> list[Recommendation]:
    gpus = {n: _hour(ev, n) for n in ev.hour if parse_series(n)[0] == "gpu.utilization"}
    gpus = {n: p for n, p in gpus.items() if p}
    if not gpus:
        return []
    busy = {n: quantile(sorted(v for _, v in p), 0.5) for n, p in gpus.items()}
    if max(busy.values()) >= GPU_IDLE:
        return []
    out = []
    for name in sorted(ev.hour):
        if parse_series(name)[0] != "app.queue_size" or not (pts := _hour(ev, name)):
            continue
        fit = theil_sen([t for t, _ in pts], [v for _, v in pts])
        growth = fit.slope * HOUR if fit else 0.0
        if fit is None or fit.slope_low <= 0 or growth < QUEUE_GROWTH_MIN:
            continue
        evidence = [_ev(g, "p50", u, "1h", gpus[g], "%") for g, u in sorted(busy.items())]
        evidence += [
            _ev(name, "growth per hour", growth, "1h", pts, "jobs/h"),
            _ev(name, "growth per hour, low end of the band", fit.slope_low * HOUR, "1h", pts),
            _ev(name, "latest", pts[-1][1], "1h", pts, "jobs"),
        ]
        out.append(
            Recommendation(
                rule="gpu_idle_queue_growing",
                host=ev.host,
                severity="warning",
                title=f"GPU idle while {name} grows {growth:.0f} jobs/h",
                action="Jobs wait while the GPU idles: check that the workers run, that they "
                "read this queue, and that they see the GPU (CUDA_VISIBLE_DEVICES, drivers); "
                "then match the worker count to the GPUs.",
                evidence=evidence,
            )
        )
    return out


def _step(pts: Sequence[tuple[float, float]]) -> tuple[int, float, float] | None:
    """The split that best separates a low mean before from a higher one after."""
    n = len(pts)
    prefix = [0.0]
    for _, v in pts:
        prefix.append(prefix[-1] + v)
    best: tuple[float, int] | None = None
    for i in range(1, n):
        if pts[i][0] - pts[0][0] < ERROR_SEGMENT or pts[-1][0] - pts[i][0] < ERROR_SEGMENT:
            continue
        before = prefix[i] / i
        after = (prefix[n] - prefix[i]) / (n - i)
        stat = (after - before) * math.sqrt(i * (n - i) / n)
        if best is None or stat > best[0]:
            best = (stat, i)
    if best is None:
        return None
    i = best[1]
    return i, prefix[i] / i, (prefix[n] - prefix[i]) / (n - i)


def error_rate_step(ev: HostEvidence) -> list[Recommendation]:
    out = []
    for name in sorted(ev.day):
        if parse_series(name)[0] != "app.error_rate":
            continue
        pts = finite(ev.day[name])
        found = _step(pts)
        if found is None:
            continue
        i, before, after = found
        recent = [v for t, v in pts if t >= pts[-1][0] - ERROR_SEGMENT]
        step = after - before
        if step < ERROR_STEP_ABS or after < ERROR_STEP_RATIO * before:
            continue
        if mean(recent) < before + step / 2:
            continue  # it came back down: a past burst, not the current state
        since = pts[i][0]
        out.append(
            Recommendation(
                rule="error_rate_step",
                host=ev.host,
                severity="critical" if after >= ERROR_CRITICAL else "warning",
                title=f"{name} rose from {before:.2%} to {after:.2%} at {_clock(since)}",
                action=f"Look at what changed around {_clock(since)}: a deployment, a "
                "configuration change, a dependency or an input; the annotations of that time "
                "and the first errors logged after it.",
                evidence=[
                    _ev(name, "mean before the step", before, "24h", pts[:i]),
                    _ev(name, "mean since the step", after, "24h", pts[i:]),
                ],
                since=since,
            )
        )
    return out


def _relative_change(pts: Sequence[tuple[float, float]]) -> tuple[float, float, float] | None:
    """(relative change of the trend over the window, its low end, the start level)."""
    fit = theil_sen([t for t, _ in pts], [v for _, v in pts])
    if fit is None:
        return None
    first, last = fit.at(pts[0][0]), fit.at(pts[-1][0])
    base = max(abs(first), 1e-9)
    low = fit.slope_low * (pts[-1][0] - pts[0][0]) / base
    return (last - first) / base, low, first


def latency_bottleneck(ev: HostEvidence) -> list[Recommendation]:
    out = []
    for name in sorted(ev.day):
        base, labels = parse_series(name)
        if base != "app.response_ms.p95":
            continue
        pts = finite(ev.day[name])
        tput_name = f"app.throughput_per_s{{app={labels.get('app', '')}}}"
        tput = finite(ev.day.get(tput_name, ()))
        if span(pts) < LATENCY_MIN_SPAN or span(tput) < LATENCY_MIN_SPAN:
            continue
        rise = _relative_change(pts)
        flat = _relative_change(tput)
        tput_mean = mean(values(tput))
        if rise is None or flat is None or tput_mean <= 0:
            continue
        if rise[0] < LATENCY_RISE or rise[1] <= 0 or abs(flat[0]) > THROUGHPUT_FLAT:
            continue
        out.append(
            Recommendation(
                rule="latency_bottleneck",
                host=ev.host,
                severity="critical" if rise[0] >= LATENCY_CRITICAL_RISE else "warning",
                title=f"{name} up {rise[0]:.0%} while throughput stays flat",
                action="Requests slow down at the same load: a bottleneck other than load. "
                "Look for a growing table or a missing index, a connection pool running dry, "
                "memory growth, or a slower dependency; profile the slowest endpoint.",
                evidence=[
                    _ev(name, "trend start", rise[2], "24h", pts, "ms"),
                    _ev(name, "relative rise of the trend", rise[0], "24h", pts),
                    _ev(tput_name, "mean", tput_mean, "24h", tput, "jobs/s"),
                    _ev(tput_name, "relative change of the trend", flat[0], "24h", tput),
                ],
            )
        )
    return out


def check_flapping(ev: HostEvidence) -> list[Recommendation]:
    out = []
    for name in sorted(ev.hour):
        if parse_series(name)[0] != "check.up":
            continue
        pts = finite(ev.hour[name])
        states = [v >= 0.5 for _, v in pts]
        flips = sum(1 for a, b in pairwise(states) if a != b)
        if flips < FLAP_TRANSITIONS:
            continue
        availability = sum(states) / len(states)
        out.append(
            Recommendation(
                rule="check_flapping",
                host=ev.host,
                severity="critical" if flips >= FLAP_CRITICAL else "warning",
                title=f"{name} changed state {flips} times in an hour",
                action="Look at the service's restarts, crashes and timeouts around the flips; if "
                "it is slow but up, raise the check's timeout rather than silence it.",
                evidence=[
                    _ev(name, "state changes", float(flips), "1h", pts),
                    _ev(name, "share of results up", availability, "1h", pts),
                ],
            )
        )
    return out


Rule = Callable[[HostEvidence], list[Recommendation]]
RULES: tuple[Rule, ...] = (
    cpu_saturation,
    memory_pressure,
    capacity_exhaustion,
    gpu_idle_queue_growing,
    error_rate_step,
    latency_bottleneck,
    check_flapping,
)


def recommend(ev: HostEvidence) -> list[Recommendation]:
    """Every rule's recommendations for one host, the most severe first."""
    out = [r for rule in RULES for r in rule(ev)]
    return sorted(out, key=lambda r: (_SEVERITY_ORDER[r.severity], r.rule, r.title))
