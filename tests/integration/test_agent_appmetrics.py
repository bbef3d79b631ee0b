"""Application metrics reach the bus: from the client library, and from the demo app."""

from __future__ import annotations

import asyncio
import sys
import threading

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from tests.helpers import Processes, eventually
from vitals_agent.appclient import AppClient
from vitals_core import events, subjects
from vitals_core.events import AppMetrics
from vitals_core.settings import NatsSettings


class Failed(Exception):
    pass


async def collect(nats_url: str, subject: str) -> tuple[list[AppMetrics], Client]:
    nc = await nats.connect(nats_url)
    got: list[AppMetrics] = []

    async def keep(msg: Msg) -> None:
        event = events.decode(msg.data)
        assert isinstance(event, AppMetrics)
        got.append(event)

    await nc.subscribe(subject, cb=keep)
    return got, nc


@pytest.mark.usefixtures("nats_streams")
async def test_client_counts_times_and_sends(nats_url: str) -> None:
    got, nc = await collect(nats_url, subjects.app("app-host", "api"))
    client = AppClient("api", host="app-host", nats=NatsSettings(url=nats_url), window=60)
    await client.start()
    for i in range(20):
        with client.request():
            await asyncio.sleep(0.001)
        if i % 10 == 9:
            with pytest.raises(Failed), client.request():
                raise Failed
    started = client.job_started()
    client.job_finished(started)
    client.job_failed(client.job_started())
    with client.job():
        pass
    client.job_started()  # still running when the window closes
    client.gauge("queue_size", 5)
    client.count("bytes_in", 1024)
    await client.close()  # sends the last window
    await eventually(lambda: got, timeout=10)
    await nc.close()
    (event,) = got
    assert (event.host, event.app) == ("app-host", "api")
    assert (event.requests, event.errors) == (22, 2)
    assert (event.jobs_completed, event.jobs_failed, event.jobs_active) == (2, 1, 1.0)
    assert event.queue_size == 5.0
    assert event.counters == {"bytes_in": 1024.0}
    assert event.response_ms is not None
    assert event.response_ms.count == 22
    assert event.response_ms.p50 >= 1.0
    assert event.error_rate == pytest.approx(3 / 25, abs=1e-4)


@pytest.mark.usefixtures("nats_streams")
async def test_client_from_a_thread_of_a_sync_app(nats_url: str) -> None:
    got, nc = await collect(nats_url, subjects.app("sync-host", "batch"))
    client = AppClient("batch", host="sync-host", nats=NatsSettings(url=nats_url), window=0.3)
    await asyncio.to_thread(client.start_in_thread)

    def work() -> None:
        for _ in range(50):
            with client.job():
                pass

    workers = [threading.Thread(target=work) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    await asyncio.to_thread(client.stop_thread)
    await eventually(lambda: sum(e.jobs_completed for e in got) == 200, timeout=10)
    await nc.close()


@pytest.mark.usefixtures("nats_streams")
async def test_demo_app_metrics_reach_the_bus(
    nats_url: str, service_env: dict[str, str], processes: Processes
) -> None:
    got, nc = await collect(nats_url, subjects.app("demo-host", "demo-transcriber"))
    env = service_env | {
        "VITALS_AGENT_HOST": "demo-host",
        "VITALS_DEMO_WINDOW": "1",
        "VITALS_DEMO_SPEED": "5",
    }
    demo = processes.start("demo", [sys.executable, "-m", "vitals.demo"], env)

    def busy_windows() -> bool:
        assert demo.poll() is None, processes.log("demo")
        return sum(e.jobs_completed for e in got) >= 5 and any(e.response_ms for e in got)

    await eventually(busy_windows, timeout=20, interval=0.2)
    await nc.close()
    assert all(e.window > 0 for e in got)
    assert "workers" in got[-1].gauges
    with_jobs = [e for e in got if e.job_ms is not None]
    assert with_jobs
    assert with_jobs[-1].job_ms is not None
    assert with_jobs[-1].job_ms.p95 > 0
