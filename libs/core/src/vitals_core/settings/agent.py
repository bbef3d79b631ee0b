from __future__ import annotations

from typing import Literal

import msgspec


class CheckSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One service check; `target` means a URL, `host:port`, process name, DSN or command."""

    name: str
    kind: Literal["http", "tcp", "process", "redis", "sql", "command"]
    target: str
    interval: float = 30.0
    timeout: float = 5.0
    expect_text: str = ""
    expect_status: int = 0
    pidfile: str = ""
    group: str = ""

    def __post_init__(self) -> None:
        if self.interval <= 0 or self.timeout <= 0:
            raise ValueError("interval and timeout must be positive")


class ScrapeSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A Prometheus `/metrics` page the agent reads and forwards as application metrics."""

    app: str
    url: str
    interval: float = 15.0
    timeout: float = 5.0
    # Prometheus metric name -> Vitals field (jobs_active, queue_size, ...) or gauge name.
    series: dict[str, str] = {}


class AgentSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    enabled: bool = True
    interval: float = 5.0
    host: str = ""
    labels: dict[str, str] = {}
    top_n: int = 10
    buffer_seconds: float = 900.0
    gpu: bool = True
    checks: list[CheckSettings] = []
    scrape: list[ScrapeSettings] = []

    def __post_init__(self) -> None:
        if not 1.0 <= self.interval <= 3600.0:
            raise ValueError("interval must be between 1 and 3600 seconds")
        if self.top_n < 0:
            raise ValueError("top_n must not be negative")
        if self.buffer_seconds < 0:
            raise ValueError("buffer_seconds must not be negative")
