"""Roll finished buckets up into the coarser windows; every replica runs one.

Buckets to roll are claimed atomically from Redis (see `WindowStore.claim`), so replicas
share the work; a claim whose replica died goes back after its lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from vitals_gateway.counters import Counters
from vitals_gateway.storage.store import WindowStore

log = logging.getLogger("vitals.gateway.roller")

# Buckets per round: small, so requests and ingest interleave with a minute's burst of them.
BATCH = 10
IDLE_S = 1.0


class Roller:
    def __init__(
        self, store: WindowStore, counters: Counters, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.counters = counters
        self.clock = clock
        self.task: asyncio.Task[None] | None = None
        self.stopping = asyncio.Event()

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="roller")

    async def stop(self) -> None:
        self.stopping.set()
        if self.task is not None:
            await self.task

    async def run_once(self) -> int:
        """Roll what is due now; returns how many buckets were claimed."""
        now = self.clock()
        members = await self.store.claim(now, BATCH)
        if members:
            self.counters.inc("rollups", await self.store.roll(members, now))
        return len(members)

    async def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                claimed = await self.run_once()
            except Exception as exc:
                log.warning("rolling up failed: %s; retrying", exc)
                claimed = 0
            # A claim takes a few from each partition: sleep only once none is due.
            if not claimed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), IDLE_S)
            else:
                await asyncio.sleep(0)  # let requests through between batches
