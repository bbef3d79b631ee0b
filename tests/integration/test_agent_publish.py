"""At a 1 s interval each sample is published once, in order, and a stop sends what is left."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter

import nats
import pytest
from nats.aio.msg import Msg

from tests.helpers import Processes, eventually
from vitals_core import events, subjects
from vitals_core.events import MetricSample

HOST = "ticking"


@pytest.mark.usefixtures("nats_streams")
async def test_each_sample_is_published_once_and_on_time(
    nats_url: str, service_env: dict[str, str], processes: Processes
) -> None:
    seen: list[tuple[str, MetricSample]] = []
    nc = await nats.connect(nats_url)

    async def keep(msg: Msg) -> None:
        event = events.decode(msg.data)
        if isinstance(event, MetricSample):
            msg_id = msg.headers.get("Nats-Msg-Id", "") if msg.headers else ""
            seen.append((msg_id, event))

    await nc.subscribe(subjects.metrics(HOST), cb=keep)
    env = service_env | {"VITALS_AGENT_HOST": HOST, "VITALS_AGENT_INTERVAL": "1"}
    agent = processes.service("agent", env)
    try:
        await eventually(lambda: len(seen) >= 8, timeout=30, interval=0.2)
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(10) == 0
        await asyncio.sleep(0.5)
    finally:
        await nc.close()
    ids = Counter(msg_id for msg_id, _ in seen)
    assert "" not in ids
    assert max(ids.values()) == 1, "a sample was sent twice"
    assert [s.seq for _, s in seen] == list(range(1, len(seen) + 1))
    assert "events not yet on the bus" not in processes.log("agent")
