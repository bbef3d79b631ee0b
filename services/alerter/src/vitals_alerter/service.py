"""The alerter's wiring: rules, state from KV, the telemetry pipeline, watchers, control."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import msgspec

from vitals_alerter.commands import ControlServer
from vitals_alerter.counters import Counters
from vitals_alerter.evaluator import Evaluator
from vitals_alerter.partition import Partition
from vitals_alerter.pipeline import Pipeline, decode_command
from vitals_alerter.rules import compile_inhibit, compile_rules
from vitals_alerter.store import Store, watch
from vitals_core import bus
from vitals_core.settings import Settings

log = logging.getLogger("vitals.alerter")
HOUSEKEEPING_EVERY_S = 600.0


async def run(settings: Settings, stop: asyncio.Event) -> None:
    cfg = settings.alerter
    partition = Partition(cfg.partition, cfg.partitions)
    rules = compile_rules(cfg)
    evaluator = Evaluator(rules, compile_inhibit(cfg))
    counters = Counters()

    nc = await bus.connect(settings.nats, f"vitals-alerter-{partition.index}", stop)
    js = nc.jetstream()
    await bus.ensure_streams(js)
    store = await Store.open(js)
    pipeline = Pipeline(js, store, evaluator, partition, cfg, counters)

    states = await store.load_states(partition.owns)
    for silence in await store.all_silences():
        evaluator.put_silence(silence)
    orphans = evaluator.load(states, time.time())
    await pipeline.publish(orphans, stop)
    log.info(
        "alerter partition %d of %d: %d rules, %d saved alerts",
        partition.index, partition.count, len(rules), len(states),
    )  # fmt: skip

    def stats() -> dict[str, Any]:
        return {
            "partition": partition.index,
            "partitions": partition.count,
            "evaluations": evaluator.evaluations,
            "alerts": len(evaluator.states),
            "active": len(evaluator.active),
            "hosts": sorted({key[1] for key in evaluator.watched}),
            "counters": dict(counters.values),
        }

    control = ControlServer(nc, js, store, rules, counters, stats, cfg.history_scan_limit)
    await control.start()

    async def enqueue(kind: str, key: str, value: bytes | None) -> None:
        try:
            command = decode_command(kind, key, value)
        except msgspec.DecodeError as exc:
            counters.inc("commands_invalid")
            log.warning("ignored an unreadable %s entry %s: %s", kind, key, exc)
            return
        if command is None:
            return
        if kind == "ack" and not partition.owns(getattr(command, "host", "")):
            return
        await pipeline.inbox.put(command)

    tasks = [
        asyncio.create_task(watch(store.silences, lambda k, v: enqueue("silence", k, v))),
        asyncio.create_task(watch(store.acks, lambda k, v: enqueue("ack", k, v))),
        asyncio.create_task(_housekeeping(store, partition, evaluator, stop)),
    ]
    try:
        await pipeline.run(stop)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await control.stop()
        await bus.close(nc)
    log.info("alerter evaluated %d series samples", evaluator.evaluations)


async def _housekeeping(
    store: Store, partition: Partition, evaluator: Evaluator, stop: asyncio.Event
) -> None:
    """Partition 0 purges long-expired silences and old delete markers."""
    if partition.index != 0:
        return
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), HOUSEKEEPING_EVERY_S)
        if stop.is_set():
            return
        try:
            for silence_id in evaluator.silences.purgeable(time.time()):
                await store.purge_silence(silence_id)
            await store.tidy()
        except Exception as exc:
            log.warning("housekeeping failed: %s", exc)
