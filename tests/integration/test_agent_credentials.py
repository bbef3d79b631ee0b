"""Per-host credentials: an agent logs in as its host and may publish only that host's subjects.

The server's permissions follow deploy/nats/accounts.example.conf.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import nats
import nkeys  # type: ignore[import-untyped]
import pytest

from tests.helpers import Processes, eventually
from vitals_core import bus, subjects
from vitals_servers import NatsServer, free_port
from vitals_servers.embedded import nats_binary

SERVICES_PASSWORD = "services-secret"
AGENT_PASSWORD = "agent-secret"


def agent_permissions(host: str) -> str:
    return (
        f'permissions: {{ publish: ["vitals.metrics.{host}", "vitals.info.{host}", '
        f'"vitals.app.{host}.>", "vitals.health.{host}.>", "$JS.API.STREAM.INFO.>"], '
        f'subscribe: ["_INBOX.>"] }}'
    )


class SecuredNats(NatsServer):
    def __init__(self, data_dir: Path, config: Path) -> None:
        super().__init__(data_dir, port=free_port())
        self.config = config

    def command(self) -> list[str]:
        return [nats_binary(), "-c", str(self.config), "-a", self.host, "-p", str(self.port)]


@pytest.fixture
def seed_file(tmp_path: Path) -> Path:
    path = tmp_path / "nkey-host.seed"
    path.write_bytes(nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER))
    path.chmod(0o600)
    return path


@pytest.fixture
def secured(tmp_path: Path, seed_file: Path) -> Iterator[SecuredNats]:
    public = nkeys.from_seed(seed_file.read_bytes()).public_key.decode()
    config = tmp_path / "nats.conf"
    config.write_text(f"""
jetstream {{ store_dir: "{tmp_path / "js"}" }}
authorization {{
  users = [
    {{ user: "agent-pw-host", password: "{AGENT_PASSWORD}", {agent_permissions("pw-host")} }}
    {{ nkey: "{public}", {agent_permissions("nkey-host")} }}
    {{ user: "vitals-services", password: "{SERVICES_PASSWORD}",
       permissions: {{ publish: [">"], subscribe: [">"] }} }}
  ]
}}
""")
    server = SecuredNats(tmp_path / "nats", config)
    server.start()
    yield server
    server.stop()


async def stored_hosts(url: str) -> set[str]:
    nc = await nats.connect(url, user="vitals-services", password=SERVICES_PASSWORD)
    js = nc.jetstream()
    try:
        info = await js.stream_info(subjects.STREAM_TELEMETRY, subjects_filter=">")
        return {subjects.host_of(s) for s in (info.state.subjects or {})}
    finally:
        await nc.close()


async def test_agents_publish_with_their_own_credentials_only(
    secured: SecuredNats, seed_file: Path, service_env: dict[str, str], processes: Processes
) -> None:
    nc = await nats.connect(secured.url, user="vitals-services", password=SERVICES_PASSWORD)
    await bus.ensure_streams(nc.jetstream())
    await nc.close()
    base = service_env | {"VITALS_NATS_URL": secured.url, "VITALS_AGENT_INTERVAL": "1"}
    agents = [
        processes.service("agent", base | {
            "VITALS_AGENT_HOST": "pw-host",
            "VITALS_NATS_USER": "agent-pw-host",
            "VITALS_NATS_PASSWORD": AGENT_PASSWORD,
        }),
        processes.service("agent", base | {
            "VITALS_AGENT_HOST": "nkey-host",
            "VITALS_NATS_NKEY_SEED_FILE": str(seed_file),
        }),
        # Valid credentials, but claiming another host's name.
        processes.service("agent", base | {
            "VITALS_AGENT_HOST": "impostor",
            "VITALS_NATS_USER": "agent-pw-host",
            "VITALS_NATS_PASSWORD": AGENT_PASSWORD,
        }),
        # A wrong password never gets in, and the agent keeps trying without crashing.
        processes.service("agent", base | {
            "VITALS_AGENT_HOST": "wrong-pw",
            "VITALS_NATS_USER": "agent-pw-host",
            "VITALS_NATS_PASSWORD": "not-the-password",
        }),
    ]  # fmt: skip

    async def both_stored() -> bool:
        for agent in agents:
            assert agent.poll() is None, processes.log("agent")
        return {"pw-host", "nkey-host"} <= await stored_hosts(secured.url)

    await eventually(both_stored, timeout=30, interval=0.5)
    await asyncio.sleep(2)  # the impostor's samples would have been stored by now
    assert await stored_hosts(secured.url) == {"pw-host", "nkey-host"}
    log = processes.log("agent")
    assert 'permissions violation for publish to "vitals.info.impostor"' in log.lower()
    assert "authorization violation" in log.lower()
    assert AGENT_PASSWORD not in log
    assert "not-the-password" not in log
