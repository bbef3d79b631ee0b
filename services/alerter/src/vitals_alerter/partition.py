"""Which replica owns which host: a stable hash of the host id, modulo the replica count.

Every replica reads the whole telemetry stream through its own durable consumer and
evaluates only its hosts, so no alert is evaluated twice and each host's alerts (and their
inhibitions) live in one place. The subject names the host, so a foreign message is
skipped without being decoded.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Partition:
    index: int = 0
    count: int = 1

    def owns(self, host: str) -> bool:
        return self.count == 1 or zlib.crc32(host.encode()) % self.count == self.index


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
