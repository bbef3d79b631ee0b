"""Keep the embedded servers of `vitals up` alive.

A server that dies is started again on the same port with the same data directory (the
services were given its URL and reconnect by themselves); the log says so once when it
dies and once when it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable

from vitals_servers import EmbeddedServer

POLL_S = 0.5
FIRST_DELAY_S = 0.2
MAX_DELAY_S = 30.0
READY_TIMEOUT_S = 10.0
# A server that ran this long before dying is restarted promptly again.
STABLE_S = 60.0

Say = Callable[[str, str], None]


def restart_delay(previous: float, ran_for: float) -> float:
    """The wait before the next start: short after a long run, doubling while it keeps dying."""
    if ran_for >= STABLE_S:
        return FIRST_DELAY_S
    return min(max(previous * 2, FIRST_DELAY_S), MAX_DELAY_S)


def describe_exit(code: int | None) -> str:
    if code is None:
        return "stopped answering"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exit code {code}"


async def keep_alive(server: EmbeddedServer, say: Say, stop: asyncio.Event) -> None:
    delay = 0.0  # never died yet
    started = time.monotonic()
    while not await _stopped(stop, POLL_S):
        proc = server.process
        if proc is not None and proc.poll() is None:
            continue
        delay = restart_delay(delay, time.monotonic() - started)
        code = proc.returncode if proc is not None else None
        say(
            "vitals",
            f"embedded {server.name} exited ({describe_exit(code)}); restarting it on port "
            f"{server.port} with the data in {server.data_dir}",
        )
        if not await _restart(server, say, stop, delay):
            return
        started = time.monotonic()
        say("vitals", f"embedded {server.name} is back on {server.url}")


async def _restart(server: EmbeddedServer, say: Say, stop: asyncio.Event, delay: float) -> bool:
    """Start `server` again until it answers; False when `stop` came first."""
    while not await _stopped(stop, delay):
        # Spawned from the event loop's thread: the child's parent-death signal follows
        # the thread that forked it, and this one lives as long as `vitals up`.
        server.spawn()
        try:
            await asyncio.to_thread(server.wait_ready, READY_TIMEOUT_S)
        except RuntimeError as exc:
            delay = min(delay * 2, MAX_DELAY_S)
            say(
                "vitals", f"embedded {server.name} did not come back ({exc}); again in {delay:.0f}s"
            )
            continue
        return True
    return False


async def _stopped(stop: asyncio.Event, seconds: float) -> bool:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()
