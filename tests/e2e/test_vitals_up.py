"""`vitals up` as a user runs it: the whole system from one command, stopped with Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.helpers import eventually, token, wait_http
from vitals_servers import free_port

PASSWORD = "up-test-password"


def start_up(tmp_path: Path, port: int, **extra: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITALS_")}
    env.update(
        VITALS_HTTP_PORT=str(port),
        VITALS_ADMIN_PASSWORD=PASSWORD,
        VITALS_DATA_DIR=str(tmp_path / "data"),
        VITALS_AGENT_INTERVAL="1",
        VITALS_DEMO="0",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    log = (tmp_path / "up.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "vitals.cli", "up"], cwd=tmp_path, env=env, stdout=log, stderr=log
    )


def descendants(proc: subprocess.Popen[bytes]) -> list[psutil.Process]:
    return psutil.Process(proc.pid).children(recursive=True)


@pytest.mark.slow
async def test_up_serves_this_host_and_ctrl_c_leaves_nothing(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    for _ in range(2):
        proc = start_up(tmp_path, port)
        try:
            await wait_http(f"{base}/healthz", timeout=30)
            access = await token(base, "admin", PASSWORD)
            headers = {"Authorization": f"Bearer {access}"}

            async def fleet(headers: dict[str, str] = headers) -> dict[str, Any] | None:
                async with httpx.AsyncClient(base_url=base, headers=headers) as client:
                    hosts = (await client.get("/admin/system/metrics")).json()["hosts"]
                    return hosts or None

            hosts: Any = await eventually(fleet, timeout=10)
            sample = next(iter(hosts.values()))
            assert {"cpu", "memory", "disks", "net"} <= set(sample)
            children = descendants(proc)
            assert len(children) >= 6, [c.name() for c in children]  # 2 servers, 4 services
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(30) == 0
        leftovers = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
        assert leftovers == [], [c.cmdline() for c in leftovers]
        # The data directory is created once and reused by the second run.
        assert (tmp_path / "data" / "nats" / "jetstream").is_dir()
        assert (tmp_path / "data" / "redis" / "appendonlydir").is_dir()
    log = (tmp_path / "up.log").read_text()
    assert log.count("embedded NATS on") == 2
