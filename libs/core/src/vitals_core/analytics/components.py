"""Resource usage by component: process groups matched by name, CPU and memory per group.

The input is what the agent sends today: the top processes by CPU and by memory in each
`MetricSample`. Processes outside both top lists are not seen, so each answer says how much
of the host's CPU and memory the listed processes cover. An all-process aggregate per
group computed by the agent would make the figures complete (see docs/analytics.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase

import msgspec

from vitals_core.events import MetricSample, TopProcess
from vitals_core.settings.analytics import ComponentGroup

OTHER = "other"
MAX_NAMES = 10
CMDLINE = "cmdline:"


class ComponentUsage(msgspec.Struct, kw_only=True):
    component: str
    processes: int
    cpu_percent: float  # summed per-process CPU, 100 = one core busy
    host_cpu_share: float | None  # of the host's whole CPU capacity, in percent
    rss: int
    memory_percent: float | None  # of the host's memory; None in fleet totals
    names: list[str]


class Coverage(msgspec.Struct, kw_only=True):
    processes_seen: int
    processes_total: int
    # What the listed processes add up to, against the host's own totals.
    cpu_seen_percent: float | None
    memory_seen_percent: float | None


class HostComponents(msgspec.Struct, kw_only=True):
    host: str
    ts: float | None
    components: list[ComponentUsage]
    coverage: Coverage | None


def classify(process: TopProcess, groups: Sequence[ComponentGroup]) -> str:
    """The first group with a pattern matching the process; `other` when none does."""
    name = process.name.lower()
    cmdline = process.cmdline.lower()
    for group in groups:
        for pattern in group.patterns:
            p = pattern.lower()
            if p.startswith(CMDLINE):
                if cmdline and fnmatchcase(cmdline, p[len(CMDLINE) :]):
                    return group.name
            elif fnmatchcase(name, p):
                return group.name
    return OTHER


def _processes(sample: MetricSample) -> list[TopProcess]:
    if sample.processes is None:
        return []
    seen: dict[int, TopProcess] = {}
    for p in [*sample.processes.top_cpu, *sample.processes.top_memory]:
        seen.setdefault(p.pid, p)
    return list(seen.values())


def components(
    host: str, sample: MetricSample | None, groups: Sequence[ComponentGroup]
) -> HostComponents:
    """CPU and memory per configured group on one host, from its latest sample."""
    if sample is None:
        return HostComponents(host=host, ts=None, components=[], coverage=None)
    procs = _processes(sample)
    cores = sample.cpu.count
    by_group: dict[str, list[TopProcess]] = {}
    for p in procs:
        by_group.setdefault(classify(p, groups), []).append(p)
    order = [g.name for g in groups] + [OTHER]
    usage = []
    for name in order:
        members = by_group.get(name, [])
        cpu = sum(p.cpu_percent for p in members)
        usage.append(
            ComponentUsage(
                component=name,
                processes=len(members),
                cpu_percent=round(cpu, 2),
                host_cpu_share=round(cpu / cores, 2) if cores else None,
                rss=sum(p.rss for p in members),
                memory_percent=round(sum(p.memory_percent for p in members), 2),
                names=sorted({p.name for p in members})[:MAX_NAMES],
            )
        )
    cpu_seen = sum(p.cpu_percent for p in procs)
    host_cpu = sample.cpu.percent * cores  # the host's busy CPU, 100 = one core
    rss_seen = sum(p.rss for p in procs)
    coverage = Coverage(
        processes_seen=len(procs),
        processes_total=sample.processes.total if sample.processes else 0,
        cpu_seen_percent=round(min(100.0, 100.0 * cpu_seen / host_cpu), 1) if host_cpu else None,
        memory_seen_percent=(
            round(min(100.0, 100.0 * rss_seen / sample.memory.used), 1)
            if sample.memory.used
            else None
        ),
    )
    return HostComponents(host=host, ts=sample.ts, components=usage, coverage=coverage)
