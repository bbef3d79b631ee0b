"""A killed alerter neither loses nor duplicates transitions (real processes, real NATS)."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from tests.helpers import Processes, eventually, stored_alerts
from vitals_core import control, events, subjects
from vitals_core.events import Cpu, Memory, MetricSample

HOSTS = 400
CONFIG = """
[alerter]
tick_interval = 0.2
repeat_interval = 0
builtin_rules = false

[[alerter.rules]]
name = "cpu_high"
metric = "cpu.percent"
warning = 80
clear = 70
"""


def sample(host: str, cpu: float) -> bytes:
    return events.encode(
        MetricSample(
            ts=time.time(),
            host=host,
            seq=0,
            interval=1.0,
            cpu=Cpu(percent=cpu),
            memory=Memory(total=16, used=4, available=12, percent=25.0),
        )
    )


async def publish_all(nc: Client, hosts: list[str], cpu: float) -> None:
    """One sample per host, each stored by the stream before this returns."""
    js = nc.jetstream()
    for start in range(0, len(hosts), 100):
        await asyncio.gather(
            *(
                js.publish(subjects.metrics(h), sample(h, cpu), stream=subjects.STREAM_TELEMETRY)
                for h in hosts[start : start + 100]
            )
        )


async def answers(nc: Client) -> bool:
    try:
        reply = await nc.request(subjects.control(control.ALERTER, "stats"), b"{}", timeout=2)
    except (TimeoutError, nats.errors.Error):
        return False
    return control.decode_reply(reply.data).ok


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    client = await nats.connect(nats_url)
    yield client
    await client.close()


async def test_kill_9_mid_batch_loses_and_duplicates_no_transition(
    nc: Client, processes: Processes, service_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "vitals.toml").write_text(CONFIG)
    argv = [sys.executable, "-m", "vitals_alerter"]
    hosts = [f"crash-{i:03d}" for i in range(HOSTS)]
    seen: list[str] = []

    async def record(msg: Msg) -> None:
        seen.append(json.loads(msg.data)["event"])

    await nc.subscribe(subjects.ALERTS_ALL, cb=record)
    first = processes.start("alerter", argv, service_env)
    await eventually(lambda: answers(nc), timeout=30, interval=0.3)

    # Every host crosses at once; the alerter dies while it is announcing them.
    await publish_all(nc, hosts, 95.0)
    await eventually(lambda: "firing" in seen, timeout=30, interval=0.005)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    fired_before_kill = seen.count("firing")

    # They cross back while it is away; a successor takes over.
    await publish_all(nc, hosts, 20.0)
    processes.start("alerter-2", argv, service_env)

    async def all_resolved() -> bool:
        kinds = Counter(e["event"] for e in await stored_alerts(nc))
        return kinds["resolved"] >= HOSTS

    await eventually(all_resolved, timeout=60, interval=1.0)
    await asyncio.sleep(1.0)  # anything late would show now
    stored = await stored_alerts(nc)

    per_host = Counter((e["host"], e["event"]) for e in stored)
    assert fired_before_kill < HOSTS, "the kill came after the whole batch: nothing was tested"
    assert {h: per_host[(h, "firing")] for h in hosts} == dict.fromkeys(hosts, 1)
    assert {h: per_host[(h, "resolved")] for h in hosts} == dict.fromkeys(hosts, 1)
    assert len(stored) == 2 * HOSTS
    # One alert per host: the resolve closes the episode the firing opened.
    by_host: dict[str, set[str]] = {}
    for e in stored:
        by_host.setdefault(e["host"], set()).add(e["alert_id"])
    assert all(len(ids) == 1 for ids in by_host.values())
