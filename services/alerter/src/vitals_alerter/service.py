"""The alerter's wiring: rules, state from KV, the telemetry pipeline, watchers, control."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import msgspec

from vitals_alerter.commands import ControlServer
from vitals_alerter.counters import Counters
from vitals_alerter.evaluator import Evaluator
from vitals_alerter.partition import PARTITIONS
from vitals_alerter.pipeline import Pipeline, decode_command
from vitals_alerter.rules import compile_inhibit, compile_rules
from vitals_alerter.store import Store, watch
from vitals_core import bus, subjects
from vitals_core.leases import LeaseKeeper, open_bucket
from vitals_core.settings import Settings
from vitals_core.settings.alerter import parse_duration

log = logging.getLogger("vitals.alerter")
HOUSEKEEPING_EVERY_S = 600.0


async def run(settings: Settings, stop: asyncio.Event) -> None:
    cfg = settings.alerter
    if (cfg.partitions, cfg.partition) != (1, 0):
        log.warning(
            "alerter.partitions and alerter.partition are deprecated and ignored: replicas "
            "now share the hosts through leases (see docs/alerter.md, Scale-out); remove them"
        )
    lease_s = parse_duration(cfg.lease, "lease")
    rules = compile_rules(cfg)
    evaluator = Evaluator(rules, compile_inhibit(cfg))
    counters = Counters()

    nc = await bus.connect(settings.nats, "vitals-alerter", stop)
    js = nc.jetstream()
    await bus.ensure_streams(js, settings.nats)
    store = await Store.open(js, settings.nats.replicas)
    name = f"vitals-alerter-{uuid.uuid4().hex[:12]}"
    leases = await open_bucket(js, subjects.KV_ALERTER_LEASES, lease_s, settings.nats.replicas)
    keeper = LeaseKeeper(leases, name, PARTITIONS, lease_s)
    pipeline = Pipeline(
        js, store, evaluator, keeper, cfg, counters, name, connected=lambda: nc.is_connected
    )
    for silence in await store.all_silences():
        evaluator.put_silence(silence)
    log.info("alerter %s: %d rules", pipeline.name, len(rules))

    def stats() -> dict[str, Any]:
        return {
            "replica": pipeline.name,
            "partitions": sorted(pipeline.owned),
            "members": len(keeper.members),
            "consumer": pipeline.consumer,
            "input": pipeline.watch.health.reason or "ok",
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
        asyncio.create_task(keeper.run(stop)),
        asyncio.create_task(watch(store.silences, lambda k, v: enqueue("silence", k, v))),
        asyncio.create_task(watch(store.acks, lambda k, v: enqueue("ack", k, v))),
        asyncio.create_task(_housekeeping(store, lambda: 0 in pipeline.owned, evaluator, stop)),
    ]
    try:
        if await pipeline.run(stop):
            # Everything is saved: peers may take the partitions now, not a lease later.
            await keeper.release(keeper.usable())
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
