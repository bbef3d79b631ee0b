"""Stopped while NATS is down (Ctrl-C under `vitals up` during an outage), a service exits
cleanly: exit code 0, no traceback."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.helpers import Processes, eventually
from vitals_servers import NatsServer, free_port

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("service", ["alerter", "notifier", "gateway"])
async def test_a_service_stopped_while_nats_is_down_exits_cleanly(
    service: str, tmp_path: Path, processes: Processes, redis_url: str
) -> None:
    nats = NatsServer(tmp_path / "nats", port=free_port()).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITALS_")}
    env.update(
        VITALS_NATS_URL=nats.url,
        VITALS_REDIS_URL=redis_url,
        VITALS_DATA_DIR=str(tmp_path / "data"),
        VITALS_HTTP_PORT=str(free_port()),
        VITALS_ADMIN_PASSWORD="stop-test-password",
        PYTHONUNBUFFERED="1",
    )
    proc = processes.service(service, env)
    # Running: connected, and past its start-up (its streams exist, its consumers read).
    await eventually(lambda: "reconnected" in processes.log(service) or _ready(processes, service),
                     timeout=30, interval=0.2)  # fmt: skip
    nats.stop()
    await eventually(lambda: "disconnected from NATS" in processes.log(service), timeout=10)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0, processes.log(service)
    assert "Traceback" not in processes.log(service)


def _ready(processes: Processes, service: str) -> bool:
    log = processes.log(service)
    return {
        "alerter": "alerter vitals-alerter-",
        "notifier": "notifier ready",
        "gateway": "Uvicorn running",
    }[service] in log
