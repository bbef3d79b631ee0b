"""The wheels, installed into a fresh virtualenv outside the repository, run `vitals up`."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import eventually, token, wait_http
from vitals_servers import free_port

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "wheel-test-password"


def uv() -> str:
    """The uv `make` uses (VITALS_TEST_UV), else uv from PATH, else the one in .tools/."""
    found = os.environ.get("VITALS_TEST_UV") or shutil.which("uv") or str(REPO / ".tools/bin/uv")
    assert Path(found).exists(), "uv is missing: `make install` puts one in .tools/bin"
    return found


def run(*argv: str, cwd: Path) -> None:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(argv)}:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv, outside the repository, with the wheels built from this checkout."""
    root = tmp_path_factory.mktemp("wheel")
    dist, venv = root / "dist", root / "venv"
    run(uv(), "build", "--all-packages", "--wheel", "--out-dir", str(dist), "-q", cwd=REPO)
    run(uv(), "venv", "-q", "--python", sys.executable, str(venv), cwd=root)
    wheels = sorted(str(w) for w in dist.glob("*.whl"))
    assert len(wheels) == 7, wheels
    # The same versions as the lock file, so the test does not depend on new releases.
    constraints = root / "constraints.txt"
    run(uv(), "export", "--frozen", "--all-packages", "--no-hashes", "--no-emit-workspace",
        "--no-dev", "-q", "-o", str(constraints), cwd=REPO)  # fmt: skip
    run(uv(), "pip", "install", "-q", "--python", str(venv / "bin" / "python"),
        "-c", str(constraints), *wheels, cwd=root)  # fmt: skip
    return venv


def test_the_wheels_carry_the_server_configs(installed: Path) -> None:
    found = list(installed.glob("lib/python*/site-packages/vitals_servers/conf/*/vitals.conf"))
    assert sorted(p.parent.name for p in found) == ["nats", "redis"]


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_an_installed_wheel_runs_vitals_up(installed: Path, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITALS_")}
    env.update(VITALS_ADMIN_PASSWORD=PASSWORD, VITALS_AGENT_INTERVAL="1", PYTHONUNBUFFERED="1")
    env["PATH"] = f"{installed / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.pop("VIRTUAL_ENV", None)
    log = (tmp_path / "up.log").open("ab")
    proc = subprocess.Popen(
        [str(installed / "bin" / "vitals"), "up", "--port", str(port), "--data-dir", "state"],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        await wait_http(f"{base}/healthz", timeout=60)

        async def healthy() -> bool:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"{base}/healthz")).status_code == 200

        await eventually(healthy, timeout=20)
        headers = {"Authorization": f"Bearer {await token(base, 'admin', PASSWORD)}"}

        async def fleet(headers: dict[str, str]) -> dict[str, Any] | None:
            async with httpx.AsyncClient(base_url=base, headers=headers) as client:
                hosts: dict[str, Any] = (await client.get("/admin/system/metrics")).json()["hosts"]
                return hosts or None

        hosts: Any = await eventually(partial(fleet, headers), timeout=20)
        assert {"cpu", "memory"} <= set(next(iter(hosts.values())))
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(30)
        log.close()
    text = (tmp_path / "up.log").read_text()
    assert code == 0, text
    # The servers kept their data where they were told, not in a checkout.
    assert (tmp_path / "state" / "nats" / "jetstream").is_dir(), text
    assert (tmp_path / "state" / "redis" / "appendonlydir").is_dir(), text


@pytest.mark.parametrize("server", ["nats", "redis"])
def test_deploy_holds_the_same_server_configs_as_the_package(server: str) -> None:
    packaged = REPO / "libs" / "servers" / "src" / "vitals_servers" / "conf" / server
    assert (REPO / "deploy" / server / "vitals.conf").read_text() == (
        packaged / "vitals.conf"
    ).read_text(), f"deploy/{server}/vitals.conf and the packaged copy differ: keep them equal"
