"""The live stream's hub: bus events to the websocket clients of this replica.

Every replica listens on core NATS (not the shared consumer: each needs every event for its
own clients), only on the subjects its clients want. Each event goes to the clients whose
subscription matches, through their bounded queues (`subscriptions.ClientQueue`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription

from vitals_core import events, safedecode
from vitals_core.settings import GatewaySettings
from vitals_gateway.counters import Counters
from vitals_gateway.live.subscriptions import (
    ClientQueue,
    Subscription,
    Verdict,
    coalesce_key,
    nats_subjects,
    route,
    trim_metrics,
    wanted_families,
)

log = logging.getLogger("vitals.gateway.live")

# Websocket close codes (4000-4999 are the application's).
CLOSE_UNAUTHORIZED = 4001
CLOSE_BAD_MESSAGE = 4400
CLOSE_TOO_SLOW = 4008
CLOSE_GOING_AWAY = 1001
SWEEP_S = 1.0


class LiveClient:
    def __init__(self, queue_bound: int, jti: str, expires_at: float) -> None:
        self.queue = ClientQueue(queue_bound)
        self.jti = jti
        self.expires_at = expires_at
        self.subscription = Subscription()
        self.ready = asyncio.Event()  # something to send
        self.closed = asyncio.Event()
        self.close_code = 1000
        self.close_reason = ""
        self.gone = False  # the client disconnected by itself

    def close(self, code: int, reason: str) -> None:
        if not self.closed.is_set():
            self.close_code, self.close_reason = code, reason
            self.closed.set()

    def send_control(self, message: dict[str, Any], now: float) -> None:
        """A message from the gateway itself (acks, pongs, errors); never replaced."""
        if self.queue.put(None, msgspec.json.encode(message), now) is Verdict.OVERFLOW:
            self.close(CLOSE_TOO_SLOW, "too slow: the queue is full")
        self.ready.set()


class LiveHub:
    def __init__(
        self,
        nc: Client,
        counters: Counters,
        settings: GatewaySettings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.nc = nc
        self.counters = counters
        self.dropped = safedecode.Dropped(log)
        self.settings = settings
        self.clock = clock
        self.clients: set[LiveClient] = set()
        # (family, host or "*") -> clients that want it
        self.index: defaultdict[tuple[str, str], set[LiveClient]] = defaultdict(set)
        self.nats_subs: dict[str, NatsSubscription] = {}
        self.lock = asyncio.Lock()
        self.sweeper: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.sweeper = asyncio.create_task(self._sweep(), name="live-sweep")

    async def stop(self) -> None:
        if self.sweeper is not None:
            self.sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.sweeper
        for client in list(self.clients):
            client.close(CLOSE_GOING_AWAY, "the gateway is stopping")
        async with self.lock:
            for sub in self.nats_subs.values():
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()
            self.nats_subs.clear()

    async def add(self, client: LiveClient, subscription: Subscription) -> None:
        self.clients.add(client)
        self.counters.set("ws_clients", len(self.clients))
        await self.subscribe(client, subscription)

    async def remove(self, client: LiveClient) -> None:
        self.clients.discard(client)
        self._unindex(client)
        self.counters.set("ws_clients", len(self.clients))
        await self._sync_nats()

    async def subscribe(self, client: LiveClient, subscription: Subscription) -> None:
        self._unindex(client)
        client.subscription = subscription
        for family in wanted_families(subscription):
            hosts = subscription.hosts if family != "annotations" else []
            for host in hosts or ["*"]:
                self.index[(family, host)].add(client)
        await self._sync_nats()

    def revoked(self, jti: str) -> None:
        for client in list(self.clients):
            if client.jti == jti:
                client.close(CLOSE_UNAUTHORIZED, "token revoked")

    def _unindex(self, client: LiveClient) -> None:
        for key in [k for k, v in self.index.items() if client in v]:
            self.index[key].discard(client)
            if not self.index[key]:
                del self.index[key]

    async def _sync_nats(self) -> None:
        async with self.lock:
            wanted = nats_subjects(c.subscription for c in self.clients)
            for subject in set(self.nats_subs) - wanted:
                with contextlib.suppress(Exception):
                    await self.nats_subs.pop(subject).unsubscribe()
            added = wanted - set(self.nats_subs)
            for subject in added:
                self.nats_subs[subject] = await self.nc.subscribe(
                    subject, cb=self._on_msg, pending_msgs_limit=100_000
                )
            if added:
                # The server must know the subscription before the client hears "subscribed".
                with contextlib.suppress(Exception):
                    await self.nc.flush(timeout=5)

    async def _on_msg(self, msg: Msg) -> None:
        self._fan_out(msg)
        # Let the clients' senders drain between messages: a burst is not a slow client.
        await asyncio.sleep(0)

    def _fan_out(self, msg: Msg) -> None:
        where = route(msg.subject)
        if where is None:
            return
        family, host, name = where
        targets = self.index.get((family, "*"), set()) | self.index.get((family, host), set())
        if not targets:
            return
        try:
            # Clients get only what is an event of the subject's own host: a hostile payload
            # (invalid UTF-8, deep nesting) would break every browser stream it reaches, and
            # one agent must not show its data as another host's.
            event = events.decode(msg.data)
            if host and getattr(event, "host", host) != host:
                raise events.InvalidEvent(f"host {event.host!r} does not match the subject")
        except events.InvalidEvent as exc:
            self.counters.inc("ws_invalid")
            self.dropped.warning("not streaming a malformed message on %s: %s", msg.subject, exc)
            return
        now = self.clock()
        key = coalesce_key(family, host, name)
        decoded: dict[str, Any] | None = None
        trimmed: dict[frozenset[str], bytes] = {}
        for client in targets:
            payload = msg.data
            families = client.subscription.families() if family == "metrics" else None
            if families is not None:
                if families not in trimmed:
                    if decoded is None:
                        try:
                            decoded = safedecode.decode_any(msg.data)
                        except msgspec.DecodeError:
                            self.counters.inc("ws_invalid")
                            return
                    if not isinstance(decoded, dict):
                        self.counters.inc("ws_invalid")
                        return
                    trimmed[families] = msgspec.json.encode(trim_metrics(decoded, families))
                payload = trimmed[families]
            self._offer(client, key, payload, now)

    def _offer(self, client: LiveClient, key: str | None, payload: bytes, now: float) -> None:
        verdict = client.queue.put(key, payload, now)
        if verdict is Verdict.COALESCED:
            self.counters.inc("ws_coalesced")
        elif verdict is Verdict.OVERFLOW:
            self._drop(client, f"too slow: more than {client.queue.bound} messages waiting")
            return
        if client.queue.lag(now) > self.settings.ws_max_lag:
            self._drop(client, f"too slow: {self.settings.ws_max_lag:g} s behind")
            return
        client.ready.set()

    def _drop(self, client: LiveClient, reason: str) -> None:
        if not client.closed.is_set():
            self.counters.inc("ws_dropped")
            log.info("disconnecting a websocket client: %s", reason)
        client.close(CLOSE_TOO_SLOW, reason)

    async def _sweep(self) -> None:
        """Clients that fell behind with nothing new arriving, and tokens that expired."""
        while True:
            await asyncio.sleep(SWEEP_S)
            now = self.clock()
            wall = time.time()
            for client in list(self.clients):
                if client.queue.lag(now) > self.settings.ws_max_lag:
                    self._drop(client, f"too slow: {self.settings.ws_max_lag:g} s behind")
                elif client.expires_at <= wall:
                    client.close(CLOSE_UNAUTHORIZED, "token expired: send a new one")
