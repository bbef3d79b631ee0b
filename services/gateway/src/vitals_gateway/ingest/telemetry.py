"""What each telemetry message becomes in the window store. Pure: the clock is passed in.

A message is checked against its subject (the host in `vitals.<family>.<host>[.<name>]`
must be the event's), decoded, and turned into a `Write`: its latest-value document, the
fleet summary for metrics samples, and its points (`vitals_core.series` names).
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from vitals_core import events, keys, series, subjects
from vitals_gateway.storage.store import Write
from vitals_gateway.storage.windows import RAW

# Agents may run a little ahead of the gateway's clock; beyond this a timestamp is wrong.
MAX_FUTURE_S = 300.0
MAX_NAME = 200


class Rejected(ValueError):
    """A message that cannot be stored; the text says why."""


@dataclass
class Converted:
    write: Write
    event: events.Event
    dropped_points: int = 0  # too old for the raw window, or a name that cannot be stored


class CpuSummary(msgspec.Struct, kw_only=True, omit_defaults=True):
    percent: float
    load1: float | None = None
    count: int = 0


class MemorySummary(msgspec.Struct, kw_only=True):
    percent: float
    used: int
    total: int


class DiskSummary(msgspec.Struct, kw_only=True):
    mount: str
    percent: float


class NetSummary(msgspec.Struct, kw_only=True):
    """Summed over the host's interfaces."""

    rx_bytes_per_s: float
    tx_bytes_per_s: float


class GpuSummary(msgspec.Struct, kw_only=True, omit_defaults=True):
    index: int
    utilization: float
    memory_percent: float
    temperature: float | None = None


class HostSummary(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What the fleet view shows of a host's latest sample (kept in `keys.fleet(partition)`)."""

    ts: float
    interval: float
    cpu: CpuSummary
    memory: MemorySummary
    disks: list[DiskSummary] = []
    net: NetSummary | None = None
    gpus: list[GpuSummary] = []
    swap_percent: float | None = None
    temperature: float | None = None  # the hottest sensor
    uptime_s: float | None = None


_summary_encoder = msgspec.json.Encoder()


def summarize(s: events.MetricSample) -> HostSummary:
    return HostSummary(
        ts=s.ts,
        interval=s.interval,
        cpu=CpuSummary(percent=s.cpu.percent, load1=s.cpu.load1, count=s.cpu.count),
        memory=MemorySummary(percent=s.memory.percent, used=s.memory.used, total=s.memory.total),
        disks=[DiskSummary(mount=d.mount, percent=d.percent) for d in s.disks],
        net=NetSummary(
            rx_bytes_per_s=sum(n.rx_bytes_per_s for n in s.net),
            tx_bytes_per_s=sum(n.tx_bytes_per_s for n in s.net),
        )
        if s.net
        else None,
        gpus=[
            GpuSummary(
                index=g.index,
                utilization=g.utilization,
                memory_percent=g.memory_percent,
                temperature=g.temperature,
            )
            for g in s.gpus
        ],
        swap_percent=s.swap.percent if s.swap is not None else None,
        temperature=max((t.celsius for t in s.temperatures), default=None),
        uptime_s=s.uptime_s,
    )


def convert(subject: str, data: bytes, now: float) -> Converted:
    """Turn one telemetry message into a `Write`, or raise `Rejected` naming what is wrong."""
    parts = subject.split(".")
    if len(parts) < 3 or parts[0] != subjects.PREFIX:
        raise Rejected(f"subject {subject!r} is not a telemetry subject")
    family, host = parts[1], parts[2]
    try:
        event = events.decode(data)
    except events.InvalidEvent as exc:
        raise Rejected(str(exc)) from None
    expected = _KINDS.get(family)
    if expected is None or not isinstance(event, expected):
        raise Rejected(f"a {event.__class__.__name__} event does not belong on {subject!r}")
    if event.host != host:
        raise Rejected(f"host {event.host!r} does not match the subject's {host!r}")
    if event.ts > now + MAX_FUTURE_S:
        raise Rejected(f"timestamp {event.ts} is in the future")

    if isinstance(event, events.MetricSample):
        write = Write(
            host,
            event.ts,
            "metrics",
            keys.latest(host),
            "",
            data,
            _summary_encoder.encode(summarize(event)),
        )
    elif isinstance(event, events.AppMetrics):
        name = _name_token(parts, event.app, "app")
        write = Write(host, event.ts, f"app:{name}", keys.app_latest(host), name, data)
    elif isinstance(event, events.CheckResult):
        name = _name_token(parts, event.check, "check")
        write = Write(host, event.ts, f"check:{name}", keys.checks_latest(host), name, data)
    else:
        assert isinstance(event, events.HostInfo)
        return Converted(Write(host, event.ts, "info", keys.host_info(host), "", data), event)

    dropped = 0
    if event.ts < now - RAW.retention:
        # Older than the raw window (a long backlog): kept as latest only if nothing newer is.
        return Converted(write, event, dropped_points=sum(1 for _ in series.points(event)))
    for name, value in series.points(event):
        if len(name) > MAX_NAME or "\n" in name:
            dropped += 1
            continue
        write.names.append(name)
        write.values.append(value)
    return Converted(write, event, dropped)


def _name_token(parts: list[str], name: str, what: str) -> str:
    if len(parts) != 4 or parts[3] != name:
        raise Rejected(f"{what} {name!r} does not match the subject")
    return name


_KINDS: dict[str, type[events.Event]] = {
    "metrics": events.MetricSample,
    "info": events.HostInfo,
    "app": events.AppMetrics,
    "health": events.CheckResult,
}
