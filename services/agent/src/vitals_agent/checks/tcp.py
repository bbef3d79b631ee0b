"""TCP: a connection to `host:port` opens."""

from __future__ import annotations

import asyncio
import contextlib

from vitals_agent.checks.outcome import Outcome
from vitals_core.settings import CheckSettings


def split_host_port(target: str) -> tuple[str, int]:
    """`host:port` or `[v6-address]:port`."""
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"{target!r} is not host:port")
    return host.strip("[]"), int(port)


async def check(c: CheckSettings) -> Outcome:
    host, port = split_host_port(c.target)
    _, writer = await asyncio.open_connection(host, port)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return Outcome(True)
