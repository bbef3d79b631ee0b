"""A durable JetStream pull consumer shared by every gateway replica.

Each replica binds to the same durable consumer and fetches batches from it, so the stream's
messages are split between replicas and each is handled once (then acknowledged). A replica
that stops, or dies, leaves its unacknowledged messages to be redelivered: after a restart
the consumer resumes where it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import BadRequestError

log = logging.getLogger("vitals.gateway.consumer")

Handler = Callable[[Sequence[Msg]], Awaitable[None]]
RETRY_S = 1.0


class DurableConsumer:
    def __init__(
        self,
        js: JetStreamContext,
        stream: str,
        durable: str,
        handler: Handler,
        *,
        batch: int,
        ack_wait: float,
        fetch_timeout: float = 0.5,
        depth: int = 2,
    ) -> None:
        self.js = js
        self.stream = stream
        self.durable = durable
        self.handler = handler
        self.batch = batch
        self.ack_wait = ack_wait
        self.fetch_timeout = fetch_timeout
        self.depth = depth
        self.failing = asyncio.Event()  # a batch could not be handled: pause before the next
        self.sub: JetStreamContext.PullSubscription | None = None
        self.task: asyncio.Task[None] | None = None
        self.stopping = asyncio.Event()

    def config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait,
            deliver_policy=DeliverPolicy.ALL,
            max_deliver=-1,
            # Bounds what all replicas together hold unacknowledged.
            max_ack_pending=max(10 * self.batch, 10_000),
        )

    async def start(self) -> None:
        try:
            await self.js.add_consumer(self.stream, self.config())
        except BadRequestError as exc:
            # Another replica created it with other settings: use it as it is.
            log.warning("consumer %s exists with other settings (%s); using it", self.durable, exc)
        self.sub = await self.js.pull_subscribe_bind(self.durable, self.stream)
        self.task = asyncio.create_task(self._run(), name=f"consume-{self.durable}")

    async def stop(self) -> None:
        """Finish the batch in hand (handled and acknowledged), then stop fetching."""
        self.stopping.set()
        if self.task is not None:
            await self.task
        if self.sub is not None:
            with contextlib.suppress(Exception):
                await self.sub.unsubscribe()

    async def pending(self) -> tuple[int, int]:
        """(not yet delivered, delivered and not yet acknowledged) for all replicas."""
        info = await self.js.consumer_info(self.stream, self.durable)
        return int(info.num_pending or 0), int(info.num_ack_pending or 0)

    async def _run(self) -> None:
        """Fetch the next batch while the last one is being stored (at most `depth` in hand),
        so that the gateway's own work overlaps Redis's instead of waiting for it."""
        assert self.sub is not None
        in_hand: set[asyncio.Task[None]] = set()
        try:
            while not self.stopping.is_set():
                while len(in_hand) >= self.depth:
                    _, in_hand = await asyncio.wait(in_hand, return_when=asyncio.FIRST_COMPLETED)
                if self.failing.is_set():
                    await self._pause()
                    self.failing.clear()
                    continue
                try:
                    msgs = await self.sub.fetch(self.batch, timeout=self.fetch_timeout)
                except (TimeoutError, nats.errors.TimeoutError):
                    continue
                except Exception as exc:
                    if self.stopping.is_set():
                        return
                    log.warning("fetching from %s failed: %s; retrying", self.durable, exc)
                    await self._pause()
                    continue
                in_hand.add(asyncio.create_task(self._handle(msgs)))
        finally:
            if in_hand:
                await asyncio.wait(in_hand)

    async def _handle(self, msgs: list[Msg]) -> None:
        try:
            await self.handler(msgs)
        except Exception as exc:
            # Storage is down: leave them to be redelivered shortly, and wait a little.
            log.warning(
                "could not handle %d messages (%s); they will be redelivered", len(msgs), exc
            )
            self.failing.set()
            for msg in msgs:
                if msg.is_acked:
                    continue
                with contextlib.suppress(Exception):
                    await msg.nak(delay=RETRY_S)
            return
        for msg in msgs:
            if not msg.is_acked:  # the handler terminated the ones it could never use
                await msg.ack()

    async def _pause(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), RETRY_S)


async def terminate(msg: Msg) -> None:
    """Tell JetStream never to redeliver `msg` (+TERM): it cannot be handled, ever."""
    with contextlib.suppress(Exception):
        await msg.term()
