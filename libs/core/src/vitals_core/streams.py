"""The JetStream streams every service relies on, in the JetStream API's own JSON form.

One definition serves both clients: the services' nats-py (`bus.stream_configs`) and the
agent's own small client. Durations are in nanoseconds, as the API has them.

Ownership: the gateway, the alerter and the notifier each create or reconcile both streams at
start (any of them may start first; reconciling only ever raises a limit, so they never undo
each other). Agents publish only. See docs/cluster.md.
"""

from __future__ import annotations

from typing import Any

from vitals_core import subjects
from vitals_core.settings import NatsSettings

NS = 1_000_000_000
GiB = 1 << 30
# Long enough for an agent's whole backlog (15 min by default) to be deduplicated on resend.
DUPLICATE_WINDOW_S = 20 * 60
TELEMETRY_MAX_AGE_S = 6 * 3600
EVENTS_MAX_AGE_S = 30 * 86400
EVENTS_MAX_BYTES = 1 * GiB

# JetStream counts a stream's max_bytes in stored (uncompressed) bytes, so the cap is sized on
# them: a full sample of a 16-core GPU host is 7.2 KB as stored (make bench-failover);
# 7.5 KB leaves room for larger hosts' extra disks and interfaces.
STORED_BYTES_PER_SAMPLE = 7_500
# Never below the fixed cap of earlier versions; never more than a disk a node can spare.
TELEMETRY_MIN_BYTES = 2 * GiB
TELEMETRY_MAX_BYTES = 1024 * GiB


def telemetry_max_bytes(nats: NatsSettings) -> int:
    """The telemetry stream's cap: `telemetry_hold_hours` of the configured fleet's samples."""
    if nats.telemetry_max_bytes:
        return nats.telemetry_max_bytes
    samples = nats.fleet_hosts * nats.telemetry_hold_hours * 3600 / nats.fleet_interval
    wanted = int(samples * STORED_BYTES_PER_SAMPLE)
    return max(TELEMETRY_MIN_BYTES, min(TELEMETRY_MAX_BYTES, wanted))


def _stream(
    name: str, on: list[str], max_age_s: int, max_bytes: int, nats: NatsSettings
) -> dict[str, Any]:
    return {
        "name": name,
        "subjects": list(on),
        "retention": "limits",
        "storage": "file",
        "max_age": max_age_s * NS,
        "max_bytes": max_bytes,
        "discard": "old",
        "duplicate_window": DUPLICATE_WINDOW_S * NS,
        "num_replicas": nats.replicas,
        "compression": nats.compression,
    }


def definitions(nats: NatsSettings | None = None) -> list[dict[str, Any]]:
    nats = nats or NatsSettings()
    return [
        _stream(
            subjects.STREAM_TELEMETRY,
            subjects.STREAM_TELEMETRY_SUBJECTS,
            TELEMETRY_MAX_AGE_S,
            telemetry_max_bytes(nats),
            nats,
        ),
        _stream(
            subjects.STREAM_EVENTS,
            subjects.STREAM_EVENTS_SUBJECTS,
            EVENTS_MAX_AGE_S,
            EVENTS_MAX_BYTES,
            nats,
        ),
    ]


def create_subject(name: str) -> str:
    return f"$JS.API.STREAM.CREATE.{name}"


def update_subject(name: str) -> str:
    return f"$JS.API.STREAM.UPDATE.{name}"
