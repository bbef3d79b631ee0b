"""`vitals up` restarts a dead embedded server on the same port, and the services carry on."""

from __future__ import annotations

import re
import signal
import time
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.e2e.test_vitals_up import PASSWORD, descendants, start_up
from tests.helpers import eventually, token, wait_http
from vitals_servers import free_port

# What the services say when a server is gone; the count must stay small, not one per retry.
CONNECTION_NOISE = re.compile(
    r"Connect call failed|Connection refused|Connection reset|cannot reach"
)


def server_process(proc: Any, name: str) -> psutil.Process | None:
    for child in descendants(proc):
        try:
            if name in child.name() and child.status() != psutil.STATUS_ZOMBIE:
                return child
        except psutil.NoSuchProcess:
            continue
    return None


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_a_killed_embedded_server_is_restarted_and_the_services_recover(
    tmp_path: Path,
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # Answers cached for a second only, so a fresh sample shows at once.
    proc = start_up(tmp_path, port, CACHE_METRICS_TIMEOUT="1")
    try:
        await wait_http(f"{base}/healthz", timeout=30)
        headers = {"Authorization": f"Bearer {await token(base, 'admin', PASSWORD)}"}

        async def sample_after(t: float) -> bool:
            async with httpx.AsyncClient(base_url=base, headers=headers) as client:
                r = await client.get("/admin/system/metrics")
                hosts = r.json()["hosts"] if r.status_code == 200 else {}
                return any(s["ts"] > t for s in hosts.values())

        await eventually(partial(sample_after, 0), timeout=15)
        for name in ("nats-server", "valkey"):
            old = server_process(proc, name)
            assert old is not None, [c.name() for c in descendants(proc)]
            listening = {c.laddr.port for c in old.net_connections("tcp") if c.status == "LISTEN"}
            data_dir = old.cwd()
            old.send_signal(signal.SIGKILL)
            killed = time.time()

            def replaced(old: psutil.Process = old, name: str = name) -> psutil.Process | None:
                new = server_process(proc, name)
                return new if new is not None and new.pid != old.pid else None

            new: Any = await eventually(replaced, timeout=10, interval=0.2)
            assert new.cwd() == data_dir

            async def healthy() -> bool:
                async with httpx.AsyncClient() as client:
                    return (await client.get(f"{base}/healthz")).status_code == 200

            await eventually(healthy, timeout=10, interval=0.2)

            # Same port (the services were given its URL) and the same data directory.
            def same_port(new: psutil.Process = new, listening: set[int] = listening) -> bool:
                ports = {c.laddr.port for c in new.net_connections("tcp") if c.status == "LISTEN"}
                return listening <= ports

            await eventually(same_port, timeout=5)
            await eventually(partial(sample_after, killed + 1), timeout=20)
        log = (tmp_path / "up.log").read_text()
        for name in ("nats", "redis"):
            assert len(re.findall(rf"embedded {name} exited .*restarting", log, re.I)) == 1, log
            assert len(re.findall(rf"embedded {name} is back", log, re.I)) == 1, log
        noise = [line for line in log.splitlines() if CONNECTION_NOISE.search(line)]
        # Four services, two outages: a first line each, and no line per retry.
        assert len(noise) <= 16, "\n".join(noise)
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
