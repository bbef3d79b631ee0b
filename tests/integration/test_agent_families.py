"""A real agent process over real NATS: every family arrives, and no secret does."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Awaitable, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.msg import Msg
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from tests.helpers import Processes, eventually
from vitals_core import events, subjects
from vitals_core.events import AppMetrics, CheckResult, HostInfo, MetricSample
from vitals_servers import free_port

HOST = "families-host"
SECRET = "hunter2"
# Holds 64 MB so it has a resident size worth listing, then waits.
HOLDER = (
    "import time; block = bytearray(64 << 20); block[::4096] = b'x' * (64 << 8); time.sleep(120)"
)


@pytest.fixture
def metrics_page() -> Iterator[str]:
    """A real Prometheus exposition page, served by prometheus_client."""
    registry = CollectorRegistry()
    jobs = Counter("jobs", "Jobs by outcome.", ["status"], registry=registry)
    queue = Gauge("queue_depth", "Jobs waiting.", registry=registry)
    latency = Histogram("request_seconds", "Latency.", registry=registry)
    jobs.labels("done").inc(40)
    jobs.labels("failed").inc(2)
    queue.set(17)
    for value in (0.01, 0.02, 0.2, 0.4):
        latency.observe(value)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    yield f"http://127.0.0.1:{server.server_port}/metrics"
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def secret_holders() -> Iterator[list[int]]:
    """Processes whose command lines carry a password, in both spellings."""
    procs = [
        subprocess.Popen([sys.executable, "-c", HOLDER, f"--password={SECRET}"]),
        subprocess.Popen([sys.executable, "-c", HOLDER, "--password", SECRET, f"token={SECRET}"]),
    ]
    yield [p.pid for p in procs]
    for p in procs:
        p.kill()
        p.wait()


@pytest.mark.usefixtures("nats_streams")
async def test_every_family_arrives_and_no_secret_does(
    nats_url: str,
    service_env: dict[str, str],
    processes: Processes,
    metrics_page: str,
    secret_holders: list[int],
    tmp_path: Path,
) -> None:
    nats_port = nats_url.rsplit(":", 1)[1]
    (tmp_path / "vitals.toml").write_text(f"""
[agent]
labels = {{ role = "gpu-worker", environment = "test" }}

[[agent.checks]]
name = "bus"
kind = "tcp"
target = "127.0.0.1:{nats_port}"
interval = 1
timeout = 1

[[agent.checks]]
name = "page"
kind = "http"
target = "{metrics_page}"
expect_text = "queue_depth"
interval = 1
timeout = 1

[[agent.scrape]]
app = "shop"
url = "{metrics_page}"
interval = 1
timeout = 1

[agent.scrape.series]
'jobs_total{{status="done"}}' = "jobs_completed"
'jobs_total{{status="failed"}}' = "jobs_failed"
queue_depth = "queue_size"
request_seconds = "response_ms"

[[agent.scrape]]
app = "gone"
url = "http://127.0.0.1:{free_port()}/metrics"
interval = 1
timeout = 1
series = {{ up = "up" }}
""")
    received: list[Msg] = []
    nc = await nats.connect(nats_url)

    async def keep(msg: Msg) -> None:
        received.append(msg)

    await nc.subscribe("vitals.>", cb=keep)
    env = service_env | {
        "VITALS_AGENT_HOST": HOST,
        "VITALS_AGENT_INTERVAL": "1",
        "VITALS_AGENT_TOP_N": "1000",  # every process, so the secret holders are surely listed
    }
    agent = processes.service("agent", env)

    def of(kind: type[events.Event]) -> list[events.Event]:
        return [e for e in (events.decode(m.data) for m in received) if isinstance(e, kind)]

    def everything_arrived() -> bool:
        assert agent.poll() is None, processes.log("agent")
        samples = of(MetricSample)
        checks = {e.check for e in of(CheckResult) if isinstance(e, CheckResult)}
        return (
            len(samples) >= 3
            and bool(of(HostInfo))
            and checks == {"bus", "page"}
            and len(of(AppMetrics)) >= 2
        )

    try:
        await eventually(everything_arrived, timeout=30, interval=0.25)
    finally:
        await nc.close()

    # No message anywhere on the bus carries the secret.
    for msg in received:
        assert SECRET.encode() not in msg.data, msg.subject

    (info,) = {e.host: e for e in of(HostInfo)}.values()
    assert isinstance(info, HostInfo)
    assert info.labels == {"role": "gpu-worker", "environment": "test"}
    assert info.cpu_count > 0
    assert info.kernel
    assert info.boot_time > 0

    sample = of(MetricSample)[-1]
    assert isinstance(sample, MetricSample)
    assert sample.host == HOST
    assert [s.seq for s in of(MetricSample) if isinstance(s, MetricSample)][:3] == [1, 2, 3]
    assert sample.cpu.count == len(sample.cpu.cores) > 0
    assert sample.cpu.load1 is not None
    assert sample.cpu.ctx_switches_per_s is not None
    assert sample.memory.total > sample.memory.used > 0
    assert sample.swap is not None
    assert any(d.mount == "/" for d in sample.disks)
    assert sample.disk_io, "no disk IO rates"
    assert sample.net, "no network interfaces"
    assert "established" in sample.connections
    assert sample.uptime_s is not None
    assert sample.uptime_s > 0
    assert sample.agent is not None
    assert sample.agent.cycle_ms > 0
    assert sample.agent.rss > 0
    assert sample.dropped == 0
    assert sample.agent.errors > 0  # the scrape of a page that is not there, counted
    procs = sample.processes
    assert procs is not None
    assert procs.total > 0
    assert procs.by_state
    listed = {p.pid: p for p in procs.top_memory}
    for pid in secret_holders:
        assert pid in listed, f"secret holder {pid} not among {len(listed)} listed processes"
        assert "--password" in listed[pid].cmdline
        assert "***" in listed[pid].cmdline
    # This host has no NVIDIA GPU and no sensors: both families are present and empty.
    assert sample.gpus == []
    assert isinstance(sample.temperatures, list)

    results = [e for e in of(CheckResult) if isinstance(e, CheckResult)]
    assert all(r.ok for r in results), [r.reason for r in results if not r.ok]
    assert {r.check_kind for r in results} == {"tcp", "http"}
    page = next(r for r in results if r.check == "page")
    assert page.status_code == 200
    assert page.latency_ms > 0

    scraped = [e for e in of(AppMetrics) if isinstance(e, AppMetrics)]
    assert all(a.host == HOST and a.app == "shop" for a in scraped)
    assert scraped[-1].queue_size == 17.0
    assert scraped[0].jobs_completed == 0  # the first scrape only learns the counters

    # JetStream stored them too (subscribers may see a message a moment before it is stored,
    # and a resend twice: it is stored once, by its message id).
    sent = {m.headers.get("Nats-Msg-Id") if m.headers else m.data for m in received}

    async def stored() -> int:
        nc = await nats.connect(nats_url)
        try:
            info = await nc.jetstream().stream_info(subjects.STREAM_TELEMETRY)
            return info.state.messages
        finally:
            await nc.close()

    await eventually(lambda: _at_least(stored(), len(sent)), timeout=10)


async def _at_least(count: Awaitable[int], wanted: int) -> bool:
    return await count >= wanted
