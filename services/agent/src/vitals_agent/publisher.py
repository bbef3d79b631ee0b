"""Send the outbox to JetStream, oldest first, until each event is acknowledged.

Each event carries a `Nats-Msg-Id`, so a resend after a lost acknowledgement is stored once
(within the stream's duplicate window). While the bus is away events wait in the outbox;
when it returns they go out with their original timestamps.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

import msgspec

from vitals_agent import natsproto
from vitals_agent.natsclient import (
    ConnectError,
    Connection,
    NatsError,
    NoResponders,
    PayloadTooLarge,
    ServerError,
    login_from,
    wait_closed,
)
from vitals_agent.natsproto import Server
from vitals_agent.outbox import Entry, Outbox
from vitals_core import streams
from vitals_core.settings import NatsSettings

log = logging.getLogger("vitals.agent.publish")

PUBLISH_TIMEOUT_S = 2.0
MIN_BACKOFF_S = 0.2
MAX_BACKOFF_S = 5.0
# Reconnecting soon matters more than the cost of a refused connect; jitter spreads a fleet.
MAX_CONNECT_BACKOFF_S = 2.0
# A message the stream keeps refusing (too big, storage policy) is dropped after this.
MAX_REFUSALS = 5
STREAMS_RETRY_S = 30.0
FLUSH_ON_STOP_S = 3.0
# JetStream's "stream name already in use with a different configuration".
STREAM_EXISTS_OTHERWISE = 10058

Outcome = str  # "sent", "retry", "refused" or "dropped"


class Publisher:
    def __init__(self, outbox: Outbox, settings: NatsSettings, name: str) -> None:
        self.outbox = outbox
        self.settings = settings
        self.name = name
        self.servers = natsproto.parse_servers(settings.url) if settings.url else []
        self.conn: Connection | None = None
        self.sent = 0
        self.refused = 0
        self.connects = 0
        # A plain future per sleep, not tasks: this runs once or twice per event sent.
        self._woken = False
        self._wake_fut: asyncio.Future[None] | None = None
        self._stopping: asyncio.Future[Any] | None = None
        self._streams_tried: float | None = None
        self._next_server = 0

    def wake(self) -> None:
        """Something was put in the outbox."""
        self._woken = True
        fut = self._wake_fut
        if fut is not None and not fut.done():
            fut.set_result(None)

    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop`, connecting again whenever the bus goes; then flush briefly."""
        if not self.servers:
            raise ValueError("nats.url is empty: set VITALS_NATS_URL or run through `vitals up`")
        self._stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                if await self._connect(stop):
                    await self._send_until(stop)
        finally:
            self._stopping.cancel()
            self._stopping = None
        if self.conn is not None and self.conn.is_open:
            await self._send_until(None, time.monotonic() + FLUSH_ON_STOP_S)
        self._log_unsent()
        if self.conn is not None:
            self.conn.close()
            await wait_closed(self.conn, 1.0)

    # --- connecting ---------------------------------------------------------------------

    async def _connect(self, stop: asyncio.Event) -> bool:
        """Open a connection to the next server, retrying with backoff; False when stopped."""
        backoff = MIN_BACKOFF_S
        failures = 0
        while not stop.is_set():
            server = self.servers[self._next_server % len(self.servers)]
            self._next_server += 1
            try:
                self.conn = await self._open(server)
            except (ConnectError, OSError, ValueError) as exc:
                failures += 1
                if failures == 1 or failures % 20 == 0:
                    log.warning("cannot reach NATS (%s); retrying (%d tries)", exc, failures)
                await self._sleep(backoff * random.uniform(0.5, 1.0), stop, wake=False)
                backoff = min(backoff * 2, MAX_CONNECT_BACKOFF_S)
                continue
            self.connects += 1
            if self.connects > 1:
                log.info("reconnected to NATS at %s", server)
            # Whoever connects first creates the streams, so the first events are kept.
            await self._ensure_streams(force=True)
            return True
        return False

    async def _open(self, server: Server) -> Connection:
        s = self.settings
        login = login_from(server, s.user, s.password, s.nkey_seed_file, s.creds_file)
        return await Connection.open(server, login, self.name, s.connect_timeout)

    # --- sending ------------------------------------------------------------------------

    async def _send_until(self, stop: asyncio.Event | None, deadline: float | None = None) -> None:
        """Send while connected; returns on `stop`, at `deadline`, or when the link is lost."""
        backoff = MIN_BACKOFF_S
        refusals = 0
        while True:
            conn = self.conn
            if conn is None or not conn.is_open:
                if stop is not None:
                    log.warning("disconnected from NATS (%s); reconnecting", _why(conn))
                return
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
            outcome = await self._publish(conn, entry)
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
            await self._sleep(backoff, stop, wake=False)
            backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def _publish(self, conn: Connection, entry: Entry) -> Outcome:
        try:
            msg = await conn.request(
                entry.subject, entry.data, PUBLISH_TIMEOUT_S, {"Nats-Msg-Id": entry.msg_id}
            )
        except NoResponders:
            # No stream takes the subject yet: whoever runs first creates it.
            await self._ensure_streams()
            return "retry"
        except PayloadTooLarge as exc:
            log.error("%s; dropping it", exc)
            return "dropped"
        except ServerError as exc:
            log.warning("the server refused %s: %s", entry.subject, exc)
            return "refused"
        except (TimeoutError, NatsError) as exc:
            log.debug("publish of %s failed: %r; will retry", entry.subject, exc)
            return "retry"
        try:
            reply = natsproto.parse_api_reply(msg.payload)
        except natsproto.ProtocolError as exc:
            log.warning("publish of %s: %s; will retry", entry.subject, exc)
            return "retry"
        if reply.error is None:
            return "sent"
        if reply.error.code >= 500:
            log.warning("JetStream unavailable (%s); will retry", reply.error.description)
            return "retry"
        log.warning("the stream refused %s: %s", entry.subject, reply.error.description)
        return "refused"

    # --- streams ------------------------------------------------------------------------

    async def _ensure_streams(self, force: bool = False) -> None:
        now = time.monotonic()
        tried = self._streams_tried
        conn = self.conn
        if conn is None or (not force and tried is not None and now - tried < STREAMS_RETRY_S):
            return
        self._streams_tried = now
        try:
            for definition in streams.definitions():
                await self._create_stream(conn, definition)
        except (TimeoutError, NatsError, natsproto.ProtocolError) as exc:
            # Agents with per-host credentials may not create streams; the services do.
            log.info("could not set up the streams (%s); the services will", exc or "timeout")

    async def _create_stream(self, conn: Connection, definition: dict[str, Any]) -> None:
        body = msgspec.json.encode(definition)
        name = definition["name"]
        msg = await conn.request(streams.create_subject(name), body, PUBLISH_TIMEOUT_S)
        reply = natsproto.parse_api_reply(msg.payload)
        if reply.error is not None and reply.error.err_code == STREAM_EXISTS_OTHERWISE:
            msg = await conn.request(streams.update_subject(name), body, PUBLISH_TIMEOUT_S)
            reply = natsproto.parse_api_reply(msg.payload)
        if reply.error is not None:
            raise NatsError(f"stream {name}: {reply.error.description}")

    # --- waiting ------------------------------------------------------------------------

    async def _sleep(self, seconds: float | None, stop: asyncio.Event | None, *,
                     wake: bool = True) -> None:  # fmt: skip
        """Until `wake()` (when `wake`), the connection closes, `stop`, or `seconds`."""
        if wake and self._woken:
            self._woken = False
            return
        loop = asyncio.get_running_loop()
        waits: set[asyncio.Future[Any]] = set()
        if wake:
            self._wake_fut = loop.create_future()
            waits.add(self._wake_fut)
        if stop is not None and self._stopping is not None:
            waits.add(self._stopping)
        if self.conn is not None and not self.conn.closed.done():
            waits.add(self.conn.closed)
        try:
            if waits:
                await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
            elif seconds is not None:
                await asyncio.sleep(seconds)
        finally:
            if wake:
                self._wake_fut = None
                self._woken = False

    def _log_unsent(self) -> None:
        if len(self.outbox):
            log.warning("stopping with %d events not yet on the bus", len(self.outbox))


def _why(conn: Connection | None) -> str:
    return conn.error if conn is not None and conn.error else "connection closed"
