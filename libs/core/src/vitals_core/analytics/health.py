"""An explainable health score, 0–100, per host, per service-check group and for the fleet.

Every score is 100 minus a list of penalties (`parts`); each part names what it is about,
the value it saw and how many points it took, so a person can see why a score is 72.
The formula is in docs/analytics.md; the numbers live in the tables below.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

import msgspec

from vitals_core.analytics.stats import Points, mean, values
from vitals_core.events import AlertEvent, CheckResult, MetricSample
from vitals_core.series import parse_series

# The window whose mean is scored, so one busy second does not cost points.
RECENT = 300.0

Status: TypeAlias = Literal["healthy", "degraded", "critical", "unknown"]
PartKind: TypeAlias = Literal["metric", "alert", "staleness", "check", "host", "group"]


class ScorePart(msgspec.Struct, kw_only=True, omit_defaults=True):
    kind: PartKind
    name: str
    penalty: float  # points taken off the 100
    value: float | None = None
    detail: str = ""


class HostHealth(msgspec.Struct, kw_only=True):
    host: str
    score: float
    status: Status
    parts: list[ScorePart]
    last_seen: float | None


class GroupHealth(msgspec.Struct, kw_only=True):
    group: str
    score: float
    status: Status
    parts: list[ScorePart]
    checks: list[str]


class FleetHealth(msgspec.Struct, kw_only=True):
    score: float
    status: Status
    parts: list[ScorePart]
    worst: str | None


@dataclass(frozen=True, slots=True)
class MetricRule:
    """No penalty up to `good`, the full `weight` from `bad`, linear in between."""

    good: float
    bad: float
    weight: float
    unit: str


METRIC_RULES: dict[str, MetricRule] = {
    "cpu.percent": MetricRule(80.0, 100.0, 15.0, "%"),
    "cpu.load1_per_core": MetricRule(1.0, 2.0, 10.0, "x cores"),
    "memory.percent": MetricRule(80.0, 98.0, 20.0, "%"),
    "swap.in_per_s": MetricRule(0.0, 10 * 2**20, 10.0, "B/s"),
    "disk.percent": MetricRule(80.0, 98.0, 20.0, "%"),
    "gpu.memory_percent": MetricRule(95.0, 100.0, 5.0, "%"),
    "gpu.temperature": MetricRule(80.0, 90.0, 5.0, "°C"),
}
ALERT_PENALTY: dict[str, float] = {"critical": 25.0, "warning": 10.0, "info": 2.0}
HEALTHY_FROM = 85.0
DEGRADED_FROM = 60.0
# Read-only image file systems always look full; they are not capacity.
IGNORED_FSTYPES = frozenset({"squashfs", "iso9660", "udf", "erofs", "cramfs"})


def penalty(rule: MetricRule, value: float) -> float:
    if value <= rule.good:
        return 0.0
    if value >= rule.bad:
        return rule.weight
    return rule.weight * (value - rule.good) / (rule.bad - rule.good)


def status_of(score: float) -> Status:
    if score >= HEALTHY_FROM:
        return "healthy"
    return "degraded" if score >= DEGRADED_FROM else "critical"


def is_active(alert: AlertEvent) -> bool:
    return alert.event != "resolved"


def recent_series(sample: MetricSample) -> list[str]:
    """The series whose recent mean is scored instead of the latest sample's value."""
    names = ["cpu.percent", "memory.percent", "cpu.load1"]
    if sample.swap is not None:
        names.append("swap.in_per_s")
    return names


def _recent(recent: Mapping[str, Points], name: str, fallback: float) -> float:
    vs = values(recent.get(name, ()))
    return mean(vs) if vs else fallback


def scored_metrics(sample: MetricSample, recent: Mapping[str, Points]) -> list[tuple[str, float]]:
    """(series, value) for each scored metric; of several disks or GPUs, the worst one."""
    out = [
        ("cpu.percent", _recent(recent, "cpu.percent", sample.cpu.percent)),
        ("memory.percent", _recent(recent, "memory.percent", sample.memory.percent)),
    ]
    if sample.cpu.load1 is not None and sample.cpu.count > 0:
        load = _recent(recent, "cpu.load1", sample.cpu.load1)
        out.append(("cpu.load1_per_core", load / sample.cpu.count))
    if sample.swap is not None:
        out.append(("swap.in_per_s", _recent(recent, "swap.in_per_s", sample.swap.in_per_s)))
    disks = [d for d in sample.disks if d.fstype not in IGNORED_FSTYPES]
    if disks:
        worst = max(disks, key=lambda d: d.percent)
        out.append((f"disk.percent{{mount={worst.mount}}}", worst.percent))
    if sample.gpus:
        g = max(sample.gpus, key=lambda g: g.memory_percent)
        out.append((f"gpu.memory_percent{{gpu={g.index}}}", g.memory_percent))
        hot = [g for g in sample.gpus if g.temperature is not None]
        if hot:
            t = max(hot, key=lambda g: g.temperature or 0.0)
            out.append((f"gpu.temperature{{gpu={t.index}}}", t.temperature or 0.0))
    return out


def _metric_part(series: str, value: float) -> ScorePart:
    rule = METRIC_RULES[parse_series(series)[0]]
    return ScorePart(
        kind="metric",
        name=series,
        penalty=round(penalty(rule, value), 2),
        value=round(value, 3),
        detail=f"no penalty up to {rule.good:g} {rule.unit}, "
        f"all {rule.weight:g} points from {rule.bad:g} {rule.unit}",
    )


def _alert_part(alert: AlertEvent) -> ScorePart:
    what = alert.summary or alert.rule
    return ScorePart(
        kind="alert",
        name=alert.rule,
        penalty=ALERT_PENALTY.get(alert.severity, 0.0),
        value=alert.value,
        detail=f"{alert.severity} alert ({alert.event}) since {alert.started_at:.0f}: {what}",
    )


def _staleness_part(age: float, stale_after: float, down_after: float) -> ScorePart:
    late = max(0.0, age - stale_after)
    return ScorePart(
        kind="staleness",
        name="last_sample_age_s",
        penalty=round(min(100.0, 100.0 * late / down_after), 2),
        value=round(age, 1),
        detail=f"no penalty up to {stale_after:g} s, all 100 points {down_after:g} s later",
    )


def _total(parts: Sequence[ScorePart]) -> float:
    return round(max(0.0, 100.0 - sum(p.penalty for p in parts)), 1)


def host_health(
    host: str,
    sample: MetricSample | None,
    recent: Mapping[str, Points],
    alerts: Sequence[AlertEvent],
    now: float,
    stale_after: float,
    down_after: float,
) -> HostHealth:
    """The host's score from its latest sample, its recent means and its active alerts."""
    alert_parts = [_alert_part(a) for a in alerts if a.host == host and is_active(a)]
    if sample is None:
        never = ScorePart(kind="staleness", name="last_sample_age_s", penalty=100.0)
        parts = [never, *alert_parts]
        return HostHealth(host=host, score=0.0, status="unknown", parts=parts, last_seen=None)
    parts = [_metric_part(name, v) for name, v in scored_metrics(sample, recent)]
    parts.append(_staleness_part(now - sample.ts, stale_after, down_after))
    parts += alert_parts
    score = _total(parts)
    stale = now - sample.ts >= stale_after + down_after
    return HostHealth(
        host=host,
        score=score,
        status="unknown" if stale else status_of(score),
        parts=parts,
        last_seen=sample.ts,
    )


def group_name(check: CheckResult) -> str:
    return check.group or "ungrouped"


def check_penalty(
    check: CheckResult, up: Points, now: float, down_after: float
) -> tuple[float, str]:
    """Points a check takes off its group (of 100), and why."""
    if not check.ok:
        return 100.0, f"failing: {check.reason or 'no reason given'}"
    if now - check.ts > down_after:
        return 100.0, f"no result for {now - check.ts:.0f} s"
    vs = values(up)
    if not vs:
        return 0.0, "up"
    availability = mean([1.0 if v >= 0.5 else 0.0 for v in vs])
    return 100.0 * (1.0 - availability), f"up now, {availability:.1%} of recent results up"


def group_health(
    group: str,
    checks: Sequence[CheckResult],
    up: Mapping[tuple[str, str], Points],
    alerts: Sequence[AlertEvent],
    now: float,
    down_after: float,
) -> GroupHealth:
    """The mean of the group's check scores, less its alerts' penalties.

    `up` maps (host, check) to the recent points of its `check.up` series (availability);
    alerts count when they carry a `group` label equal to the group or a `check` label
    naming one of its checks.
    """
    names = {c.check for c in checks}
    parts: list[ScorePart] = []
    for c in sorted(checks, key=lambda c: c.check):
        lost, why = check_penalty(c, up.get((c.host, c.check), ()), now, down_after)
        parts.append(
            ScorePart(
                kind="check",
                name=f"{c.host}/{c.check}",
                penalty=round(lost / max(1, len(checks)), 2),
                value=round(100.0 - lost, 1),
                detail=why,
            )
        )
    mine = [
        a
        for a in alerts
        if is_active(a) and (a.labels.get("group") == group or a.labels.get("check") in names)
    ]
    parts += [_alert_part(a) for a in mine]
    score = _total(parts)
    return GroupHealth(
        group=group,
        score=score,
        status=status_of(score),
        parts=parts,
        checks=sorted(f"{c.host}/{c.check}" for c in checks),
    )


def fleet_health(hosts: Sequence[HostHealth], groups: Sequence[GroupHealth]) -> FleetHealth:
    """The mean over hosts and check groups; each one's shortfall is a part."""
    entities: list[tuple[Literal["host", "group"], str, float]] = [
        ("host", h.host, h.score) for h in hosts
    ]
    entities += [("group", g.group, g.score) for g in groups]
    if not entities:
        return FleetHealth(score=0.0, status="unknown", parts=[], worst=None)
    n = len(entities)
    parts = [
        ScorePart(kind=kind, name=name, penalty=round((100.0 - score) / n, 2), value=score)
        for kind, name, score in entities
        if score < 100.0
    ]
    score = round(mean([s for _, _, s in entities]), 1)
    worst = min(entities, key=lambda e: e[2])
    return FleetHealth(
        score=score,
        status=status_of(score),
        parts=sorted(parts, key=lambda p: -p.penalty),
        worst=f"{worst[0]}:{worst[1]}",
    )
