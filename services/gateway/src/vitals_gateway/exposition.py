"""The Prometheus text format: the fleet's current values and the gateway's own. Pure."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable

from vitals_core import series
from vitals_gateway.counters import BUCKETS, GAUGE_HELP, HELP, Counters

PREFIX = "vitals_"
_BAD = re.compile(r"[^a-zA-Z0-9_:]")
_BAD_LABEL = re.compile(r"[^a-zA-Z0-9_]")


def metric_name(name: str) -> str:
    """`cpu.core.percent` -> `vitals_cpu_core_percent`."""
    return PREFIX + _BAD.sub("_", name)


def _label_name(name: str) -> str:
    cleaned = _BAD_LABEL.sub("_", name)
    return cleaned if cleaned and not cleaned[0].isdigit() else f"_{cleaned}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    inner = ",".join(f'{_label_name(k)}="{_escape(v)}"' for k, v in pairs)
    return "{" + inner + "}" if inner else ""


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if value != int(value) or abs(value) >= 1e15 else str(int(value))


def fleet_lines(points: Iterable[tuple[str, str, float, float]]) -> list[str]:
    """(host, series, value, ts) -> gauge lines, each metric's samples grouped together."""
    grouped: defaultdict[str, list[str]] = defaultdict(list)
    for host, name, value, _ts in points:
        base, labels = series.parse_series(name)
        metric = metric_name(base)
        pairs = [("host", host), *sorted(labels.items())]
        grouped[metric].append(f"{metric}{_labels(pairs)} {_number(value)}")
    lines = []
    for metric in sorted(grouped):
        lines.append(f"# TYPE {metric} gauge")
        lines.extend(grouped[metric])
    return lines


def own_lines(counters: Counters) -> list[str]:
    lines = []
    for name in sorted(set(HELP) | set(counters.values)):
        metric = f"vitals_gateway_{name}_total"
        lines += [
            f"# HELP {metric} {HELP.get(name, name)}",
            f"# TYPE {metric} counter",
            f"{metric} {counters.values[name]}",
        ]
    for name in sorted(set(GAUGE_HELP) | set(counters.gauges)):
        metric = f"vitals_gateway_{name}"
        lines += [
            f"# HELP {metric} {GAUGE_HELP.get(name, name)}",
            f"# TYPE {metric} gauge",
            f"{metric} {_number(counters.gauges.get(name, 0.0))}",
        ]
    metric = "vitals_gateway_request_duration_seconds"
    lines += [f"# HELP {metric} HTTP request latency by route.", f"# TYPE {metric} histogram"]
    for (route, method, code), hist in sorted(counters.latency.items()):
        base = [("route", route), ("method", method), ("code", code)]
        cumulative = 0
        for bound, count in zip((*BUCKETS, math.inf), hist.counts, strict=True):
            cumulative += count
            lines.append(f"{metric}_bucket{_labels([*base, ('le', _number(bound))])} {cumulative}")
        lines.append(f"{metric}_sum{_labels(base)} {_number(hist.total)}")
        lines.append(f"{metric}_count{_labels(base)} {hist.n}")
    return lines


def render(lines: Iterable[str]) -> str:
    return "\n".join(lines) + "\n"
