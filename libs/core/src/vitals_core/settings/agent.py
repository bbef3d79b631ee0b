from __future__ import annotations

from typing import Literal

import msgspec

from vitals_core.subjects import InvalidName, token

# Vitals fields a Prometheus series can fill; any other name becomes a gauge or a counter.
APP_FIELDS = frozenset(
    {"jobs_active", "queue_size", "jobs_completed", "jobs_failed", "requests", "errors",
     "response_ms", "job_ms"}
)  # fmt: skip


def _name(value: str, what: str) -> None:
    try:
        token(value, what)
    except InvalidName as exc:
        raise ValueError(str(exc)) from None


class CheckSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One service check; `target` means a URL, `host:port`, process name, DSN or command."""

    name: str
    kind: Literal["http", "tcp", "process", "redis", "sql", "command"]
    target: str = ""
    interval: float = 30.0
    timeout: float = 5.0
    expect_text: str = ""
    expect_status: int = 0
    pidfile: str = ""
    group: str = ""

    def __post_init__(self) -> None:
        _name(self.name, "check name")
        if self.interval <= 0 or self.timeout <= 0:
            raise ValueError("interval and timeout must be positive")
        if self.timeout > self.interval:
            raise ValueError(f"check {self.name!r}: timeout must not exceed interval")
        problem = _target_problem(self)
        if problem:
            raise ValueError(f"check {self.name!r}: {problem}")


def _target_problem(c: CheckSettings) -> str:
    target = c.target.strip()
    if c.kind == "process":
        return "" if target or c.pidfile else "give a process name as target, or a pidfile"
    if not target:
        return "target is empty"
    if c.kind == "http" and not target.startswith(("http://", "https://")):
        return "target must be an http:// or https:// URL"
    if c.kind == "tcp":
        host, sep, port = target.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            return "target must be host:port"
    if c.kind == "redis" and "://" in target and not target.startswith(("redis://", "rediss://")):
        return "target must be redis://host:port, rediss://... or host:port"
    if c.kind == "command":
        import shlex  # here: only a command check needs it

        try:
            shlex.split(target)
        except ValueError as exc:
            return f"target is not a valid command line ({exc})"
    return ""


class ScrapeSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A Prometheus `/metrics` page the agent reads and forwards as application metrics."""

    app: str
    url: str
    interval: float = 15.0
    timeout: float = 5.0
    # Prometheus series -> Vitals field (jobs_active, queue_size, jobs_completed, jobs_failed,
    # requests, errors, response_ms, job_ms) or a gauge/counter name of your own. A series may
    # select labels: `'jobs_total{status="failed"}' = "jobs_failed"`.
    series: dict[str, str] = {}

    def __post_init__(self) -> None:
        _name(self.app, "app name")
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"scrape {self.app!r}: url must be an http:// or https:// URL")
        if self.interval <= 0 or self.timeout <= 0:
            raise ValueError(f"scrape {self.app!r}: interval and timeout must be positive")
        if not self.series:
            raise ValueError(f"scrape {self.app!r}: series is empty: name what to forward")
        for source, field in self.series.items():
            if not source.strip():
                raise ValueError(f"scrape {self.app!r}: a series name is empty")
            if field not in APP_FIELDS:
                _name(field, f"scrape {self.app!r}: series target")


class AgentSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    enabled: bool = True
    interval: float = 5.0
    host: str = ""
    labels: dict[str, str] = {}
    top_n: int = 10
    buffer_seconds: float = 900.0
    # Messages sent before their acknowledgements arrive: a backlog replays at up to this
    # many per round trip to the server.
    publish_window: int = 256
    gpu: bool = True
    # Count TCP connections in every state from /proc/net/tcp{,6} (costs ~1 ms a cycle);
    # off: established, time_wait, orphan, other and udp from the kernel's counters.
    connection_states: bool = False
    checks: list[CheckSettings] = []
    scrape: list[ScrapeSettings] = []

    def __post_init__(self) -> None:
        if not 1.0 <= self.interval <= 3600.0:
            raise ValueError("interval must be between 1 and 3600 seconds")
        if self.top_n < 0:
            raise ValueError("top_n must not be negative")
        if self.buffer_seconds < 0:
            raise ValueError("buffer_seconds must not be negative")
        if not 1 <= self.publish_window <= 1024:
            raise ValueError("publish_window must be between 1 and 1024")
        for names, what in (([c.name for c in self.checks], "check"),
                            ([s.app for s in self.scrape], "scrape app")):  # fmt: skip
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"{what} names must be unique; repeated: {', '.join(dupes)}")
