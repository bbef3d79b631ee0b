"""One naming of every numeric series an event carries.

A series is `family.metric` with optional labels, written `name{label=value}`, e.g.
`cpu.percent`, `disk.percent{mount=/}`, `gpu.utilization{gpu=0}`. The gateway's windows,
the alerter's rules and the analytics all speak these names.
"""

from __future__ import annotations

from collections.abc import Iterator

from vitals_core.events import AppMetrics, CheckResult, Event, MetricSample

Point = tuple[str, float]


def series_name(name: str, **labels: str | int) -> str:
    if not labels:
        return name
    inner = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def parse_series(series: str) -> tuple[str, dict[str, str]]:
    """Split `name{a=b,c=d}` into its name and labels."""
    if not series.endswith("}") or "{" not in series:
        return series, {}
    name, _, inner = series[:-1].partition("{")
    labels = dict(part.split("=", 1) for part in inner.split(",") if "=" in part)
    return name, labels


def family(series: str) -> str:
    return series.split(".", 1)[0]


def points(event: Event) -> Iterator[Point]:
    """Every numeric series in an event."""
    if isinstance(event, MetricSample):
        yield from _sample_points(event)
    elif isinstance(event, AppMetrics):
        yield from _app_points(event)
    elif isinstance(event, CheckResult):
        labels = {"check": event.check}
        yield series_name("check.up", **labels), 1.0 if event.ok else 0.0
        yield series_name("check.latency_ms", **labels), event.latency_ms


def _sample_points(s: MetricSample) -> Iterator[Point]:
    cpu = s.cpu
    yield "cpu.percent", cpu.percent
    yield "cpu.user", cpu.user
    yield "cpu.system", cpu.system
    yield "cpu.iowait", cpu.iowait
    yield "cpu.steal", cpu.steal
    for optional_name, optional in (
        ("cpu.freq_mhz", cpu.freq_mhz),
        ("cpu.load1", cpu.load1),
        ("cpu.load5", cpu.load5),
        ("cpu.load15", cpu.load15),
        ("cpu.ctx_switches_per_s", cpu.ctx_switches_per_s),
    ):
        if optional is not None:
            yield optional_name, optional
    for i, core in enumerate(cpu.cores):
        yield f"cpu.core.percent{{core={i}}}", core.percent
    mem = s.memory
    yield "memory.percent", mem.percent
    yield "memory.used", float(mem.used)
    yield "memory.available", float(mem.available)
    yield "memory.total", float(mem.total)
    yield "memory.cached", float(mem.cached)
    if s.swap is not None:
        yield "swap.percent", s.swap.percent
        yield "swap.used", float(s.swap.used)
        yield "swap.in_per_s", s.swap.in_per_s
        yield "swap.out_per_s", s.swap.out_per_s
    for d in s.disks:
        yield f"disk.percent{{mount={d.mount}}}", d.percent
        yield f"disk.used{{mount={d.mount}}}", float(d.used)
        yield f"disk.free{{mount={d.mount}}}", float(d.free)
        yield f"disk.total{{mount={d.mount}}}", float(d.total)
    for io in s.disk_io:
        dev = io.device
        yield f"diskio.read_bytes_per_s{{device={dev}}}", io.read_bytes_per_s
        yield f"diskio.write_bytes_per_s{{device={dev}}}", io.write_bytes_per_s
        yield f"diskio.busy_percent{{device={dev}}}", io.busy_percent
        yield f"diskio.read_iops{{device={dev}}}", io.read_iops
        yield f"diskio.write_iops{{device={dev}}}", io.write_iops
    for n in s.net:
        iface = n.interface
        yield f"net.rx_bytes_per_s{{interface={iface}}}", n.rx_bytes_per_s
        yield f"net.tx_bytes_per_s{{interface={iface}}}", n.tx_bytes_per_s
        yield f"net.rx_errors_per_s{{interface={iface}}}", n.rx_errors_per_s
        yield f"net.tx_errors_per_s{{interface={iface}}}", n.tx_errors_per_s
        yield f"net.rx_packets_per_s{{interface={iface}}}", n.rx_packets_per_s
        yield f"net.tx_packets_per_s{{interface={iface}}}", n.tx_packets_per_s
        yield f"net.rx_drops_per_s{{interface={iface}}}", n.rx_drops_per_s
        yield f"net.tx_drops_per_s{{interface={iface}}}", n.tx_drops_per_s
    for state, count in s.connections.items():
        yield f"net.connections{{state={state}}}", float(count)
    if s.processes is not None:
        yield "proc.total", float(s.processes.total)
        for state, count in s.processes.by_state.items():
            yield series_name("proc.state", state=state), float(count)
    if s.uptime_s is not None:
        yield "host.uptime_s", s.uptime_s
    for g in s.gpus:
        idx = g.index
        yield f"gpu.utilization{{gpu={idx}}}", g.utilization
        yield f"gpu.memory_percent{{gpu={idx}}}", g.memory_percent
        yield f"gpu.memory_used{{gpu={idx}}}", float(g.memory_used)
        if g.temperature is not None:
            yield f"gpu.temperature{{gpu={idx}}}", g.temperature
        if g.power_w is not None:
            yield f"gpu.power_w{{gpu={idx}}}", g.power_w
        yield f"gpu.memory_utilization{{gpu={idx}}}", g.memory_utilization
        yield f"gpu.memory_total{{gpu={idx}}}", float(g.memory_total)
    for t in s.temperatures:
        yield series_name("temp.celsius", label=t.label, sensor=t.sensor), t.celsius
    yield "agent.dropped", float(s.dropped)
    if s.agent is not None:
        yield "agent.cycle_ms", s.agent.cycle_ms
        yield "agent.cycle_cpu_ms", s.agent.cycle_cpu_ms
        yield "agent.cpu_s", s.agent.cpu_s
        yield "agent.rss", float(s.agent.rss)
        yield "agent.buffered", float(s.agent.buffered)
        yield "agent.dropped_events", float(s.agent.dropped_events)
        yield "agent.errors", float(s.agent.errors)
        yield "agent.skipped", float(s.agent.skipped)


def _app_points(a: AppMetrics) -> Iterator[Point]:
    app = a.app
    yield f"app.jobs_active{{app={app}}}", a.jobs_active
    yield f"app.queue_size{{app={app}}}", a.queue_size
    yield f"app.jobs_completed{{app={app}}}", float(a.jobs_completed)
    yield f"app.jobs_failed{{app={app}}}", float(a.jobs_failed)
    yield f"app.error_rate{{app={app}}}", a.error_rate
    yield f"app.throughput_per_s{{app={app}}}", a.throughput_per_s
    if a.response_ms is not None and a.response_ms.count:
        yield f"app.response_ms.p50{{app={app}}}", a.response_ms.p50
        yield f"app.response_ms.p95{{app={app}}}", a.response_ms.p95
        yield f"app.response_ms.p99{{app={app}}}", a.response_ms.p99
        yield f"app.response_ms.mean{{app={app}}}", a.response_ms.mean
    for name, value in a.gauges.items():
        yield f"app.gauge.{name}{{app={app}}}", value
    yield f"app.requests{{app={app}}}", float(a.requests)
    yield f"app.errors{{app={app}}}", float(a.errors)
    if a.job_ms is not None and a.job_ms.count:
        yield f"app.job_ms.p50{{app={app}}}", a.job_ms.p50
        yield f"app.job_ms.p95{{app={app}}}", a.job_ms.p95
        yield f"app.job_ms.p99{{app={app}}}", a.job_ms.p99
        yield f"app.job_ms.mean{{app={app}}}", a.job_ms.mean
    for name, value in a.counters.items():
        yield f"app.counter.{name}{{app={app}}}", value
