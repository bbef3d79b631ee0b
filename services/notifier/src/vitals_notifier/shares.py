"""Notifier replicas share the groups through leases on partitions of the group-key space.

Each group key falls in one of PARTITIONS partitions. A replica works on the partitions it
holds a lease on (vitals_core.leases: a KV bucket with a TTL, renewed by the owner), each
through a durable consumer of its own (`vitals-notifier-p<i>`) that reads every alert event
and keeps the targets whose group key is in the partition. So a group is formed, flushed and
retried by one replica at a time, and a partition that changes hands carries its position:

- given back (a rebalance, a clean stop): its held events are nak'ed, so the next owner
  gets them at once, and its queued retries are dropped here (they stay in the outbox);
- lost with a dead replica: the lease expires after `lease` s; the next owner loads the
  partition's deliveries from the outbox and gets the held events again after `ack_wait`.

A delivery being sent when its replica dies is sent again by the new owner with the same
id (`webhook-id`, Message-ID): duplicates happen only around a takeover.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import time
import zlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from vitals_core import subjects
from vitals_core.leases import LeaseKeeper
from vitals_core.settings.notifier import NotifierSettings
from vitals_notifier.dispatch import Dispatcher
from vitals_notifier.pipeline import Pipeline
from vitals_notifier.records import Delivery
from vitals_notifier.store import Store

log = logging.getLogger("vitals.notifier.shares")

# Few: every partition's consumer reads every event. Enough to spread over a few replicas.
PARTITIONS = 8
RECONCILE_EVERY_S = 0.25

Sub = JetStreamContext.PullSubscription
Loop = Callable[[Sub, Pipeline, asyncio.Event], Coroutine[Any, Any, None]]
MakePipeline = Callable[[int, asyncio.Event], Pipeline]


def partition_of(group_key: str) -> int:
    return zlib.crc32(group_key.encode()) % PARTITIONS


def delivery_partition(d: Delivery) -> int:
    return partition_of(d.notification.group_key)


async def open_partition_consumer(js: JetStreamContext, ns: NotifierSettings, p: int) -> Sub:
    """The partition's durable consumer of alert events, created where reading must start:
    where the single consumer of earlier versions stopped, else `first_start_backlog` back."""
    stream, durable = subjects.STREAM_EVENTS, subjects.notifier_consumer(p)
    try:
        config = (await js.consumer_info(stream, durable)).config
        config.ack_wait, config.max_ack_pending = ns.ack_wait, ns.max_ack_pending
    except nats.js.errors.NotFoundError:
        config = ConsumerConfig(
            durable_name=durable,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=ns.ack_wait,
            max_ack_pending=ns.max_ack_pending,
            max_deliver=-1,
            filter_subjects=subjects.STREAM_EVENTS_SUBJECTS,
        )
        try:
            old = await js.consumer_info(stream, subjects.NOTIFIER_CONSUMER)
            config.deliver_policy = DeliverPolicy.BY_START_SEQUENCE
            config.opt_start_seq = old.ack_floor.stream_seq + 1
        except nats.js.errors.NotFoundError:
            since = time.time() - ns.first_start_backlog
            config.deliver_policy = DeliverPolicy.BY_START_TIME
            config.opt_start_time = datetime.datetime.fromtimestamp(since, datetime.UTC)
    await js.add_consumer(stream, config)
    return await js.pull_subscribe_bind(durable, stream)


@dataclass
class Running:
    sub: Sub
    pipeline: Pipeline
    stop: asyncio.Event
    task: asyncio.Task[None]


class Shares:
    """Starts and stops the work of each partition as this replica's leases come and go."""

    def __init__(
        self,
        js: JetStreamContext,
        ns: NotifierSettings,
        keeper: LeaseKeeper,
        store: Store,
        dispatcher: Dispatcher,
        make_pipeline: MakePipeline,
        loop: Loop,
    ) -> None:
        self.js = js
        self.ns = ns
        self.keeper = keeper
        self.store = store
        self.dispatcher = dispatcher
        self.make_pipeline = make_pipeline
        self.loop = loop
        self.running: dict[int, Running] = {}
        dispatcher.owns = lambda d: delivery_partition(d) in self.running

    async def run(self, stop: asyncio.Event) -> None:
        keeping = asyncio.create_task(self.keeper.run(stop), name="notifier-leases")
        try:
            while not stop.is_set():
                try:
                    await self.reconcile()
                except Exception as exc:
                    log.warning("could not take up or hand back partitions (%s); retrying", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), RECONCILE_EVERY_S)
        finally:
            await self.close()
            keeping.cancel()
            await asyncio.gather(keeping, return_exceptions=True)

    async def reconcile(self) -> None:
        idle = self.keeper.releasing() - set(self.running)
        if idle:
            # Asked back before it was taken up here (a lease that lapsed, so its partition
            # was stopped, then was renewed after all): nothing to hand over, release it now.
            await self.keeper.release(idle)
        wanted = self.keeper.usable() - self.keeper.releasing()
        for p in sorted(set(self.running) - wanted):
            await self._stop(p)
            if p in self.keeper.releasing():
                await self.keeper.release([p])
        starting = sorted(wanted - set(self.running))
        if starting:
            pending = await self.store.pending()
            for p in starting:
                await self._start(p, [d for d in pending if delivery_partition(d) == p])

    async def _start(self, p: int, pending: list[Delivery]) -> None:
        sub = await open_partition_consumer(self.js, self.ns, p)
        stop = asyncio.Event()
        pipeline = self.make_pipeline(p, stop)
        task = asyncio.create_task(self.loop(sub, pipeline, stop), name=f"notifier-p{p}")
        self.running[p] = Running(sub, pipeline, stop, task)
        # Deliveries a previous owner left: sent again with their ids.
        for d in pending:
            await self.dispatcher.submit(d)
        log.info("took up partition %d (%d deliveries pending)", p, len(pending))

    async def _stop(self, p: int) -> None:
        run = self.running.pop(p)
        run.stop.set()
        await asyncio.gather(run.task, return_exceptions=True)
        await run.pipeline.give_back()
        with contextlib.suppress(Exception):
            await run.sub.unsubscribe()
        dropped = self.dispatcher.forget(lambda d: delivery_partition(d) == p)
        log.info("handed back partition %d (%d queued deliveries left to its next owner)", p,
                 dropped)  # fmt: skip

    async def close(self) -> None:
        """Stop every partition and give its lease back: the others take over at once."""
        held = set(self.running)
        for p in sorted(held):
            await self._stop(p)
        with contextlib.suppress(Exception):
            await self.keeper.release(held)
