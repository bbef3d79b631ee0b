"""The systemd units verify, installed by deploy/systemd/install.sh into a scratch root."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_wheel import REPO, uv

UNITS = sorted((REPO / "deploy" / "systemd").glob("*.service"))
INSTALL = REPO / "deploy" / "systemd" / "install.sh"
SYSTEM_UNITS = next(
    (p for p in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")) if p.is_dir()),
    None,
)


def analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        # Only where it cannot be installed: scripts/system-deps.sh installs it on Debian.
        pytest.skip("systemd-analyze is not installed (scripts/system-deps.sh installs it)")
    return found


def scratch_root(tmp: Path) -> Path:
    """An empty root holding the distribution's own units (targets the ours need)."""
    root = tmp / "root"
    assert SYSTEM_UNITS is not None, "systemd-analyze without the system's unit directory"
    shutil.copytree(SYSTEM_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    return root


def verify(root: Path, unit: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [analyze(), "verify", "--man=no", f"--root={root}", unit],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def installed_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """deploy/systemd/install.sh run into a scratch root (DESTDIR), with the built wheels."""
    tmp = tmp_path_factory.mktemp("systemd")
    root = scratch_root(tmp)
    dist = tmp / "dist"
    subprocess.run(
        [uv(), "build", "--all-packages", "--wheel", "--out-dir", str(dist), "-q"],
        cwd=REPO,
        check=True,
        timeout=120,
    )
    env = dict(os.environ, DESTDIR=str(root), UV=uv())
    done = subprocess.run(
        ["bash", str(INSTALL), "--wheels", str(dist)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return root


def test_there_is_a_unit_per_service() -> None:
    assert [u.stem for u in UNITS] == [
        "vitals-agent",
        "vitals-alerter",
        "vitals-gateway",
        "vitals-notifier",
    ]


@pytest.mark.parametrize("unit", [u.name for u in UNITS])
def test_each_unit_verifies_in_the_installed_layout(installed_root: Path, unit: str) -> None:
    done = verify(installed_root, unit)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr  # warnings too: a bad key is only a warning


def test_the_layout_has_what_the_units_need(installed_root: Path) -> None:
    venv = installed_root / "opt/vitals/venv/bin"
    for command in ("vitals", "vitals-agent"):
        assert os.access(venv / command, os.X_OK), command
    assert (installed_root / "etc/vitals/vitals.env").is_file()
    assert (installed_root / "var/lib/vitals").is_dir()


def test_the_agent_unit_runs_the_agent_alone() -> None:
    text = (REPO / "deploy/systemd/vitals-agent.service").read_text()
    assert "ExecStart=/opt/vitals/venv/bin/vitals-agent\n" in text


def test_a_missing_executable_fails_verification(tmp_path: Path) -> None:
    """The check is real: without the layout, verify reports what the issue saw."""
    root = scratch_root(tmp_path)
    shutil.copy(REPO / "deploy/systemd/vitals-gateway.service", root / "usr/lib/systemd/system")
    done = verify(root, "vitals-gateway.service")
    assert done.returncode != 0
    assert "is not executable" in done.stderr


def test_an_agent_only_host_gets_the_agent_alone(tmp_path: Path, installed_root: Path) -> None:
    root = scratch_root(tmp_path)
    dist = next(installed_root.parent.glob("dist"))
    env = dict(os.environ, DESTDIR=str(root), UV=uv())
    done = subprocess.run(
        ["bash", str(INSTALL), "--wheels", str(dist), "--agent-only"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in (root / "etc/systemd/system").iterdir()) == [
        "vitals-agent.service"
    ]
    bin_dir = root / "opt/vitals/venv/bin"
    assert os.access(bin_dir / "vitals-agent", os.X_OK)
    assert not (bin_dir / "vitals-gateway").exists()
    assert verify(root, "vitals-agent.service").stderr == ""
