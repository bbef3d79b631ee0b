"""Send the outbox to JetStream, oldest first, until each event is acknowledged.

Each event carries a `Nats-Msg-Id`, so a resend after a lost acknowledgement is stored once
(within the stream's duplicate window). While the bus is away events wait in the outbox;
when it returns they go out with their original timestamps.

Sending is driven by callbacks, not by a task: `wake()` sends at once when nothing is in
flight, and each acknowledgement sends the next event. A sample therefore costs the event
loop one extra wake-up (its acknowledgement); on a host sampled every second, every
wake-up is a cold one and costs about 0.2 ms (docs/agent.md). A task only keeps the
connection: it connects and reconnects with backoff.

The agent never creates or changes streams (its credentials may not touch the JetStream
API): the services do. Until they have, events wait in the outbox and are retried.
"""

from __future__ import annotations

import asyncio
import logging
import random
from functools import partial
from typing import Any

from vitals_agent import natsproto
from vitals_agent.natsclient import (
    ConnectError,
    Connection,
    Disconnected,
    NatsError,
    NoResponders,
    PayloadTooLarge,
    ServerError,
    TlsFiles,
    login_from,
    wait_closed,
)
from vitals_agent.natsproto import Msg, Server
from vitals_agent.outbox import Entry, Outbox
from vitals_agent.servers import ServerPool
from vitals_core import subjects
from vitals_core.settings import NatsSettings

log = logging.getLogger("vitals.agent.publish")

PUBLISH_TIMEOUT_S = 2.0
MIN_BACKOFF_S = 0.2
MAX_BACKOFF_S = 5.0
# Reconnecting soon matters more than the cost of a refused connect; jitter spreads a fleet.
MAX_CONNECT_BACKOFF_S = 2.0
# A message the stream keeps refusing (too big, storage policy) is dropped after this.
MAX_REFUSALS = 5
FLUSH_ON_STOP_S = 3.0
# No stream yet costs the server one quick answer: retry often, so that the first events
# are stored within a second of a service creating the streams.
NO_STREAM_RETRY_S = 1.0
# How long a server is passed over: one that refused us, one that dropped us, one leaving
# (nats-server's lame-duck mode lasts 2 minutes by default, then it stops).
FAILED_AVOID_S = 5.0
LOST_AVOID_S = 10.0
LAME_DUCK_AVOID_S = 180.0
# Messages in flight at once: a backlog replays at up to this many per round trip.
DEFAULT_WINDOW = 256


class Publisher:
    def __init__(
        self,
        outbox: Outbox,
        settings: NatsSettings,
        name: str,
        host: str,
        window: int = DEFAULT_WINDOW,
    ) -> None:
        self.outbox = outbox
        self.settings = settings
        self.name = name
        self.inbox_prefix = subjects.agent_inbox(host)
        self.servers = natsproto.parse_servers(settings.url) if settings.url else []
        self.pool = ServerPool(self.servers, host) if self.servers else None
        self.conn: Connection | None = None
        self.sent = 0
        self.refused = 0
        self.connects = 0
        self.window_size = max(1, window)
        # Sent and not yet answered, oldest first: entry order -> (entry, reply, sent at).
        self._window: dict[int, tuple[Entry, str, float]] = {}
        # Fires when the oldest in flight has waited PUBLISH_TIMEOUT_S; one for the window.
        self._timer: asyncio.TimerHandle | None = None
        self._backoff = MIN_BACKOFF_S
        self._resume: asyncio.TimerHandle | None = None  # set while backing off
        self._refusals: dict[int, int] = {}  # entry order -> refusals so far
        self._drained: asyncio.Future[None] | None = None
        self._no_stream_logged = False
        self._leaving = False  # closing a connection to a server in lame-duck mode

    def wake(self) -> None:
        """Something was put in the outbox: send it now if the window has room."""
        self._send_next()

    async def run(self, stop: asyncio.Event) -> None:
        """Keep a connection until `stop`, connecting again whenever the bus goes."""
        if self.pool is None:
            raise ValueError("nats.url is empty: set VITALS_NATS_URL or run through `vitals up`")
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                conn = await self._connect(stopping)
                if conn is None:
                    break
                self._send_next()
                ends: set[asyncio.Future[Any]] = {conn.closed, stopping}
                await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
                if conn.closed.done() and not stop.is_set():
                    if not self._leaving:
                        log.warning("disconnected from NATS (%s); reconnecting", conn.error)
                        # Elsewhere first: this one may be going down.
                        self.pool.avoid(conn.server, self._loop().time() + LOST_AVOID_S)
                    self._leaving = False
        finally:
            stopping.cancel()
        await self._flush(FLUSH_ON_STOP_S)
        self._cancel_timers()
        if self.conn is not None:
            self.conn.close()
            await wait_closed(self.conn, 1.0)

    # --- connecting ---------------------------------------------------------------------

    async def _connect(self, stopping: asyncio.Future[Any]) -> Connection | None:
        """A connection to the next server, retrying with backoff; None when stopped."""
        backoff = MIN_BACKOFF_S
        failures = 0
        assert self.pool is not None
        while not stopping.done():
            server = self.pool.order(self._loop().time())[0]
            try:
                self.conn = await self._open(server)
            except (ConnectError, OSError, ValueError) as exc:
                self.pool.avoid(server, self._loop().time() + FAILED_AVOID_S)
                failures += 1
                if failures == 1 or failures % 20 == 0:
                    log.warning("cannot reach NATS (%s); retrying (%d tries)", exc, failures)
                await asyncio.wait({stopping}, timeout=backoff * random.uniform(0.5, 1.0))
                backoff = min(backoff * 2, MAX_CONNECT_BACKOFF_S)
                continue
            self.connects += 1
            if self.connects > 1:
                log.info("reconnected to NATS at %s", server)
            self.conn.on_info = self._on_server_info
            self._on_server_info(self.conn.info)
            return self.conn
        return None

    def _on_server_info(self, info: natsproto.ServerInfo) -> None:
        """Learn the cluster's servers; leave a server in lame-duck mode before it stops."""
        conn = self.conn
        if conn is None or self.pool is None:
            return
        added = self.pool.learn(info.connect_urls, conn.server)
        if added:
            log.info("the cluster has %d more servers: %s", len(added),
                     ", ".join(str(s) for s in added))  # fmt: skip
        if info.ldm and not self._leaving:
            log.info("%s entered lame-duck mode; moving to another server", conn.server)
            self._leaving = True
            self.pool.avoid(conn.server, self._loop().time() + LAME_DUCK_AVOID_S)
            # What is in flight comes back to the outbox and goes again on the next server.
            conn.close("the server entered lame-duck mode")

    async def _open(self, server: Server) -> Connection:
        s = self.settings
        login = login_from(server, s.user, s.password, s.nkey_seed_file, s.creds_file)
        tls = TlsFiles(s.tls_ca_file, s.tls_cert_file, s.tls_key_file)
        return await Connection.open(
            server, login, self.name, s.connect_timeout, self.inbox_prefix, tls
        )

    # --- sending ------------------------------------------------------------------------

    def _send_next(self) -> None:
        """Fill the window from the outbox, unless we back off or the bus is away."""
        window = self._window
        while len(window) < self.window_size and self._resume is None:
            conn = self.conn
            if conn is None or not conn.is_open:
                return
            entry = self.outbox.take()
            if entry is None:
                if not window and self._drained is not None and not self._drained.done():
                    self._drained.set_result(None)
                return
            try:
                reply = conn.send(
                    entry.subject,
                    entry.data,
                    partial(self._on_reply, entry),
                    {"Nats-Msg-Id": entry.msg_id},
                )
            except PayloadTooLarge as exc:
                log.error("%s; dropping it", exc)
                self._give_up(entry)
                continue
            except NatsError:
                self.outbox.put_back([entry])
                return  # the connection is going; the keeper reconnects and sends again
            window[entry.order] = (entry, reply, self._loop().time())
            if self._timer is None:
                self._timer = self._loop().call_later(PUBLISH_TIMEOUT_S, self._check_timeout)

    def _on_reply(self, entry: Entry, msg: Msg | None, error: Exception | None) -> None:
        if self._window.pop(entry.order, None) is None:
            return  # its window was already put back (a failure before it): resent later
        outcome = self._outcome(entry, msg, error)
        if outcome == "sent":
            self.outbox.done(entry)
            self.sent += 1
            self._backoff = MIN_BACKOFF_S
            self._refusals.pop(entry.order, None)
            self._no_stream_logged = False
        elif outcome == "refused":
            n = self._refusals[entry.order] = self._refusals.get(entry.order, 0) + 1
            if n >= MAX_REFUSALS:
                log.error("the stream refused %s %d times; dropping it", entry.subject, n)
                self._give_up(entry)
            else:
                self._resend_window([entry], back_off=True)
        else:
            # After a lost connection, the reconnect paces the resend.
            self._resend_window([entry], back_off=not isinstance(error, Disconnected),
                                soon=isinstance(error, NoResponders))  # fmt: skip
        if not self._window and self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._send_next()

    def _resend_window(self, failed: list[Entry], back_off: bool, soon: bool = False) -> None:
        """Go back to the first event not acknowledged: it and all sent after it go again.

        Those the stream stored already are recognised by their `Nats-Msg-Id` and stored
        once; sending them again in order keeps each subject's events in order.
        """
        window, self._window = self._window, {}
        conn = self.conn
        for _, reply, _ in window.values():
            if conn is not None:
                conn.forget(reply)  # a late answer is ignored; the resend gets its own
        self.outbox.put_back(failed + [entry for entry, _, _ in window.values()])
        if back_off and self._resume is None:
            self._back_off(NO_STREAM_RETRY_S if soon else MAX_BACKOFF_S)

    def _check_timeout(self) -> None:
        """The oldest event in flight had no answer in time: resend the window."""
        self._timer = None
        if not self._window:
            return
        now = self._loop().time()
        entry, _, sent_at = next(iter(self._window.values()))
        if now - sent_at < PUBLISH_TIMEOUT_S:
            self._timer = self._loop().call_later(
                sent_at + PUBLISH_TIMEOUT_S - now, self._check_timeout
            )
            return
        log.debug("no acknowledgement of %s within %gs; resending", entry.subject,
                  PUBLISH_TIMEOUT_S)  # fmt: skip
        self._resend_window([], back_off=True)
        self._send_next()

    def _outcome(self, entry: Entry, msg: Msg | None, error: Exception | None) -> str:
        """ "sent", "retry" or "refused"."""
        if isinstance(error, NoResponders):
            # No stream takes the subject yet: the services create them; keep it and wait.
            if not self._no_stream_logged:
                log.warning("no stream takes %s yet (the services create the streams); "
                            "keeping events and retrying", entry.subject)  # fmt: skip
                self._no_stream_logged = True
            return "retry"
        if isinstance(error, ServerError):
            log.warning("the server refused %s: %s", entry.subject, error)
            return "refused"
        if error is not None or msg is None:
            log.debug("publish of %s failed: %r; will retry", entry.subject, error)
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

    def _give_up(self, entry: Entry) -> None:
        self.outbox.done(entry)
        self.refused += 1
        self._refusals.pop(entry.order, None)

    def _back_off(self, longest: float = MAX_BACKOFF_S) -> None:
        self._resume = self._loop().call_later(min(self._backoff, longest), self._resumed)
        self._backoff = min(self._backoff * 2, MAX_BACKOFF_S)

    def _resumed(self) -> None:
        self._resume = None
        self._send_next()

    @staticmethod
    def _loop() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    async def _flush(self, seconds: float) -> None:
        """On stop: a short while for what is still in the outbox."""
        if self.conn is None or not self.conn.is_open or not len(self.outbox):
            self._log_unsent()
            return
        # Resolved by `_send_next` once the last event is acknowledged.
        self._drained = self._loop().create_future()
        self._send_next()
        await asyncio.wait({self._drained, self.conn.closed}, timeout=seconds,
                           return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        self._log_unsent()

    def _cancel_timers(self) -> None:
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._window:
            self._resend_window([], back_off=False)  # back to the outbox, for the count

    def _log_unsent(self) -> None:
        if len(self.outbox):
            log.warning("stopping with %d events not yet on the bus", len(self.outbox))
