"""The bus goes away while an agent buffers: one pipeline alert, no host_down (real servers)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest

from tests.helpers import Processes, eventually, stored_alerts
from vitals_core import control, subjects
from vitals_servers import NatsServer, free_port

HOST = "buffering-host"
CONFIG = """
[alerter]
tick_interval = 0.2
lease = {lease}

# The built-in host_down waits 15 s beyond its missed intervals; this test wants the
# absence logic itself, at 3 missed intervals.
[[alerter.rules]]
name = "host_down"
kind = "absence"
metric = "host"
missed = 3
"""

pytestmark = pytest.mark.slow


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[NatsServer]:
    """A server of this test's own, on a fixed port so it can come back where it was."""
    server = NatsServer(tmp_path / "nats", port=free_port())
    server.start()
    yield server
    server.stop()


async def alerter_hosts(url: str) -> list[str]:
    nc = await nats.connect(url)
    try:
        reply = await nc.request(subjects.control(control.ALERTER, "stats"), b"{}", timeout=2)
        hosts: list[str] = control.decode_reply(reply.data).data["hosts"]
        return hosts
    except (TimeoutError, nats.errors.Error):
        return []
    finally:
        await nc.close()


async def stored_alerts_at(url: str) -> list[dict[str, Any]]:
    nc = await nats.connect(url)
    try:
        return await stored_alerts(nc)
    except nats.js.errors.NotFoundError:
        return []  # no alert stream yet
    finally:
        await nc.close()


@pytest.mark.parametrize(
    ("outage_s", "lease_s"),
    [
        (20.0, 2.0),  # the alerter's leases lapse: it takes its partitions back from KV
        (8.0, 30.0),  # they outlive the outage: it keeps its alerts in memory, held
    ],
)
async def test_an_outage_of_the_bus_raises_one_pipeline_alert_and_no_host_down(
    own_nats: NatsServer,
    service_env: dict[str, str],
    processes: Processes,
    tmp_path: Path,
    outage_s: float,
    lease_s: float,
) -> None:
    (tmp_path / "vitals.toml").write_text(CONFIG.format(lease=lease_s))
    env = service_env | {
        "VITALS_NATS_URL": own_nats.url,
        "VITALS_AGENT_HOST": HOST,
        "VITALS_AGENT_INTERVAL": "1",
    }
    alerter = processes.start("alerter", [sys.executable, "-m", "vitals_alerter"], env)
    agent = processes.service("agent", env)
    await eventually(lambda: alerter_hosts(own_nats.url), timeout=30, interval=0.5)
    await asyncio.sleep(2.0)

    own_nats.stop()
    await asyncio.sleep(outage_s)
    own_nats.start()
    up_at = time.time()

    async def pipeline_resolved() -> list[dict[str, Any]]:
        assert alerter.poll() is None, processes.log("alerter")
        assert agent.poll() is None, processes.log("agent")
        return [
            e
            for e in await stored_alerts_at(own_nats.url)
            if e["rule"] == "telemetry_pipeline_down" and e["event"] == "resolved"
        ]

    with contextlib.suppress(AssertionError):  # judged below, with what the stream holds
        await eventually(pipeline_resolved, timeout=60, interval=1.0)
    # Long enough after the return for a host_down to fire (3 missed 1 s intervals).
    await asyncio.sleep(max(0.0, up_at + 10.0 - time.time()))
    stored = await stored_alerts_at(own_nats.url)
    assert not [e for e in stored if e["rule"] == "host_down"], stored
    pipeline = [e for e in stored if e["rule"] == "telemetry_pipeline_down"]
    assert [e["event"] for e in pipeline] == ["firing", "resolved"], stored
    assert pipeline[0]["severity"] == "critical"
    assert pipeline[0]["alert_id"] == pipeline[1]["alert_id"]
    assert HOST in await alerter_hosts(own_nats.url)
