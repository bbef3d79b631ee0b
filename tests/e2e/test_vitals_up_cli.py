"""`vitals up` as typed: its help, and a clear stop when the dashboard's port is taken."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from vitals.up import _children, port_taken
from vitals_servers import free_port


def run_up(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VITALS_")}
    clean.update(VITALS_DATA_DIR=str(tmp_path / "data"), **env)
    return subprocess.run(
        [sys.executable, "-m", "vitals.cli", "up", *args],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_help_lists_the_options(tmp_path: Path) -> None:
    done = run_up(tmp_path, "--help")
    assert done.returncode == 0
    for option in ("--port", "--data-dir", "--no-demo", "--services", "VITALS_HTTP_PORT"):
        assert option in done.stdout, done.stdout
    assert "demo-transcriber" in done.stdout


@pytest.mark.parametrize("how", ["env", "option"])
def test_a_taken_port_stops_it_before_anything_starts(tmp_path: Path, how: str) -> None:
    with socket.socket() as other:  # another program, listening on the port
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        if how == "env":
            done = run_up(tmp_path, VITALS_HTTP_PORT=str(port))
        else:
            done = run_up(tmp_path, "--port", str(port))
    assert done.returncode != 0
    assert f"port {port} on 127.0.0.1 is already in use" in done.stderr, done.stderr
    assert "VITALS_HTTP_PORT" in done.stderr
    assert "dashboard:" not in done.stdout  # no address pointing at the other program
    assert not (tmp_path / "data").exists()  # no server was started


def test_port_taken_tells_a_free_port_from_a_listened_one() -> None:
    port = free_port()
    assert port_taken("127.0.0.1", port) == ""
    with socket.socket() as other:
        other.bind(("127.0.0.1", port))
        other.listen()
        assert port_taken("127.0.0.1", port)


def test_unknown_services_are_refused(tmp_path: Path) -> None:
    done = run_up(tmp_path, "--services", "gateway,alerterr")
    assert done.returncode == 2
    assert "unknown alerterr" in done.stderr


def test_the_demo_runs_unless_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VITALS_DEMO", raising=False)
    names = [c.name for c in _children(["gateway", "agent"])]
    assert names == ["gateway", "agent", "demo"]
    demo = _children(["agent"])[-1]
    assert demo.argv[1:] == ["-m", "vitals.demo"]  # from the package: an installed wheel has it
    monkeypatch.setenv("VITALS_DEMO", "0")
    assert [c.name for c in _children(["agent"])] == ["agent"]
