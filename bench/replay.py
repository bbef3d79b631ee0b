"""Replay throughput: how fast the agent's publisher empties a 15-minute backlog.

900 samples of a realistic size and 120 check results go through the agent's own
`Publisher` (the window of `agent.publish_window`) to a real nats-server, directly and
through a proxy that delays each direction by half the round trip.
"""

from __future__ import annotations

import asyncio
import os
import time

import msgspec
import nats

from tests.latency_proxy import LatencyProxy
from vitals_agent.outbox import Outbox
from vitals_agent.publisher import DEFAULT_WINDOW, Publisher
from vitals_core import bus, subjects
from vitals_core.settings import NatsSettings

HOST = "bench-replay"
SAMPLES = 900
CHECKS = ("api", "db")
PAD = "x" * 2400


def backlog(run: str) -> Outbox:
    box = Outbox({"metrics": SAMPLES, "health": 2 * SAMPLES // 15})
    for n in range(1, SAMPLES + 1):
        data = msgspec.json.encode({"n": n, "pad": PAD})
        box.put("metrics", subjects.metrics(HOST), data, f"{HOST}.{run}.m.{n}")
        if n % 15 == 0:
            for check in CHECKS:
                box.put("health", subjects.health(HOST, check), b'{"ok":true}',
                        f"{HOST}.{run}.{check}.{n}")  # fmt: skip
    return box


async def _replay(url: str, rtt_s: float, window: int) -> float:
    nc = await nats.connect(url)
    await bus.ensure_streams(nc.jetstream())
    await nc.close()
    target = url
    proxy = None
    if rtt_s > 0:
        host, port = url.rsplit("//", 1)[1].rsplit(":", 1)
        proxy = await LatencyProxy(host, int(port), rtt_s / 2).start()
        target = proxy.url
    box = backlog(os.urandom(4).hex())
    total = len(box)
    publisher = Publisher(box, NatsSettings(url=target), "bench-replay", HOST, window)
    stop = asyncio.Event()
    started = time.monotonic()
    running = asyncio.create_task(publisher.run(stop))
    while len(box):  # noqa: ASYNC110 - the outbox has no event to wait on; 5 ms polls are cheap
        await asyncio.sleep(0.005)
    elapsed = time.monotonic() - started
    stop.set()
    await running
    if proxy is not None:
        await proxy.close()
    return total / elapsed


def replay_rates(url: str, window: int = DEFAULT_WINDOW) -> dict[str, float]:
    """Events per second (connecting included) at a 0 and a 50 ms round trip."""
    return {f"{int(rtt * 1000)}ms": round(asyncio.run(_replay(url, rtt, window)))
            for rtt in (0.0, 0.05)}  # fmt: skip
