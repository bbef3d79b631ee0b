"""Every event on the bus, as msgspec Structs.

Each event is a tagged Struct (`kind` names it) with a `v` schema version and a `ts` in
seconds since the Unix epoch (UTC). One decoder is built once for the union; a malformed
message fails there with a message naming the field.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import msgspec

from vitals_core import safedecode

SCHEMA_VERSION = 1

Severity: TypeAlias = Literal["info", "warning", "critical"]
AlertKind: TypeAlias = Literal[
    "firing",
    "severity_changed",
    "reminder",
    "escalated",
    "acknowledged",
    "silenced",
    "unsilenced",
    "resolved",
]


class _Base(msgspec.Struct, kw_only=True, tag_field="kind"):
    # Defaults are encoded too, so every event on the wire carries its `v`.
    v: int = SCHEMA_VERSION
    ts: float


# --- host metrics -----------------------------------------------------------------------


class CpuCore(msgspec.Struct, kw_only=True, omit_defaults=True):
    percent: float
    user: float = 0.0
    system: float = 0.0
    iowait: float = 0.0
    steal: float = 0.0


class Cpu(msgspec.Struct, kw_only=True, omit_defaults=True):
    percent: float
    user: float = 0.0
    system: float = 0.0
    iowait: float = 0.0
    steal: float = 0.0
    cores: list[CpuCore] = []
    freq_mhz: float | None = None
    load1: float | None = None
    load5: float | None = None
    load15: float | None = None
    ctx_switches_per_s: float | None = None
    count: int = 0


class Memory(msgspec.Struct, kw_only=True, omit_defaults=True):
    total: int
    used: int
    available: int
    percent: float
    cached: int = 0


class Swap(msgspec.Struct, kw_only=True, omit_defaults=True):
    total: int = 0
    used: int = 0
    percent: float = 0.0
    in_per_s: float = 0.0
    out_per_s: float = 0.0


class DiskUsage(msgspec.Struct, kw_only=True, omit_defaults=True):
    mount: str
    device: str = ""
    fstype: str = ""
    total: int
    used: int
    free: int
    percent: float


class DiskIO(msgspec.Struct, kw_only=True, omit_defaults=True):
    device: str
    read_bytes_per_s: float
    write_bytes_per_s: float
    read_iops: float = 0.0
    write_iops: float = 0.0
    busy_percent: float = 0.0


class NetIO(msgspec.Struct, kw_only=True, omit_defaults=True):
    interface: str
    rx_bytes_per_s: float
    tx_bytes_per_s: float
    rx_packets_per_s: float = 0.0
    tx_packets_per_s: float = 0.0
    rx_errors_per_s: float = 0.0
    tx_errors_per_s: float = 0.0
    rx_drops_per_s: float = 0.0
    tx_drops_per_s: float = 0.0


class TopProcess(msgspec.Struct, kw_only=True, omit_defaults=True):
    pid: int
    name: str
    user: str = ""
    cpu_percent: float = 0.0
    rss: int = 0
    memory_percent: float = 0.0
    cmdline: str = ""


class Processes(msgspec.Struct, kw_only=True, omit_defaults=True):
    total: int = 0
    by_state: dict[str, int] = {}
    top_cpu: list[TopProcess] = []
    top_memory: list[TopProcess] = []


class GpuProcess(msgspec.Struct, kw_only=True, omit_defaults=True):
    pid: int
    name: str = ""
    used_memory: int = 0


class Gpu(msgspec.Struct, kw_only=True, omit_defaults=True):
    index: int
    name: str
    uuid: str = ""
    utilization: float = 0.0
    memory_utilization: float = 0.0
    memory_used: int = 0
    memory_total: int = 0
    memory_percent: float = 0.0
    temperature: float | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    processes: list[GpuProcess] = []


class Temperature(msgspec.Struct, kw_only=True, omit_defaults=True):
    sensor: str
    label: str = ""
    celsius: float
    high: float | None = None
    critical: float | None = None


class AgentStats(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The agent's own cost and health, so its overhead and losses are visible."""

    # Wall and CPU time of this sample's collection; the process's CPU seconds and RSS so far.
    cycle_ms: float = 0.0
    cycle_cpu_ms: float = 0.0
    cpu_s: float = 0.0
    rss: int = 0
    # Events waiting for the bus; events other than samples the bound dropped, and events
    # the stream refused for good (totals).
    buffered: int = 0
    dropped_events: int = 0
    # Collector, scrape and host-fact failures, and cycles skipped because the previous one
    # overran (totals).
    errors: int = 0
    skipped: int = 0


class MetricSample(_Base, tag="metrics"):
    """One collection cycle of one host, on `vitals.metrics.<host>`."""

    host: str
    seq: int
    interval: float
    cpu: Cpu
    memory: Memory
    swap: Swap | None = None
    disks: list[DiskUsage] = []
    disk_io: list[DiskIO] = []
    net: list[NetIO] = []
    connections: dict[str, int] = {}
    processes: Processes | None = None
    uptime_s: float | None = None
    gpus: list[Gpu] = []
    temperatures: list[Temperature] = []
    # Samples the agent's bounded buffer dropped since the previous published sample.
    dropped: int = 0
    agent: AgentStats | None = None


class HostInfo(_Base, tag="host_info"):
    """Slow-changing facts about a host, sent at start and on change."""

    host: str
    os: str = ""
    kernel: str = ""
    cpu_model: str = ""
    cpu_count: int = 0
    boot_time: float = 0.0
    labels: dict[str, str] = {}
    agent_version: str = ""
    interval: float = 0.0


# --- application metrics and service checks ---------------------------------------------


class Percentiles(msgspec.Struct, kw_only=True, omit_defaults=True):
    count: int = 0
    mean: float = 0.0
    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    max: float = 0.0


class AppMetrics(_Base, tag="app"):
    """Aggregates an application reported over `window` seconds, on `vitals.app.<host>.<app>`."""

    host: str
    app: str
    window: float
    jobs_active: float = 0.0
    queue_size: float = 0.0
    jobs_completed: int = 0
    jobs_failed: int = 0
    requests: int = 0
    errors: int = 0
    error_rate: float = 0.0
    throughput_per_s: float = 0.0
    response_ms: Percentiles | None = None
    job_ms: Percentiles | None = None
    gauges: dict[str, float] = {}
    counters: dict[str, float] = {}


CheckKind: TypeAlias = Literal["http", "tcp", "process", "redis", "sql", "command"]


class CheckResult(_Base, tag="health"):
    """One run of one service check, on `vitals.health.<host>.<check>`."""

    host: str
    check: str
    check_kind: CheckKind
    ok: bool
    latency_ms: float = 0.0
    reason: str = ""
    status_code: int | None = None
    group: str = ""


# --- alerts and annotations ----------------------------------------------------------------


class AlertEvent(_Base, tag="alert"):
    """A transition of one alert, on `vitals.alerts.<host>`.

    `alert_id` is stable for the alert's life (a fingerprint of rule and labels); `id` is
    unique per event and doubles as the JetStream message id. An alert muted by a silence or
    an inhibition when it starts firing is announced as `silenced` rather than `firing`;
    `unsilenced` means it still fires and is no longer muted.
    """

    id: str
    alert_id: str
    event: AlertKind
    rule: str
    host: str
    severity: Severity
    labels: dict[str, str] = {}
    summary: str = ""
    description: str = ""
    metric: str = ""
    value: float | None = None
    threshold: float | None = None
    started_at: float = 0.0
    resolved_at: float | None = None
    acknowledged_by: str = ""
    acknowledged_at: float | None = None
    comment: str = ""
    escalation_step: int = 0
    receivers: list[str] = []
    silence_id: str = ""
    # The alert id of the firing alert that mutes this one (a host that is down, a critical).
    inhibited_by: str = ""


class Annotation(_Base, tag="annotation"):
    """An info event (a deployment, a maintenance window), on `vitals.annotations`."""

    id: str
    text: str
    host: str = ""
    tags: list[str] = []
    author: str = ""


Event: TypeAlias = MetricSample | HostInfo | AppMetrics | CheckResult | AlertEvent | Annotation
EVENT_TYPES: tuple[type[Event], ...] = (
    MetricSample,
    HostInfo,
    AppMetrics,
    CheckResult,
    AlertEvent,
    Annotation,
)

_decoder: msgspec.json.Decoder[Event] = msgspec.json.Decoder(Event)
_encoder = msgspec.json.Encoder()


class InvalidEvent(ValueError):
    """A message that is not a valid event; the text says what is wrong."""


def decode(data: bytes | bytearray | memoryview) -> Event:
    """The event in `data`; `InvalidEvent` for anything else, however hostile."""
    try:
        return safedecode.decode(_decoder, data)
    except msgspec.DecodeError as exc:
        raise InvalidEvent(safedecode.reason(exc)) from None


def encode(event: Event) -> bytes:
    return _encoder.encode(event)


def json_schema() -> dict[str, object]:
    """The JSON Schema of every event, as published in `docs/events.schema.json`."""
    return msgspec.json.schema(Event)
