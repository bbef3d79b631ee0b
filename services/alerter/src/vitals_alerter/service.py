"""The alerter's wiring: rules, state from KV, the telemetry pipeline, watchers, control."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import msgspec

from vitals_alerter.commands import ControlServer
from vitals_alerter.counters import Counters
from vitals_alerter.evaluator import Evaluator
from vitals_alerter.ownership import Fixed
from vitals_alerter.partition import PARTITIONS
from vitals_alerter.pipeline import Pipeline, decode_command
from vitals_alerter.rules import compile_inhibit, compile_rules
from vitals_alerter.store import Store, watch
from vitals_core import bus
from vitals_core.settings import Settings

log = logging.getLogger("vitals.alerter")
HOUSEKEEPING_EVERY_S = 600.0


async def run(settings: Settings, stop: asyncio.Event) -> None:
    cfg = settings.alerter
    ownership = Fixed(p for p in range(PARTITIONS) if p % cfg.partitions == cfg.partition)
    rules = compile_rules(cfg)
    evaluator = Evaluator(rules, compile_inhibit(cfg))
    counters = Counters()

    nc = await bus.connect(settings.nats, "vitals-alerter", stop)
    js = nc.jetstream()
    await bus.ensure_streams(js)
    store = await Store.open(js)
    pipeline = Pipeline(js, store, evaluator, ownership, cfg, counters)
    for silence in await store.all_silences():
        evaluator.put_silence(silence)
    log.info("alerter %s: %d rules", pipeline.name, len(rules))

    def stats() -> dict[str, Any]:
        return {
            "replica": pipeline.name,
            "partitions": sorted(pipeline.owned),
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
        if command is not None:
            await pipeline.inbox.put(command)

    tasks = [
        asyncio.create_task(watch(store.silences, lambda k, v: enqueue("silence", k, v))),
        asyncio.create_task(watch(store.acks, lambda k, v: enqueue("ack", k, v))),
        asyncio.create_task(_housekeeping(store, lambda: 0 in pipeline.owned, evaluator, stop)),
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
        await nc.drain()
    log.info("alerter evaluated %d series samples", evaluator.evaluations)


async def _housekeeping(
    store: Store, leader: Callable[[], bool], evaluator: Evaluator, stop: asyncio.Event
) -> None:
    """The owner of partition 0 purges long-expired silences and old delete markers."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), HOUSEKEEPING_EVERY_S)
        if stop.is_set() or not leader():
            continue
        try:
            for silence_id in evaluator.silences.purgeable(time.time()):
                await store.purge_silence(silence_id)
            await store.tidy()
        except Exception as exc:
            log.warning("housekeeping failed: %s", exc)
