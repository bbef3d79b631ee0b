"""A backlog replays with many messages in flight, over a 50 ms path, once each and in order.

The publisher sends the outbox through `LatencyProxy` (50 ms each way, so 100 ms a round
trip) to a real nats-server. With one message in flight, 1,020 events would take 102 s.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

import msgspec
import nats
from nats.js.api import StreamConfig

from tests.helpers import eventually
from tests.latency_proxy import LatencyProxy
from vitals_agent.outbox import Outbox
from vitals_agent.publisher import Publisher
from vitals_core import subjects
from vitals_core.settings import NatsSettings

HOST = "far-host"
DELAY_S = 0.05
SAMPLES = 900  # 15 minutes at 1 s
CHECKS = ("api", "db")  # every 15 s each: 60 results apiece
PAD = "x" * 2400  # about the size of a sample with the top 10 processes


def backlog() -> Outbox:
    box = Outbox({"metrics": SAMPLES, "health": 2 * SAMPLES // 15, "info": 4})
    for n in range(1, SAMPLES + 1):
        data = msgspec.json.encode({"n": n, "pad": PAD})
        box.put("metrics", subjects.metrics(HOST), data, f"{HOST}.run.m.{n}")
        if n % 15 == 0:
            for check in CHECKS:
                subject = subjects.health(HOST, check)
                box.put("health", subject, msgspec.json.encode({"n": n}), f"{HOST}.run.{check}.{n}")
    return box


async def stored_by_subject(url: str) -> dict[str, list[int]]:
    """What the telemetry stream holds, per subject, in stored order."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    out: dict[str, list[int]] = defaultdict(list)
    try:
        info = await js.stream_info(subjects.STREAM_TELEMETRY)
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(subjects.STREAM_TELEMETRY, seq)
            out[msg.subject or ""].append(msgspec.json.decode(msg.data or b"{}")["n"])
    finally:
        await nc.close()
    return out


async def replay(url: str, box: Outbox) -> float:
    """Run a publisher until the outbox is empty; the seconds it took."""
    publisher = Publisher(box, NatsSettings(url=url), "replay-test", HOST)
    stop = asyncio.Event()
    started = time.monotonic()
    running = asyncio.create_task(publisher.run(stop))
    total = len(box)
    # Far below one round trip per event (the 1/RTT regime: `total` x 0.1 s).
    await eventually(lambda: len(box) == 0, timeout=total * 2 * DELAY_S / 4, interval=0.05)
    elapsed = time.monotonic() - started
    stop.set()
    await running
    assert publisher.sent + publisher.refused == total
    assert publisher.refused == 0
    return elapsed


async def test_a_15_minute_backlog_replays_over_a_50ms_path_once_and_in_order(
    nats_streams: str,
) -> None:
    host, port = nats_streams.rsplit("//", 1)[1].rsplit(":", 1)
    proxy = await LatencyProxy(host, int(port), DELAY_S).start()
    box = backlog()
    total = len(box)
    try:
        elapsed = await replay(proxy.url, box)
    finally:
        await proxy.close()
    print(f"\nreplayed {total} events over a {2 * DELAY_S * 1000:.0f} ms round trip in "
          f"{elapsed:.2f}s: {total / elapsed:.0f} events/s")  # fmt: skip
    stored = await stored_by_subject(nats_streams)
    assert stored[subjects.metrics(HOST)] == list(range(1, SAMPLES + 1))
    for check in CHECKS:
        assert stored[subjects.health(HOST, check)] == list(range(15, SAMPLES + 1, 15))


async def test_a_connection_cut_mid_window_loses_and_repeats_nothing(nats_streams: str) -> None:
    host, port = nats_streams.rsplit("//", 1)[1].rsplit(":", 1)
    proxy = await LatencyProxy(host, int(port), DELAY_S).start()
    box = backlog()
    publisher = Publisher(box, NatsSettings(url=proxy.url), "replay-test", HOST)
    stop = asyncio.Event()
    running = asyncio.create_task(publisher.run(stop))
    try:
        # Cut twice while windows are in flight; the publisher reconnects and resends.
        for mark in (300, 600):

            def reached(m: int = mark) -> bool:
                return publisher.sent >= m

            await eventually(reached, timeout=20, interval=0.005)
            proxy.cut()
        await eventually(lambda: len(box) == 0, timeout=60, interval=0.05)
    finally:
        stop.set()
        await running
        await proxy.close()
    assert publisher.connects >= 3
    stored = await stored_by_subject(nats_streams)
    assert stored[subjects.metrics(HOST)] == list(range(1, SAMPLES + 1))
    for check in CHECKS:
        assert stored[subjects.health(HOST, check)] == list(range(15, SAMPLES + 1, 15))


async def test_an_event_the_stream_refuses_is_dropped_and_the_rest_go_on(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    # The telemetry stream, but taking no message over 1,000 bytes.
    await js.add_stream(StreamConfig(name=subjects.STREAM_TELEMETRY,
                                     subjects=subjects.STREAM_TELEMETRY_SUBJECTS,
                                     max_msg_size=1000))  # fmt: skip
    await nc.close()
    box = Outbox({"metrics": 10})
    for n in range(1, 6):
        data = msgspec.json.encode({"n": n, "pad": PAD if n == 2 else ""})
        box.put("metrics", subjects.metrics(HOST), data, f"{HOST}.refused.m.{n}")
    publisher = Publisher(box, NatsSettings(url=nats_url), "replay-test", HOST)
    stop = asyncio.Event()
    running = asyncio.create_task(publisher.run(stop))
    try:
        await eventually(lambda: len(box) == 0, timeout=20, interval=0.05)
    finally:
        stop.set()
        await running
    assert (publisher.sent, publisher.refused) == (4, 1)
    assert (await stored_by_subject(nats_url))[subjects.metrics(HOST)] == [1, 3, 4, 5]
