"""The bus goes away for 20 s: every sample of the gap arrives once, with its own timestamp."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.js.errors import NotFoundError

from tests.helpers import Processes, eventually
from vitals_core import bus, events, subjects
from vitals_core.events import MetricSample
from vitals_servers import NatsServer, free_port

HOST = "outage-host"
OUTAGE_S = 20.0

pytestmark = pytest.mark.slow


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[NatsServer]:
    """A server of this test's own, on a fixed port so it can come back where it was."""
    server = NatsServer(tmp_path / "nats", port=free_port())
    server.start()
    yield server
    server.stop()


async def stored_samples(url: str) -> list[MetricSample]:
    nc = await nats.connect(url)
    js = nc.jetstream()
    try:
        info = await js.stream_info(subjects.STREAM_TELEMETRY)
        out = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                msg = await js.get_msg(subjects.STREAM_TELEMETRY, seq)
            except NotFoundError:
                continue
            if msg.subject == subjects.metrics(HOST) and msg.data:
                event = events.decode(msg.data)
                assert isinstance(event, MetricSample)
                out.append(event)
        return out
    finally:
        await nc.close()


async def agent_storing(
    server: NatsServer, env: dict[str, str], processes: Processes, samples: int
) -> subprocess.Popen[bytes]:
    """Create the streams (the services' job), start the agent, wait for stored samples."""
    nc = await nats.connect(server.url)
    await bus.ensure_streams(nc.jetstream())
    await nc.close()
    agent = processes.service("agent", env)

    async def some_stored() -> bool:
        assert agent.poll() is None, processes.log("agent")
        try:
            return len(await stored_samples(server.url)) >= samples
        except Exception:
            return False  # the server is not answering yet

    await eventually(some_stored, timeout=20, interval=0.5)
    return agent


async def test_samples_of_an_outage_arrive_once_with_their_timestamps(
    own_nats: NatsServer, service_env: dict[str, str], processes: Processes
) -> None:
    env = service_env | {
        "VITALS_NATS_URL": own_nats.url,
        "VITALS_AGENT_HOST": HOST,
        "VITALS_AGENT_INTERVAL": "1",
    }
    agent = await agent_storing(own_nats, env, processes, 3)
    own_nats.stop()
    down_at = time.time()
    await asyncio.sleep(OUTAGE_S)
    up_at = time.time()
    own_nats.start()

    # Caught up: samples taken after the restart are stored behind the backlog.
    async def caught_up() -> list[MetricSample] | None:
        assert agent.poll() is None, processes.log("agent")
        samples = await stored_samples(own_nats.url)
        return samples if samples and samples[-1].ts > up_at + 2 else None

    samples = await eventually(caught_up, timeout=30, interval=0.5)
    assert isinstance(samples, list)

    seqs = [s.seq for s in samples]
    assert seqs == list(range(1, len(seqs) + 1)), "a sample is missing or stored twice"
    in_gap = [s for s in samples if down_at < s.ts < up_at]
    # One a second while the bus was away, give or take the edges.
    assert len(in_gap) >= OUTAGE_S - 3, [round(s.ts - down_at, 1) for s in samples]
    stamps = [s.ts for s in samples]
    assert stamps == sorted(stamps)
    assert all(s.dropped == 0 for s in samples)
    assert "events not yet on the bus" not in processes.log("agent")


async def test_what_the_bound_drops_is_counted_in_the_next_sample(
    own_nats: NatsServer, service_env: dict[str, str], processes: Processes
) -> None:
    env = service_env | {
        "VITALS_NATS_URL": own_nats.url,
        "VITALS_AGENT_HOST": HOST,
        "VITALS_AGENT_INTERVAL": "1",
        "VITALS_AGENT_BUFFER_SECONDS": "3",  # room for three samples
    }
    await agent_storing(own_nats, env, processes, 2)
    own_nats.stop()
    await asyncio.sleep(8)
    up_at = time.time()
    own_nats.start()

    async def caught_up() -> list[MetricSample] | None:
        samples = await stored_samples(own_nats.url)
        # A sample made once the backlog was draining reports no new drops; by then every
        # drop has been reported by one sample or another.
        return samples if samples and samples[-1].ts > up_at and samples[-1].dropped == 0 else None

    samples = await eventually(caught_up, timeout=30, interval=0.5)
    assert isinstance(samples, list)
    seqs = [s.seq for s in samples]
    missing = len(range(seqs[0], seqs[-1] + 1)) - len(seqs)
    assert missing > 0, "an 8 s outage should overflow a 3-sample buffer"
    # Every sample the bound dropped is accounted for in a later sample.
    assert sum(s.dropped for s in samples) == missing
    assert len(set(seqs)) == len(seqs)
