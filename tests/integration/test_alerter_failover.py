"""Alerter replicas on one NATS: a newcomer rebalances, a kill -9 is taken over within the
lease, and no alert fires twice or goes unresolved (real processes, real nats-server)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import nats

from tests.helpers import Processes, eventually
from tests.integration.test_alerter_service import INTERVAL, Bus, bus, processes_argv
from vitals_alerter.partition import PARTITIONS, partition_of

__all__ = ["bus"]  # the fixture, imported for this module's tests

LEASE = 2.0
CONFIG = f"""
[alerter]
tick_interval = 0.2
repeat_interval = 0
lease = {LEASE}

[[alerter.rules]]
name = "cpu_high"
metric = "cpu.percent"
warning = 80
clear = 70

# The built-in host_down waits 15 s beyond its missed intervals; this test wants the
# absence logic itself, at 3 missed intervals.
[[alerter.rules]]
name = "host_down"
kind = "absence"
metric = "host"
missed = 3
"""
HOSTS = [f"fleet-{i:02d}" for i in range(48)]


class Fleet:
    """Every host reporting every INTERVAL in the background, at one CPU level for all."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.cpu = 20.0
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            await asyncio.gather(*(self.bus.sample(h, self.cpu) for h in HOSTS))
            await asyncio.sleep(INTERVAL)

    async def __aenter__(self) -> Fleet:
        self.task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def stats(bus: Bus, replicas: int) -> list[dict[str, Any]]:
    try:
        return await bus.stats(replicas)
    except (TimeoutError, nats.errors.Error):
        return []


def fair_split(all_stats: list[dict[str, Any]], replicas: int) -> bool:
    owned = [set(s["partitions"]) for s in all_stats]
    share = -(-PARTITIONS // replicas)
    return (
        len(owned) == replicas
        and sum(len(o) for o in owned) == PARTITIONS
        and set().union(*owned) == set(range(PARTITIONS))
        and all(0 < len(o) <= share for o in owned)
    )


async def test_replicas_rebalance_and_take_over_a_killed_one(
    bus: Bus, processes: Processes, service_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "vitals.toml").write_text(CONFIG)
    argv = processes_argv()
    assert {partition_of(h) for h in HOSTS} == set(range(PARTITIONS))
    first = processes.start("alerter-a", argv, service_env)
    processes.start("alerter-b", argv, service_env | {"VITALS_ALERTER_PARTITIONS": "2"})

    async def split(n: int) -> bool:
        return fair_split(await stats(bus, n), n)

    await eventually(lambda: split(2), timeout=30, interval=0.3)
    assert "deprecated and ignored" in processes.log("alerter-b")

    async with Fleet(bus) as fleet:
        await asyncio.sleep(1.0)
        fleet.cpu = 95.0
        await eventually(
            lambda: {e["host"] for e in bus.events(rule="cpu_high", kind="firing")} == set(HOSTS),
            timeout=20,
        )
        # A third replica: the two hand partitions over to it while every alert fires.
        processes.start("alerter-c", argv, service_env)
        await eventually(lambda: split(3), timeout=30, interval=0.3)

        victim = next(s for s in await bus.stats(3) if s["replica"] in processes.log("alerter-a"))
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        killed = time.monotonic()
        await eventually(lambda: split(2), timeout=8 * LEASE, interval=0.1)
        print(f"partitions {victim['partitions']} owned again {time.monotonic() - killed:.1f}s "
              f"after the kill (lease {LEASE}s)")  # fmt: skip

        fleet.cpu = 20.0
        await eventually(
            lambda: {e["host"] for e in bus.events(rule="cpu_high", kind="resolved")} == set(HOSTS),
            timeout=20,
        )
        await asyncio.sleep(1.0)

    stored = await bus.stored_alerts()
    per_host = Counter((e["host"], e["rule"], e["event"]) for e in stored)
    assert {h: per_host[(h, "cpu_high", "firing")] for h in HOSTS} == dict.fromkeys(HOSTS, 1)
    assert {h: per_host[(h, "cpu_high", "resolved")] for h in HOSTS} == dict.fromkeys(HOSTS, 1)
    # The hosts kept reporting through every handover: none looked down.
    assert not [e for e in stored if e["rule"] == "host_down"]
    victims = {h for h in HOSTS if partition_of(h) in set(victim["partitions"])}
    assert victims
    assert {e["host"] for e in stored if e["event"] == "resolved"} >= victims
