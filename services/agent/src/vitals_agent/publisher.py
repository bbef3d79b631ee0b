"""Send the outbox to JetStream, oldest first, until each event is acknowledged.

Each event carries a `Nats-Msg-Id`, so a resend after a lost acknowledgement is stored once
(within the stream's duplicate window). While the bus is away events wait in the outbox;
when it returns they go out with their original timestamps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from typing import Any

import nats.errors
import nats.js.errors
from nats.aio.client import Client

from vitals_agent.outbox import Entry, Outbox
from vitals_core import bus
from vitals_core.settings import NatsSettings

log = logging.getLogger("vitals.agent.publish")

PUBLISH_TIMEOUT_S = 2.0
MIN_BACKOFF_S = 0.2
MAX_BACKOFF_S = 5.0
# A message the stream keeps refusing (too big, storage policy) is dropped after this.
MAX_REFUSALS = 5
STREAMS_RETRY_S = 30.0
FLUSH_ON_STOP_S = 3.0


class Publisher:
    def __init__(
        self,
        outbox: Outbox,
        settings: NatsSettings,
        name: str,
    ) -> None:
        self.outbox = outbox
        self.settings = settings
        self.name = name
        self.nc: Client | None = None
        self.sent = 0
        self.refused = 0
        # A plain future per sleep, not tasks: this runs once or twice per event sent.
        self._woken = False
        self._wake_fut: asyncio.Future[None] | None = None
        self._stopping: asyncio.Future[Any] | None = None
        self._streams_tried: float | None = None

    def wake(self) -> None:
        """Something was put in the outbox."""
        self._woken = True
        fut = self._wake_fut
        if fut is not None and not fut.done():
            fut.set_result(None)

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, then send until `stop`; then flush for a moment and close."""
        try:
            self.nc = await bus.connect(self.settings, self.name, stop)
        except bus.Stopped:
            self._log_unsent()
            return
        # Whoever connects first creates the streams, so the first events are kept.
        await self._ensure_streams()
        self._stopping = asyncio.ensure_future(stop.wait())
        try:
            await self._send_until(stop)
        finally:
            self._stopping.cancel()
            self._stopping = None
        deadline = time.monotonic() + FLUSH_ON_STOP_S
        await self._send_until(None, deadline)
        self._log_unsent()
        with contextlib.suppress(Exception):
            await self.nc.drain()

    async def _send_until(self, stop: asyncio.Event | None, deadline: float | None = None) -> None:
        assert self.nc is not None
        js = self.nc.jetstream()
        backoff = MIN_BACKOFF_S
        refusals = 0
        while True:
            if stop is not None and stop.is_set():
                return
            if deadline is not None and time.monotonic() >= deadline:
                return
            entry = self.outbox.peek()
            if entry is None:
                if deadline is not None:
                    return
                await self._sleep(None, stop)
                continue
            if not self.nc.is_connected:
                await self._sleep(MIN_BACKOFF_S, stop)
                continue
            outcome = await self._publish(js, entry)
            if outcome == "sent":
                self.outbox.done(entry)
                self.sent += 1
                backoff, refusals = MIN_BACKOFF_S, 0
                continue
            if outcome == "refused":
                refusals += 1
            if outcome == "dropped" or refusals >= MAX_REFUSALS:
                if refusals:
                    log.error(
                        "the stream refused %s %d times; dropping it", entry.subject, refusals
                    )
                self.outbox.done(entry)
                self.refused += 1
                refusals = 0
                continue
            await self._sleep(backoff, stop)
            backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def _publish(self, js: nats.js.JetStreamContext, entry: Entry) -> str:
        try:
            await js.publish(
                entry.subject,
                entry.data,
                timeout=PUBLISH_TIMEOUT_S,
                headers={"Nats-Msg-Id": entry.msg_id},
            )
        except nats.js.errors.NoStreamResponseError:
            # No stream takes the subject yet: whoever runs first creates it.
            await self._ensure_streams()
            return "retry"
        except nats.js.errors.APIError as exc:
            if exc.code is not None and exc.code >= 500:
                log.warning("JetStream unavailable (%s); will retry", exc)
                return "retry"
            log.warning("the stream refused %s: %s", entry.subject, exc)
            return "refused"
        except nats.errors.MaxPayloadError:
            log.error("%s is larger than the server accepts; dropping it", entry.subject)
            return "dropped"
        except (TimeoutError, nats.errors.Error, OSError) as exc:
            log.debug("publish of %s failed: %r; will retry", entry.subject, exc)
            return "retry"
        return "sent"

    async def _ensure_streams(self) -> None:
        now = time.monotonic()
        tried = self._streams_tried
        if self.nc is None or (tried is not None and now - tried < STREAMS_RETRY_S):
            return
        self._streams_tried = now
        await self._quietly(bus.ensure_streams(self.nc.jetstream(timeout=PUBLISH_TIMEOUT_S)))

    async def _quietly(self, job: Awaitable[None]) -> None:
        # Agents with per-host credentials may not create streams; the services do.
        try:
            await job
        except Exception as exc:
            log.info("could not set up the streams (%r); the services will", exc)

    async def _sleep(self, seconds: float | None, stop: asyncio.Event | None) -> None:
        """Until `wake()`, `stop` or `seconds` (None: no limit)."""
        if self._woken:
            self._woken = False
            return
        self._wake_fut = asyncio.get_running_loop().create_future()
        waits: set[asyncio.Future[Any]] = {self._wake_fut}
        if stop is not None and self._stopping is not None:
            waits.add(self._stopping)
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._wake_fut = None
            self._woken = False

    def _log_unsent(self) -> None:
        if len(self.outbox):
            log.warning("stopping with %d events not yet on the bus", len(self.outbox))
