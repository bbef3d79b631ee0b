"""Real NATS and Redis-compatible servers, started on free ports for `vitals up` and tests."""

from vitals_servers.embedded import (
    EmbeddedServer,
    MissingBinary,
    NatsServer,
    RedisServer,
    free_port,
)
from vitals_servers.natscluster import ClusterNode, NatsCluster

__all__ = [
    "ClusterNode",
    "EmbeddedServer",
    "MissingBinary",
    "NatsCluster",
    "NatsServer",
    "RedisServer",
    "free_port",
]
