"""TLS everywhere with client certificates: an agent, the gateway, NATS and Redis.

Certificates are made at test time (trustme). nats-server requires a client certificate
signed by the test authority (`--tlsverify`). The Valkey binary the tests use is built
without TLS ("Failed finding TLS support"), so Redis is reached through a TLS endpoint that
requires a client certificate too (Python's ssl, OpenSSL underneath) in front of a real
Valkey: redis-py's side of the handshake is the one under test.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
import redis.exceptions
import trustme
from redis.asyncio import Redis

from tests.helpers import Processes, eventually, token, wait_http
from vitals_core import bus
from vitals_core.settings import NatsSettings, RedisSettings
from vitals_core.tlsfiles import nats_tls, redis_tls_kwargs
from vitals_servers import NatsServer, free_port

PASSWORD = "correct horse battery staple"


class Pki:
    def __init__(self, root: Path) -> None:
        self.ca = trustme.CA()
        self.root = root
        self.ca_file = root / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self.server_cert, self.server_key = self.issue("server", "127.0.0.1", "localhost")

    def issue(self, name: str, *identities: str) -> tuple[Path, Path]:
        cert = self.ca.issue_cert(*(identities or (f"{name}.vitals.test",)))
        pem, key = self.root / f"{name}.pem", self.root / f"{name}.key"
        cert.cert_chain_pems[0].write_to_path(str(pem))
        cert.private_key_pem.write_to_path(str(key))
        return pem, key


class MutualTlsNats(NatsServer):
    """nats-server that refuses any client without a certificate from the test authority."""

    def __init__(self, data_dir: Path, pki: Pki) -> None:
        super().__init__(data_dir, port=free_port())
        self.pki = pki

    def command(self) -> list[str]:
        return [
            *super().command(), "--tlsverify", "--tlscert", str(self.pki.server_cert),
            "--tlskey", str(self.pki.server_key), "--tlscacert", str(self.pki.ca_file),
        ]  # fmt: skip


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path)


@pytest.fixture
def mtls_nats(tmp_path: Path, pki: Pki) -> Iterator[MutualTlsNats]:
    server = MutualTlsNats(tmp_path / "nats", pki)
    server.start()
    yield server
    server.stop()


@contextlib.asynccontextmanager
async def tls_endpoint(pki: Pki, target: str) -> AsyncIterator[int]:
    """A TLS listener requiring client certificates, forwarding to `target` (host:port)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    context.load_verify_locations(pki.ca_file)
    context.verify_mode = ssl.CERT_REQUIRED
    host, port = target.rsplit("//", 1)[-1].rsplit(":", 1)
    tasks: set[asyncio.Task[None]] = set()

    async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        dst.close()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        for task in (pipe(reader, up_writer), pipe(up_reader, writer)):
            t = asyncio.create_task(task)
            tasks.add(t)
            t.add_done_callback(tasks.discard)

    server = await asyncio.start_server(accept, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for t in list(tasks):
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def nats_env(pki: Pki, name: str) -> dict[str, str]:
    cert, key = pki.issue(name)
    return {
        "VITALS_NATS_TLS_CA_FILE": str(pki.ca_file),
        "VITALS_NATS_TLS_CERT_FILE": str(cert),
        "VITALS_NATS_TLS_KEY_FILE": str(key),
    }


async def test_agent_and_gateway_over_mutual_tls_to_nats_and_redis(
    mtls_nats: MutualTlsNats,
    pki: Pki,
    redis_url: str,
    service_env: dict[str, str],
    processes: Processes,
) -> None:
    # A service's own connection: client certificate from the settings, via bus.connect.
    cert, key = pki.issue("services")
    settings = NatsSettings(url=f"tls://127.0.0.1:{mtls_nats.port}", tls_ca_file=str(pki.ca_file),
                            tls_cert_file=str(cert), tls_key_file=str(key))  # fmt: skip
    nc = await bus.connect(settings, "test-service")
    await bus.ensure_streams(nc.jetstream())
    await nc.close()

    gw_cert, gw_key = pki.issue("gateway")
    port = free_port()
    async with tls_endpoint(pki, redis_url) as redis_port:
        processes.service("gateway", service_env | nats_env(pki, "gateway") | {
            "VITALS_NATS_URL": f"tls://127.0.0.1:{mtls_nats.port}",
            "VITALS_REDIS_URL": f"rediss://127.0.0.1:{redis_port}/0",
            "VITALS_REDIS_TLS_CA_FILE": str(pki.ca_file),
            "VITALS_REDIS_TLS_CERT_FILE": str(gw_cert),
            "VITALS_REDIS_TLS_KEY_FILE": str(gw_key),
            "VITALS_HTTP_PORT": str(port),
            "VITALS_ADMIN_PASSWORD": PASSWORD,
        })  # fmt: skip
        # The agent: a nats:// URL, and TLS because its files are set.
        agent = processes.service("agent", service_env | nats_env(pki, "agent") | {
            "VITALS_NATS_URL": f"nats://127.0.0.1:{mtls_nats.port}",
            "VITALS_AGENT_HOST": "mtls-host",
            "VITALS_AGENT_INTERVAL": "1",
        })  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        await wait_http(f"{base}/healthz", timeout=30)
        access = await token(base, "admin", PASSWORD)

        async def served() -> Any:
            assert agent.poll() is None, processes.log("agent")
            async with httpx.AsyncClient(base_url=base) as client:
                r = await client.get("/admin/system/metrics", params={"host": "mtls-host"},
                                     headers={"Authorization": f"Bearer {access}"})  # fmt: skip
                return r.json() if r.status_code == 200 else None

        body: Any = await eventually(served, timeout=30, interval=0.5)
        assert body["metrics"]["host"] == "mtls-host"
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{base}/healthz")).status_code == 200
    assert "certificate" not in processes.log("gateway").lower()


async def test_a_client_without_a_certificate_is_refused_and_the_agent_retries(
    mtls_nats: MutualTlsNats,
    pki: Pki,
    redis_url: str,
    service_env: dict[str, str],
    processes: Processes,
) -> None:
    agent = processes.service("agent", service_env | {
        "VITALS_NATS_URL": f"tls://127.0.0.1:{mtls_nats.port}",
        "VITALS_NATS_TLS_CA_FILE": str(pki.ca_file),  # trusts the server, has no certificate
        "VITALS_AGENT_HOST": "no-cert",
    })  # fmt: skip
    await eventually(lambda: "cannot reach NATS" in processes.log("agent"), timeout=20)
    assert agent.poll() is None, "the agent keeps running and retrying"

    only_ca = nats_tls(NatsSettings(tls_ca_file=str(pki.ca_file)))
    with pytest.raises((nats.errors.Error, OSError, TimeoutError)):
        await nats.connect(mtls_nats.url, tls=only_ca, allow_reconnect=False,
                           max_reconnect_attempts=0, connect_timeout=3)  # fmt: skip

    async with tls_endpoint(pki, redis_url) as redis_port:
        url = f"rediss://127.0.0.1:{redis_port}/0"
        no_cert = Redis.from_url(url, **redis_tls_kwargs(RedisSettings(url=url,
                                 tls_ca_file=str(pki.ca_file))))  # fmt: skip
        with pytest.raises(redis.exceptions.ConnectionError):
            await no_cert.ping()
        await no_cert.aclose()
        cert, key = pki.issue("redis-client")
        settings = RedisSettings(url=url, tls_ca_file=str(pki.ca_file), tls_cert_file=str(cert),
                                 tls_key_file=str(key))  # fmt: skip
        client = Redis.from_url(url, **redis_tls_kwargs(settings))
        assert await client.ping()
        await client.aclose()
