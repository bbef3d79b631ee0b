"""Warn before a consumer falls so far behind that the telemetry stream drops what it has
not read yet: the stream discards its oldest messages at its cap, read or not.

Every consumer of the telemetry stream is watched (the gateways' shared one and each alerter
partition's), so one gateway sees the whole pipeline's lag.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from dataclasses import dataclass

from nats.js import JetStreamContext

from vitals_core import subjects
from vitals_gateway.counters import Counters

log = logging.getLogger("vitals.gateway.capacity")

CHECK_EVERY_S = 15.0
# Past half of what the stream holds, an operator has about as long again before data is lost.
WARN_SHARE = 0.5


@dataclass(frozen=True)
class StreamRoom:
    messages: int
    bytes: int
    max_bytes: int
    max_msgs: int

    def capacity(self) -> float:
        """How many messages the stream holds at its cap, at today's mean message size."""
        caps = [math.inf]
        if self.max_msgs > 0:
            caps.append(self.max_msgs)
        if self.max_bytes > 0 and self.messages > 0 and self.bytes > 0:
            caps.append(self.max_bytes / (self.bytes / self.messages))
        return min(caps)


def lag_share(pending: int, room: StreamRoom) -> float:
    """A consumer's unread messages as a share of what the stream can hold (0 when unbounded)."""
    capacity = room.capacity()
    return 0.0 if math.isinf(capacity) or capacity <= 0 else pending / capacity


class CapacityWatch:
    """Sets `telemetry_lag_share` (the worst consumer's) and logs each crossing of WARN_SHARE."""

    def __init__(self, js: JetStreamContext, counters: Counters, every: float = CHECK_EVERY_S):
        self.js = js
        self.counters = counters
        self.every = every
        self.behind: set[str] = set()
        self.task: asyncio.Task[None] | None = None
        # An event, not a cancel: a cancel landing inside a NATS request can come out as an
        # ordinary error, which the loop would survive.
        self.stopping = asyncio.Event()

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="capacity-watch")

    async def stop(self) -> None:
        self.stopping.set()
        if self.task is not None:
            await self.task

    async def check(self) -> dict[str, float]:
        stream = subjects.STREAM_TELEMETRY
        info = await self.js.stream_info(stream)
        room = StreamRoom(
            messages=info.state.messages,
            bytes=info.state.bytes,
            max_bytes=info.config.max_bytes or -1,
            max_msgs=info.config.max_msgs or -1,
        )
        shares = {
            str(c.name): lag_share(int(c.num_pending or 0), room)
            for c in await self.js.consumers_info(stream)
        }
        self.counters.set("telemetry_lag_share", max(shares.values(), default=0.0))
        for name, share in sorted(shares.items()):
            if share > WARN_SHARE and name not in self.behind:
                self.behind.add(name)
                self.counters.inc("telemetry_lag_near_capacity")
                log.warning(
                    "consumer %s is %.0f%% of the telemetry stream's capacity behind "
                    "(%.0f messages): it loses unread samples if it falls further behind",
                    name, 100 * share, room.capacity(),
                )  # fmt: skip
            elif share <= WARN_SHARE and name in self.behind:
                self.behind.discard(name)
                log.info("consumer %s is no longer near the stream's capacity", name)
        self.behind &= set(shares)
        return shares

    async def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                await self.check()
            except Exception as exc:
                log.debug("telemetry capacity check failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), self.every)
