"""Telemetry from the bus into the window store, through the shared durable consumer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from vitals_core import safedecode, subjects
from vitals_core.settings import GatewaySettings
from vitals_gateway.counters import Counters
from vitals_gateway.ingest.consumer import DurableConsumer, terminate
from vitals_gateway.ingest.telemetry import Rejected, convert
from vitals_gateway.storage.store import WindowStore, Write

log = logging.getLogger("vitals.gateway.ingest")

LAG_EVERY_S = 5.0
YIELD_EVERY = 16
# Hosts this process remembers having stored; past it, the memory starts afresh.
KNOWN_HOSTS_MAX = 100_000


class Throttle:
    """At most one log line per `every` seconds; says how many were held back."""

    def __init__(self, every: float = 1.0) -> None:
        self.every = every
        self.last = -float("inf")
        self.held = 0

    def allow(self, now: float) -> int | None:
        """None: stay quiet; else the number of lines held back since the last one."""
        if now - self.last < self.every:
            self.held += 1
            return None
        held, self.held, self.last = self.held, 0, now
        return held


class Ingest:
    def __init__(
        self,
        js: JetStreamContext,
        store: WindowStore,
        counters: Counters,
        settings: GatewaySettings,
        clock: Callable[[], float] = time.time,
        on_new_host: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.on_new_host = on_new_host
        self.known_hosts: set[str] = set()
        self.counters = counters
        self.clock = clock
        self.throttle = Throttle()
        self.consumer = DurableConsumer(
            js,
            subjects.STREAM_TELEMETRY,
            settings.consumer,
            self.handle,
            batch=settings.fetch_batch,
            ack_wait=settings.ack_wait,
        )
        self.lag_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        self.lag_task = asyncio.create_task(self._watch_lag(), name="ingest-lag")

    async def stop(self) -> None:
        if self.lag_task is not None:
            self.lag_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.lag_task
        await self.consumer.stop()

    async def handle(self, msgs: Sequence[Msg]) -> None:
        now = self.clock()
        writes: list[Write] = []
        for i, msg in enumerate(msgs):
            if i and i % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # requests and websockets between the messages
            try:
                converted = convert(msg.subject, msg.data, now)
            except Exception as exc:
                # Rejected, or a payload that found a bug: it can never be stored, so it is
                # terminated (never redelivered) and the rest of the batch goes on.
                self._reject(msg, exc)
                await terminate(msg)
                continue
            if converted.dropped_points:
                self.counters.inc("events_dropped", converted.dropped_points)
            writes.append(converted.write)
        result = await self.store.write(writes, now)
        self._notice_hosts(writes)
        self.counters.inc("events_ingested", result.written)
        if result.series_dropped:
            self.counters.inc("events_dropped", result.series_dropped)
        if result.failed:
            self.counters.inc("store_errors", result.failed)
            log.warning("%d events could not be stored: %s", result.failed, result.errors[0])

    def _reject(self, msg: Msg, exc: Exception) -> None:
        self.counters.inc("events_invalid")
        held = self.throttle.allow(time.monotonic())
        if held is None:
            return
        more = f" ({held} more since the last report)" if held else ""
        what = safedecode.reason(exc)
        if not isinstance(exc, Rejected):
            what = f"{type(exc).__name__}: {what}"
        log.warning("dropped a malformed message on %s: %s%s", msg.subject, what, more)

    def _notice_hosts(self, writes: Sequence[Write]) -> None:
        """Tell the app about hosts whose first sample was stored here, so a cached fleet
        answer is not stale. Only samples count: a host's facts arrive before its first
        sample, and a fleet answer built between the two would still lack it."""
        new = {w.host for w in writes if w.summary} - self.known_hosts
        if not new:
            return
        if len(self.known_hosts) + len(new) > KNOWN_HOSTS_MAX:
            self.known_hosts.clear()
        self.known_hosts |= new
        if self.on_new_host is not None:
            for host in sorted(new):
                self.on_new_host(host)

    async def _watch_lag(self) -> None:
        while True:
            try:
                pending, ack_pending = await self.consumer.pending()
                self.counters.set("consumer_pending", pending)
                self.counters.set("consumer_ack_pending", ack_pending)
            except Exception as exc:
                log.debug("consumer info failed: %s", exc)
            await asyncio.sleep(LAG_EVERY_S)
