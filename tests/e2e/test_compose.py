"""The compose files: valid for the compose CLI, secure by default, in the promised shapes.

There is no Docker engine here, so `docker compose config` (or Debian's docker-compose when
the Compose plugin is absent) checks the files, and the NATS configuration they mount is run
for real with nats-server: a client without a password is refused, an agent may publish
telemetry and nothing else.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import nats.errors
import pytest
import yaml  # type: ignore[import-untyped]
from nats.aio.client import Client

from tests.helpers import eventually
from vitals_servers import free_port
from vitals_servers.embedded import nats_binary

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SECRETS = {
    "VITALS_ADMIN_PASSWORD": "admin-secret",
    "VITALS_NATS_PASSWORD": "services-secret",
    "VITALS_NATS_AGENT_PASSWORD": "agent-secret",
    "NATS_SYSTEM_PASSWORD": "system-secret",
    "VITALS_REDIS_PASSWORD": "valkey-secret",
    "NATS_CLUSTER_PASSWORD": "cluster-secret",
}
SHAPES = {
    "single": ["compose.yaml"],
    "single+tls": ["compose.yaml", "compose.tls.yaml"],
    "cluster": ["compose.cluster.yaml"],
}


def compose_cli() -> list[str]:
    docker = shutil.which("docker")
    if docker:
        plugin = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30)
        if plugin.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy:
        return [legacy]
    pytest.skip("no compose CLI (scripts/system-deps.sh installs Debian's docker-compose)")


def config(files: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    args = [a for f in files for a in ("-f", str(DEPLOY / f))]
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS and k != "VITALS_IMAGE"}
    return subprocess.run(
        [*compose_cli(), "--project-directory", str(DEPLOY), *args, "config"],
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@functools.cache
def _services(files: tuple[str, ...]) -> dict[str, Any]:
    done = config(list(files), SECRETS)
    assert done.returncode == 0, done.stderr
    parsed: dict[str, Any] = yaml.safe_load(done.stdout)["services"]
    return parsed


def services(files: list[str]) -> dict[str, Any]:
    """The services as compose resolves them (once per set of files: the CLI is slow)."""
    return _services(tuple(files))


@pytest.mark.parametrize("shape", SHAPES)
def test_every_compose_file_is_valid(shape: str) -> None:
    assert services(SHAPES[shape])


@pytest.mark.parametrize("shape", SHAPES)
def test_no_secret_no_start(shape: str) -> None:
    """No default password anywhere: each missing secret stops compose with its name."""
    for missing in ("VITALS_NATS_PASSWORD", "VITALS_REDIS_PASSWORD"):
        done = config(SHAPES[shape], {k: v for k, v in SECRETS.items() if k != missing})
        assert done.returncode != 0
        assert f"set {missing} in deploy/.env" in done.stderr


@pytest.mark.parametrize("shape", SHAPES)
def test_one_image_built_once(shape: str) -> None:
    found = services(SHAPES[shape])
    ours = {name: s for name, s in found.items() if "vitals" in s.get("command", [])[:1]}
    assert len(ours) >= 3
    assert len({s["image"] for s in ours.values()}) == 1
    assert [name for name, s in ours.items() if "build" in s] in (["gateway"], ["gateway-1"])


@pytest.mark.parametrize("shape", SHAPES)
def test_services_wait_for_healthy_servers(shape: str) -> None:
    found = services(SHAPES[shape])
    servers = {n for n in found if n.startswith(("nats", "valkey"))}
    for name in servers:
        assert "healthcheck" in found[name], name
    for name, service in found.items():
        if name in servers:
            continue
        conditions = {dep: d["condition"] for dep, d in service["depends_on"].items()}
        assert any(d.startswith("nats") for d in conditions), name
        assert all(c == "service_healthy" for d, c in conditions.items() if d in servers), name


@pytest.mark.parametrize("shape", SHAPES)
def test_credentials_everywhere(shape: str) -> None:
    found = services(SHAPES[shape])
    for name, service in found.items():
        env = service.get("environment", {})
        if "VITALS_NATS_URL" in env:
            assert env["VITALS_NATS_PASSWORD"] == SECRETS["VITALS_NATS_PASSWORD"], name
            redis_url = env["VITALS_REDIS_URL"]
            password = SECRETS["VITALS_REDIS_PASSWORD"]
            assert f":{password}@" in redis_url or f"password={password}" in redis_url, name
        if name.startswith("valkey"):
            # Never on a command line, where `ps` shows it; only published ports are NATS's
            # (for agents) and the gateway's.
            assert SECRETS["VITALS_REDIS_PASSWORD"] not in " ".join(service["command"]), name
            assert "ports" not in service, name


def test_the_cluster_shape() -> None:
    found = services(SHAPES["cluster"])
    names = set(found)
    assert {"nats-1", "nats-2", "nats-3"} <= names
    assert {"valkey-primary", "valkey-replica", "valkey-sentinel"} <= names
    for service in ("gateway", "alerter", "notifier"):
        assert sorted(n for n in names if n.startswith(service)) == [f"{service}-1", f"{service}-2"]
    assert "--replicaof valkey-primary 6379" in " ".join(found["valkey-replica"]["command"])
    assert "sentinel monitor vitals valkey-primary" in " ".join(found["valkey-sentinel"]["command"])
    for name in ("gateway-1", "gateway-2", "alerter-1", "alerter-2", "notifier-1", "notifier-2"):
        env = found[name]["environment"]
        # Replicated streams and buckets; Redis through Sentinel; no static alerter partitions.
        assert env["VITALS_NATS_REPLICAS"] == "3", name
        assert env["VITALS_REDIS_URL"].startswith("redis+sentinel://vitals@valkey-sentinel:"), name
        assert not any(k.startswith("VITALS_ALERTER_PARTITION") for k in env), name


# --- the NATS configuration the compose files mount, run for real ---------------------------


@pytest.fixture
def compose_nats(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = dict(os.environ, NATS_SERVER_NAME="compose-test", **SECRETS)
    # The file as compose mounts it; only the container's paths and ports are local ones.
    conf = (DEPLOY / "compose" / "nats.conf").read_text()
    conf = conf.replace("store_dir: /data", f"store_dir: {tmp_path / 'js'}")
    monitor = free_port()
    conf = conf.replace("http: 0.0.0.0:8222", f"http: 127.0.0.1:{monitor}")
    (tmp_path / "nats.conf").write_text(conf)
    proc = subprocess.Popen(
        [nats_binary(), "-c", str(tmp_path / "nats.conf"), "-a", "127.0.0.1", "-p", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"nats://127.0.0.1:{port}"
    try:
        # Ready as compose's healthcheck has it: a client that connects earlier, while
        # JetStream is still being enabled for the account, may not get what it subscribed to.
        wait_healthy(f"http://127.0.0.1:{monitor}/healthz")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def wait_healthy(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.05)
    raise AssertionError(f"{url} did not answer 200 within {timeout:.0f}s")


async def connect(url: str, **auth: str) -> Client:
    async def keep(exc: Exception) -> None:
        pass  # read from `last_error` where a test needs it

    async def attempt() -> Client | None:
        try:
            return await nats.connect(
                url,
                allow_reconnect=False,
                max_reconnect_attempts=0,
                connect_timeout=2,
                error_cb=keep,
                **auth,
            )
        except OSError:
            return None  # not listening yet

    client: Client = await eventually(attempt, timeout=10)  # type: ignore[assignment]
    return client


async def test_nats_refuses_a_client_without_a_password(compose_nats: str) -> None:
    async def refused() -> bool:
        try:
            client = await nats.connect(
                compose_nats, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=2
            )
        except nats.errors.Error as exc:
            return "Authorization" in str(exc) or "authorization" in str(exc)
        except OSError:
            return False
        await client.close()
        raise AssertionError("a client without credentials got in")

    await eventually(refused, timeout=10)


async def test_an_agent_may_publish_telemetry_and_nothing_else(compose_nats: str) -> None:
    agent_password = SECRETS["VITALS_NATS_AGENT_PASSWORD"]
    agent = await connect(compose_nats, user="agent", password=agent_password)
    services_client = await connect(
        compose_nats, user="vitals", password=SECRETS["VITALS_NATS_PASSWORD"]
    )
    got: list[str] = []

    async def keep(msg: Any) -> None:
        got.append(msg.subject)

    await services_client.subscribe("vitals.>", cb=keep)
    await services_client.flush()
    await agent.publish("vitals.metrics.web-1", b"{}")
    await agent.publish("vitals.alerts.web-1", b"{}")  # not an agent's to send
    await agent.flush()
    await eventually(lambda: "vitals.metrics.web-1" in got, timeout=5)
    # The server answers -ERR 'Permissions Violation for Publish to "vitals.alerts.web-1"'.
    await eventually(lambda: "permissions violation" in str(agent.last_error).lower(), timeout=5)
    assert "vitals.alerts.web-1" not in got

    # No services' inbox (their consumers' deliveries), no JetStream API.
    await agent.subscribe("_INBOX.services.>")
    await agent.flush()
    await eventually(lambda: "_inbox.services" in str(agent.last_error).lower(), timeout=5)
    await agent.publish("$JS.API.STREAM.INFO.VITALS_TELEMETRY", b"", reply="_INBOX.agent.web-1.y")
    await agent.flush()
    await eventually(lambda: "$js.api.stream.info" in str(agent.last_error).lower(), timeout=5)
    js = services_client.jetstream()
    await js.add_stream(name="COMPOSE_TEST", subjects=["compose.test"])  # JetStream enabled
    with contextlib.suppress(nats.errors.Error):
        await agent.close()
    await services_client.close()


@pytest.mark.parametrize("conf", ["nats-cluster.conf", "nats-tls.conf"])
def test_the_cluster_and_tls_configurations_load(conf: str, tmp_path: Path) -> None:
    """`nats-server -t`: the file parses and its certificates load."""
    for name in ("nats.conf", conf):
        text = (DEPLOY / "compose" / name).read_text()
        (tmp_path / name).write_text(text.replace("/etc/nats/certs", str(tmp_path)))
    if conf == "nats-tls.conf":
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", "/CN=nats", "-keyout", str(tmp_path / "server-key.pem"),
             "-out", str(tmp_path / "server.pem")],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    done = subprocess.run(
        [nats_binary(), "-c", str(tmp_path / conf), "-t"],
        env=dict(os.environ, NATS_SERVER_NAME="n1", **SECRETS),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "is valid" in done.stdout + done.stderr
