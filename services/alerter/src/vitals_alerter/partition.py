"""Which partition a host belongs to, and where a JetStream message sits in its stream.

The host space is cut into a fixed number of partitions by a stable hash of the host id.
A partition is the unit of ownership: all alerts of a host (and their inhibitions) live in
the replica that owns its partition, and each partition keeps its own position in the
telemetry stream (see `pipeline`). The subject names the host, so a message of a partition
this replica does not own is skipped without being decoded.
"""

from __future__ import annotations

import zlib

# Fixed for the life of a deployment: changing it moves hosts between partitions and
# their saved positions no longer describe them.
PARTITIONS = 16


def partition_of(host: str) -> int:
    return zlib.crc32(host.encode()) % PARTITIONS


def subject_host(subject: str) -> str:
    """The host token of a telemetry subject (`vitals.<family>.<host>[.<name>]`), or ''."""
    parts = subject.split(".", 3)
    return parts[2] if len(parts) >= 3 else ""


def reply_position(reply: str) -> tuple[int, float, int]:
    """(stream sequence, stored-at time in seconds, messages still pending) of a JetStream
    message, from its reply subject; ValueError when it is not one."""
    tokens = reply.split(".")
    if len(tokens) == 9:  # $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>
        sseq, ts, pending = tokens[5], tokens[7], tokens[8]
    elif len(tokens) >= 11:  # with domain and account hash
        sseq, ts, pending = tokens[7], tokens[9], tokens[10]
    else:
        raise ValueError(f"not a JetStream reply subject: {reply!r}")
    return int(sseq), int(ts) / 1e9, int(pending)
