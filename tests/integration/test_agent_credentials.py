"""Per-host credentials: an agent logs in as its host and may publish only that host's subjects.

The server runs with the permissions of deploy/nats/accounts.example.conf (tests/nats_auth.py).
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
from tests.nats_auth import (
    SERVICES_PASSWORD,
    SERVICES_USER,
    DocumentedNats,
    agent_password,
    agent_user,
)
from vitals_core import bus, subjects


@pytest.fixture
def seed_file(tmp_path: Path) -> Path:
    path = tmp_path / "nkey-host.seed"
    path.write_bytes(nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER))
    path.chmod(0o600)
    return path


@pytest.fixture
def secured(tmp_path: Path, seed_file: Path) -> Iterator[DocumentedNats]:
    public = nkeys.from_seed(seed_file.read_bytes()).public_key.decode()
    server = DocumentedNats(tmp_path / "nats", ["pw-host"], {"nkey-host": public})
    server.start()
    yield server
    server.stop()


async def stored_hosts(url: str) -> set[str]:
    nc = await nats.connect(url, user=SERVICES_USER, password=SERVICES_PASSWORD)
    js = nc.jetstream()
    try:
        info = await js.stream_info(subjects.STREAM_TELEMETRY, subjects_filter=">")
        return {subjects.host_of(s) for s in (info.state.subjects or {})}
    finally:
        await nc.close()


async def test_agents_publish_with_their_own_credentials_only(
    secured: DocumentedNats, seed_file: Path, service_env: dict[str, str], processes: Processes
) -> None:
    nc = await nats.connect(secured.url, user=SERVICES_USER, password=SERVICES_PASSWORD)
    await bus.ensure_streams(nc.jetstream())
    await nc.close()
    base = service_env | {"VITALS_NATS_URL": secured.url, "VITALS_AGENT_INTERVAL": "1"}
    agents = [
        processes.service("agent", base | {
            "VITALS_AGENT_HOST": "pw-host",
            "VITALS_NATS_USER": agent_user("pw-host"),
            "VITALS_NATS_PASSWORD": agent_password("pw-host"),
        }),
        processes.service("agent", base | {
            "VITALS_AGENT_HOST": "nkey-host",
            "VITALS_NATS_NKEY_SEED_FILE": str(seed_file),
        }),
        # Valid credentials, but claiming another host's name.
        processes.service("agent", base | {
            "VITALS_AGENT_HOST": "impostor",
            "VITALS_NATS_USER": agent_user("pw-host"),
            "VITALS_NATS_PASSWORD": agent_password("pw-host"),
        }),
        # A wrong password never gets in, and the agent keeps trying without crashing.
        processes.service("agent", base | {
            "VITALS_AGENT_HOST": "wrong-pw",
            "VITALS_NATS_USER": agent_user("pw-host"),
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
    assert agent_password("pw-host") not in log
    assert "not-the-password" not in log
