"""A notifier replica runs the partitions its leases say, against a real NATS (in-process)."""

from __future__ import annotations

import asyncio
from typing import cast

from nats.js import JetStreamContext

from tests.helpers import Handing
from vitals_core.leases import LeaseKeeper
from vitals_core.settings.notifier import NotifierSettings
from vitals_notifier import retry
from vitals_notifier.dispatch import Dispatcher
from vitals_notifier.pipeline import Pipeline
from vitals_notifier.shares import PARTITIONS, Shares, Sub
from vitals_notifier.stats import Counters
from vitals_notifier.store import Store


async def shares_of(js: JetStreamContext, ownership: Handing) -> Shares:
    ns = NotifierSettings()
    store = Store(js, ns)
    await store.open()
    counters = Counters()
    dispatcher = Dispatcher(
        store, {}, {}, retry.Policy(), concurrency={}, queue_size=10, counters=counters,
        on_gone=lambda _receiver, _error: asyncio.sleep(0),
    )  # fmt: skip

    def make_pipeline(p: int, stop: asyncio.Event) -> Pipeline:
        return Pipeline(ns, store, dispatcher, counters, routes_=[], fallback=[], known=set(),
                        stop=stop)  # fmt: skip

    async def idle(_sub: Sub, _pipeline: Pipeline, stop: asyncio.Event) -> None:
        await stop.wait()

    keeper = cast(LeaseKeeper, ownership)  # the part of a keeper that reconcile uses
    return Shares(js, ns, keeper, store, dispatcher, make_pipeline, idle)


async def test_a_lease_asked_back_before_it_was_taken_up_is_released(
    js: JetStreamContext,
) -> None:
    # A lease that lapsed (its partition was stopped), was renewed after all, and is then
    # over the fair share: nothing of it runs here, so it is released at once. Before, it
    # was renewed for ever and no replica sent its groups' notifications.
    ownership = Handing(PARTITIONS)
    ownership.to_release = {5}
    shares = await shares_of(js, ownership)
    try:
        await shares.reconcile()
        assert ownership.released == {5}
        assert set(shares.running) == set(range(PARTITIONS)) - {5}
    finally:
        await shares.close()


async def test_a_running_partition_asked_back_is_stopped_then_released(
    js: JetStreamContext,
) -> None:
    ownership = Handing(PARTITIONS)
    shares = await shares_of(js, ownership)
    try:
        await shares.reconcile()
        assert set(shares.running) == set(range(PARTITIONS))
        ownership.to_release = {2, 6}
        await shares.reconcile()
        assert ownership.released == {2, 6}
        assert set(shares.running) == set(range(PARTITIONS)) - {2, 6}
    finally:
        await shares.close()
