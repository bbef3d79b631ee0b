"""The image's HEALTHCHECK probes what the service in the container needs."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from vitals.healthcheck import Probe, check, probe_for, which_service
from vitals_servers import free_port


@pytest.mark.parametrize(
    ("argv", "service"),
    [
        (["/opt/vitals/venv/bin/python", "/opt/vitals/venv/bin/vitals", "gateway", ""], "gateway"),
        (["/opt/vitals/venv/bin/vitals-agent", ""], "agent"),
        (["python", "-m", "vitals_alerter"], "alerter"),
        (["sh", "-c", "sleep 1"], ""),
    ],
)
def test_which_service(argv: list[str], service: str) -> None:
    assert which_service(argv) == service


@pytest.mark.parametrize(
    ("service", "env", "probe"),
    [
        ("gateway", {"VITALS_HTTP_HOST": "0.0.0.0", "VITALS_HTTP_PORT": "9000"},
         Probe("http", "http://127.0.0.1:9000/healthz")),
        ("gateway", {}, Probe("http", "http://127.0.0.1:8000/healthz")),
        ("alerter", {"VITALS_NATS_URL": "nats://nats-1:4222,nats://nats-2:4222"},
         Probe("tcp", "nats-1:4222")),
        ("agent", {"VITALS_NATS_URL": "tls://user:pw@bus.example.com"},
         Probe("tcp", "bus.example.com:4222")),
    ],
)  # fmt: skip
def test_probe_for(service: str, env: dict[str, str], probe: Probe) -> None:
    assert probe_for(service, env) == probe


def test_a_listening_bus_is_healthy_and_a_closed_port_is_not() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert check(Probe("tcp", f"127.0.0.1:{server.getsockname()[1]}")) == ""
    closed = free_port()
    assert "NATS at" in check(Probe("tcp", f"127.0.0.1:{closed}"))
    assert "healthz" in check(Probe("http", f"http://127.0.0.1:{closed}/healthz"))


def test_the_command_exits_1_with_the_reason() -> None:
    port = free_port()
    done = subprocess.run(
        [sys.executable, "-m", "vitals.cli", "healthcheck", "notifier"],
        env={"VITALS_NATS_URL": f"nats://127.0.0.1:{port}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert f"vitals healthcheck (notifier): NATS at 127.0.0.1:{port}" in done.stderr
