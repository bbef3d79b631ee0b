"""Real servers for the tests: containers where a Docker engine answers, else the binaries.

Each server is started once per test session on a free port.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from vitals_servers import NatsServer, RedisServer


class Server(Protocol):
    @property
    def url(self) -> str: ...


def docker_available() -> bool:
    if os.environ.get("VITALS_TEST_NO_DOCKER"):
        return False
    sock = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if sock.startswith("unix://") and not Path(sock[7:]).exists():
        return False
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
    except Exception:
        return False
    return True


class _ContainerServer:
    def __init__(self, url: str) -> None:
        self._url = url

    @property
    def url(self) -> str:
        return self._url


@contextlib.contextmanager
def nats_server(data_dir: Path) -> Iterator[Server]:
    if docker_available():
        from testcontainers.core.container import DockerContainer
        from testcontainers.core.waiting_utils import wait_for_logs

        with DockerContainer("nats:2.10").with_command("-js").with_exposed_ports(4222) as c:
            wait_for_logs(c, "Server is ready")
            yield _ContainerServer(f"nats://{c.get_container_host_ip()}:{c.get_exposed_port(4222)}")
        return
    with NatsServer(data_dir) as server:
        yield server


@contextlib.contextmanager
def redis_server(data_dir: Path) -> Iterator[Server]:
    if docker_available():
        from testcontainers.redis import RedisContainer

        with RedisContainer("valkey/valkey:8") as c:
            yield _ContainerServer(
                f"redis://{c.get_container_host_ip()}:{c.get_exposed_port(6379)}"
            )
        return
    with RedisServer(data_dir) as server:
        yield server
