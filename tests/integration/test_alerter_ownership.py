"""The pipeline follows what its ownership says, against a real NATS (in-process)."""

from __future__ import annotations

import asyncio

from nats.js import JetStreamContext

from tests.helpers import Handing
from vitals_alerter.counters import Counters
from vitals_alerter.evaluator import Evaluator
from vitals_alerter.partition import PARTITIONS
from vitals_alerter.pipeline import Pipeline
from vitals_alerter.store import Store
from vitals_core.settings import AlerterSettings


async def test_a_released_partition_is_not_taken_back(js: JetStreamContext) -> None:
    ownership = Handing(PARTITIONS)
    pipeline = Pipeline(
        js, await Store.open(js), Evaluator([]), ownership, AlerterSettings(), Counters()
    )
    stop = asyncio.Event()
    await pipeline._follow(stop)
    assert pipeline.owned == set(range(PARTITIONS))

    ownership.to_release = {3, 7}
    await pipeline._follow(stop)
    assert ownership.released == {3, 7}
    assert pipeline.owned == set(range(PARTITIONS)) - {3, 7}
    await pipeline._follow(stop)
    assert pipeline.owned == set(range(PARTITIONS)) - {3, 7}
    positions = await pipeline.store.load_positions({3, 7})
    assert set(positions) == {3, 7}  # saved before the leases went back


async def test_a_lease_asked_back_before_it_was_taken_up_is_released(
    js: JetStreamContext,
) -> None:
    # A lease that lapsed (the pipeline gave its partition up), was renewed after all, and is
    # then over the fair share: the keeper waits for the pipeline to release it, which owns
    # nothing of it to save. Before, nobody released it and nobody evaluated its hosts.
    ownership = Handing(PARTITIONS)
    ownership.to_release = {5}
    pipeline = Pipeline(
        js, await Store.open(js), Evaluator([]), ownership, AlerterSettings(), Counters()
    )
    await pipeline._follow(asyncio.Event())
    assert 5 not in pipeline.owned
    assert ownership.released == {5}
