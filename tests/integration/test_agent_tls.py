"""The agent and TLS: OpenSSL only when the configuration needs it, and tls:// when it does."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
import trustme
from nats.aio.msg import Msg

from tests.helpers import Processes, eventually
from vitals_core import bus, events, subjects
from vitals_core.events import MetricSample
from vitals_servers import NatsServer, free_port


class TlsNats(NatsServer):
    def __init__(self, data_dir: Path, cert: Path, key: Path) -> None:
        super().__init__(data_dir, port=free_port())
        self.cert, self.key = cert, key

    def command(self) -> list[str]:
        return [*super().command(), "--tls", "--tlscert", str(self.cert), "--tlskey", str(self.key)]


@pytest.fixture
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_nats(tmp_path: Path, authority: trustme.CA) -> Iterator[TlsNats]:
    cert = authority.issue_cert("127.0.0.1", "localhost")
    cert.private_key_pem.write_to_path(str(tmp_path / "server.key"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "server.pem"))
    server = TlsNats(tmp_path / "nats", tmp_path / "server.pem", tmp_path / "server.key")
    server.start()
    yield server
    server.stop()


async def create_streams(url: str, **options: Any) -> None:
    """What the services do at start; agents never create streams."""
    nc = await nats.connect(url, **options)
    await bus.ensure_streams(nc.jetstream())
    await nc.close()


def mapped_libraries(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


async def samples_from(url: str, host: str, **options: Any) -> list[MetricSample]:
    received: list[MetricSample] = []

    async def keep(msg: Msg) -> None:
        event = events.decode(msg.data)
        if isinstance(event, MetricSample):
            received.append(event)

    nc = await nats.connect(url, **options)
    await nc.subscribe(subjects.metrics(host), cb=keep)
    try:
        await eventually(lambda: len(received) >= 2, timeout=20, interval=0.2)
    finally:
        await nc.close()
    return received


@pytest.mark.usefixtures("nats_streams")
async def test_an_agent_without_tls_does_not_load_openssl(
    nats_url: str, service_env: dict[str, str], processes: Processes
) -> None:
    env = service_env | {"VITALS_AGENT_HOST": "plain", "VITALS_AGENT_INTERVAL": "1"}
    agent = processes.service("agent", env)
    samples = await samples_from(nats_url, "plain")
    assert agent.poll() is None, processes.log("agent")
    assert samples[-1].host == "plain"
    maps = mapped_libraries(agent.pid)
    assert "libpython" in maps  # the check reads the right process's maps
    assert "libssl" not in maps
    assert "_ssl" not in maps


async def test_an_agent_reaches_a_tls_server_over_tls_url(
    tls_nats: TlsNats,
    authority: trustme.CA,
    service_env: dict[str, str],
    processes: Processes,
    tmp_path: Path,
) -> None:
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    url = f"tls://127.0.0.1:{tls_nats.port}"
    env = service_env | {
        "VITALS_NATS_URL": url,
        "VITALS_AGENT_HOST": "secure",
        "VITALS_AGENT_INTERVAL": "1",
        "SSL_CERT_FILE": str(ca_file),  # OpenSSL's own variable for the trusted authorities
    }
    context = ssl.create_default_context(cafile=str(ca_file))
    await create_streams(url, tls=context)
    agent = processes.service("agent", env)
    samples = await samples_from(url, "secure", tls=context)
    assert agent.poll() is None, processes.log("agent")
    assert {s.host for s in samples} == {"secure"}
    assert "_ssl" in mapped_libraries(agent.pid)


@pytest.mark.parametrize(
    ("scheme", "logged"),
    [
        ("nats", "requires TLS: use a tls:// URL"),  # a plain URL to a TLS server
        ("tls", "certificate verify failed"),  # an authority the agent does not trust
    ],
    ids=["plain-url", "untrusted-certificate"],
)
async def test_a_tls_server_the_agent_cannot_use_is_named_and_retried(
    tls_nats: TlsNats,
    service_env: dict[str, str],
    processes: Processes,
    scheme: str,
    logged: str,
) -> None:
    env = service_env | {
        "VITALS_NATS_URL": f"{scheme}://127.0.0.1:{tls_nats.port}",
        "VITALS_AGENT_HOST": "refused",
    }
    agent = processes.service("agent", env)
    await eventually(lambda: logged in processes.log("agent"), 15)
    assert agent.poll() is None, "the agent keeps running and retrying"
