"""The agent installs as one thing: its wheel and the core's, nothing of the services.

Both wheels are built into a temporary folder and installed into a fresh virtualenv with
uv, offline (from uv's cache, which `make install` filled). There `vitals-agent` answers
`--help`, nats-py is absent, and the agent publishes to a real nats-server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import nats
import pytest
from nats.aio.msg import Msg

from tests.helpers import Processes, eventually, token, wait_http
from tests.nats_auth import OperatorNats
from vitals import enroll
from vitals_core import subjects
from vitals_servers import free_port

REPO = Path(__file__).resolve().parents[2]
# What `pip install vitals-agent` brings, and nothing else (README.md lists it).
EXPECTED = {"vitals-core", "vitals-agent", "msgspec", "psutil", "prometheus-client",
            "nkeys", "pynacl", "cffi", "pycparser"}  # fmt: skip


def uv_binary() -> str:
    for candidate in (shutil.which("uv"), REPO / ".tools" / "bin" / "uv"):
        if candidate and Path(candidate).exists():
            return str(candidate)
    pytest.skip("uv not found (make install puts it on PATH or in .tools/)")


def run(*argv: str | Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(a) for a in argv], capture_output=True, text=True, env=env,
                          timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, f"{argv}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def agent_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    uv = uv_binary()
    tmp = tmp_path_factory.mktemp("agent-install")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_PROJECT", "VIRTUAL_ENV"))}
    env["UV_OFFLINE"] = "1"
    for package in ("libs/core", "services/agent"):
        run(uv, "build", "--wheel", "--out-dir", tmp / "wheels", REPO / package, env=env)
    run(uv, "venv", "--python", sys.executable, tmp / "venv", env=env)
    wheels = sorted((tmp / "wheels").glob("*.whl"))
    assert [w.name.split("-")[0] for w in wheels] == ["vitals_agent", "vitals_core"]
    run(uv, "pip", "install", "--python", tmp / "venv" / "bin" / "python", *wheels, env=env)
    return tmp / "venv"


def test_only_what_the_agent_needs_is_installed(agent_venv: Path) -> None:
    python = agent_venv / "bin" / "python"
    listed = run(python, "-c", "import importlib.metadata as m; "
                 "print('\\n'.join(d.metadata['Name'] for d in m.distributions()))")  # fmt: skip
    names = {n.strip().lower().replace("_", "-") for n in listed.split()} - {"pip", "setuptools"}
    assert names == EXPECTED
    done = subprocess.run([python, "-c", "import nats"], capture_output=True, text=True,
                          check=False)  # fmt: skip
    assert done.returncode != 0
    assert "No module named 'nats'" in done.stderr
    usage = run(agent_venv / "bin" / "vitals-agent", "--help")
    assert usage.startswith("usage: vitals-agent")


async def test_the_installed_agent_publishes(
    agent_venv: Path, nats_streams: str, service_env: dict[str, str], processes: Processes
) -> None:
    received: list[bytes] = []
    nc = await nats.connect(nats_streams)

    async def keep(msg: Msg) -> None:
        received.append(msg.data)

    await nc.subscribe(subjects.metrics("fresh-host"), cb=keep)
    env = service_env | {"VITALS_AGENT_HOST": "fresh-host", "VITALS_AGENT_INTERVAL": "1"}
    env.pop("PYTHONPATH", None)
    agent = processes.start("fresh-agent", [str(agent_venv / "bin" / "vitals-agent")], env)
    try:
        await eventually(lambda: len(received) >= 2, timeout=30, interval=0.2)
    finally:
        await nc.close()
    assert agent.poll() is None, processes.log("fresh-agent")


async def test_a_new_host_enrolled_with_creds_shows_on_the_dashboard(
    agent_venv: Path, tmp_path: Path, service_env: dict[str, str], processes: Processes
) -> None:
    """The add-a-host page, for real: the agent wheel alone, a `.creds` file from `vitals
    nats enroll`, a nats-server in operator mode, and the host listed by the gateway."""
    auth_dir = enroll.init(tmp_path / "nats-auth").root
    server = OperatorNats(tmp_path / "nats", auth_dir)
    server.start()
    try:
        port = free_port()
        processes.service("gateway", service_env | {
            "VITALS_NATS_URL": server.url,
            "VITALS_NATS_CREDS_FILE": str(auth_dir / "creds" / "services.creds"),
            "VITALS_HTTP_PORT": str(port),
            "VITALS_ADMIN_PASSWORD": "new-host-admin",
        })  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        await wait_http(f"{base}/healthz", timeout=30)
        access = await token(base, "admin", "new-host-admin")

        creds = enroll.enroll(auth_dir, "new-host", out=tmp_path / "host" / "agent.creds")
        env = {k: v for k, v in service_env.items() if k != "PYTHONPATH"} | {
            "VITALS_NATS_URL": server.url,
            "VITALS_NATS_CREDS_FILE": str(creds),
            "VITALS_AGENT_HOST": "new-host",
            "VITALS_AGENT_INTERVAL": "1",
        }
        processes.start("new-host-agent", [str(agent_venv / "bin" / "vitals-agent")], env)

        async def listed() -> bool:
            async with httpx.AsyncClient(base_url=base) as c:
                r = await c.get(
                    "/admin/system/hosts", headers={"Authorization": f"Bearer {access}"}
                )
            return any(h["host"] == "new-host" for h in r.json()["hosts"])

        await eventually(listed, timeout=45, interval=0.5)
        assert "violation" not in processes.log("new-host-agent").lower()
    finally:
        server.stop()
