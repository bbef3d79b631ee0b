"""`vitals nats init|enroll|revoke` against a real nats-server in operator mode.

The server's config only includes the `auth.conf` that `init` wrote: enrolling and
revoking hosts never edits it by hand.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import nats.errors
import pytest
from nats.aio.client import Client

from tests.helpers import Processes, eventually
from tests.nats_auth import OperatorNats
from vitals import enroll
from vitals_core import bus, subjects


@pytest.fixture
def auth_dir(tmp_path: Path) -> Path:
    return enroll.init(tmp_path / "nats-auth").root


@pytest.fixture
def server(tmp_path: Path, auth_dir: Path) -> Iterator[OperatorNats]:
    s = OperatorNats(tmp_path / "nats", auth_dir)
    s.start()
    yield s
    s.stop()


async def connect(url: str, creds: Path, **options: object) -> Client:
    errors: list[Exception] = []

    async def on_error(exc: Exception) -> None:
        errors.append(exc)

    nc = await nats.connect(
        url, user_credentials=str(creds), error_cb=on_error, allow_reconnect=False, **options
    )
    nc.errors = errors  # type: ignore[attr-defined]
    return nc


@pytest.fixture
async def services(server: OperatorNats, auth_dir: Path) -> AsyncIterator[Client]:
    nc = await connect(server.url, auth_dir / "creds" / "services.creds")
    await bus.ensure_streams(nc.jetstream())
    yield nc
    await nc.close()


async def test_an_enrolled_host_publishes_only_its_own_subjects(
    server: OperatorNats, auth_dir: Path, services: Client
) -> None:
    creds = enroll.enroll(auth_dir, "web-1")
    agent = await connect(server.url, creds, inbox_prefix=subjects.agent_inbox("web-1").encode())
    ack = await agent.jetstream().publish(subjects.metrics("web-1"), b"{}", timeout=5)
    assert ack.stream == subjects.STREAM_TELEMETRY

    for subject in (
        subjects.metrics("web-2"),
        subjects.alerts("web-1"),
        "vitals.control.alerter.ack",
    ):
        await agent.publish(subject, b"{}")
    with pytest.raises(nats.errors.TimeoutError):
        await agent.request(f"$JS.API.STREAM.INFO.{subjects.STREAM_TELEMETRY}", b"", timeout=1)
    # The services' deliveries land on their inboxes, which the agent cannot read.
    await agent.subscribe("_INBOX.>")
    await agent.flush()
    await eventually(lambda: len(agent.errors) >= 5, timeout=5)  # type: ignore[attr-defined]
    refused = " ".join(str(e) for e in agent.errors).lower()  # type: ignore[attr-defined]
    assert 'publish to "vitals.metrics.web-2"' in refused
    assert 'publish to "vitals.alerts.web-1"' in refused
    assert 'publish to "vitals.control.alerter.ack"' in refused
    assert 'publish to "$js.api.stream.info.vitals_telemetry"' in refused
    assert 'subscription to "_inbox.>"' in refused
    info = await services.jetstream().stream_info(subjects.STREAM_TELEMETRY, subjects_filter=">")
    assert set(info.state.subjects or {}) == {subjects.metrics("web-1")}
    await agent.close()


async def test_the_agent_process_logs_in_with_its_creds_file(
    server: OperatorNats,
    auth_dir: Path,
    services: Client,
    service_env: dict[str, str],
    processes: Processes,
) -> None:
    creds = enroll.enroll(auth_dir, "creds-host")
    processes.service("agent", service_env | {
        "VITALS_NATS_URL": server.url,
        "VITALS_NATS_CREDS_FILE": str(creds),
        "VITALS_AGENT_HOST": "creds-host",
        "VITALS_AGENT_INTERVAL": "1",
    })  # fmt: skip
    js = services.jetstream()

    async def stored() -> bool:
        info = await js.stream_info(subjects.STREAM_TELEMETRY, subjects_filter=">")
        return subjects.metrics("creds-host") in (info.state.subjects or {})

    await eventually(stored, timeout=30, interval=0.5)
    assert "violation" not in processes.log("agent").lower()


async def test_revoking_a_host_closes_its_connection_and_survives_a_restart(
    tmp_path: Path, server: OperatorNats, auth_dir: Path, services: Client
) -> None:
    creds = enroll.enroll(auth_dir, "web-1")
    other = enroll.enroll(auth_dir, "web-2")
    closed = asyncio.Event()

    async def on_closed() -> None:
        closed.set()

    agent = await connect(server.url, creds, closed_cb=on_closed)
    enroll.revoke(auth_dir, "web-1")
    assert await enroll.push(auth_dir, server.url)
    await asyncio.wait_for(closed.wait(), 10)
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await connect(server.url, creds)
    assert agent.is_closed

    # The server keeps the revocation across a restart; other hosts are untouched.
    server.stop()
    again = OperatorNats(tmp_path / "nats", auth_dir, port=server.port)
    again.start()
    try:
        with pytest.raises(nats.errors.Error, match="Authorization Violation"):
            await connect(again.url, creds)
        still = await connect(again.url, other)
        await still.close()
    finally:
        again.stop()


async def test_expired_credentials_are_refused(server: OperatorNats, auth_dir: Path) -> None:
    creds = enroll.enroll(auth_dir, "short-lived", expires_in="2s")
    nc = await connect(server.url, creds)
    await nc.close()
    await asyncio.sleep(3)
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await connect(server.url, creds)


def vitals_nats(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vitals.cli", "nats", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_command_line(tmp_path: Path) -> None:
    folder = str(tmp_path / "auth")
    first = vitals_nats("--dir", folder, "init")
    assert first.returncode == 0, first.stdout + first.stderr
    assert f'include "{Path(folder).resolve() / "auth.conf"}"' in first.stdout

    again = vitals_nats("--dir", folder, "init")
    assert again.returncode == 1
    assert "already holds an operator" in again.stdout

    out = tmp_path / "h.creds"
    enrolled = vitals_nats("--dir", folder, "enroll", "db-1", "--out", str(out))
    assert enrolled.returncode == 0
    assert str(out) in enrolled.stdout
    assert "BEGIN USER NKEY SEED" in out.read_text()
    assert out.stat().st_mode & 0o077 == 0

    bad = vitals_nats("--dir", folder, "enroll", "db.1")
    assert bad.returncode == 1
    assert "host 'db.1' is not usable in a subject" in bad.stdout

    unknown = vitals_nats("--dir", folder, "revoke", "never-enrolled")
    assert unknown.returncode == 1
    assert "no credentials were issued" in unknown.stdout

    offline = vitals_nats("--dir", folder, "revoke", "db-1", "--url", "")
    assert offline.returncode == 0
    assert "nats-server --signal reload" in offline.stdout

    missing = vitals_nats("--dir", str(tmp_path / "nowhere"), "enroll", "db-2")
    assert missing.returncode == 1
    assert "run `vitals nats init" in missing.stdout
