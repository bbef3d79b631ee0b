"""Real NATS and Redis-compatible servers, started on free ports for `vitals up` and tests."""

from vitals_servers.embedded import (
    EmbeddedServer,
    MissingBinary,
    NatsServer,
    RedisServer,
    free_port,
)

__all__ = ["EmbeddedServer", "MissingBinary", "NatsServer", "RedisServer", "free_port"]
