"""Each kind of service check against a real target: passing, failing, and timing out."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import eventually
from vitals_agent.checks import run_check
from vitals_core.events import CheckResult
from vitals_core.settings import CheckSettings
from vitals_servers import free_port

HOST = "checks-host"


async def check(kind: str, target: str = "", **options: Any) -> CheckResult:
    settings = CheckSettings(name=f"{kind}-check", kind=kind, target=target, **options)  # type: ignore[arg-type]
    result = await run_check(settings, HOST)
    assert (result.host, result.check, result.check_kind) == (HOST, f"{kind}-check", kind)
    assert result.latency_ms >= 0
    return result


def closed_port() -> int:
    return free_port()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(2)
        status = 503 if self.path == "/down" else 200
        body = b"service healthy" if status == 200 else b"overloaded"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client gave up on /slow
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def web() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_http(web: str) -> None:
    ok = await check("http", f"{web}/health", expect_text="healthy")
    assert (ok.ok, ok.status_code) == (True, 200)
    down = await check("http", f"{web}/down")
    assert (down.ok, down.status_code, down.reason) == (
        False,
        503,
        "status 503 (expected 2xx or 3xx)",
    )
    wanted = await check("http", f"{web}/down", expect_status=503)
    assert wanted.ok
    text = await check("http", f"{web}/health", expect_text="all good")
    assert not text.ok
    assert "does not contain 'all good'" in text.reason
    slow = await check("http", f"{web}/slow", timeout=0.5)
    assert not slow.ok
    assert slow.reason == "no answer within 0.5s"
    refused = await check("http", f"http://127.0.0.1:{closed_port()}/")
    assert not refused.ok
    assert refused.reason == "connection refused"
    leaky = await check("http", f"http://user:hunter2@127.0.0.1:{closed_port()}/")
    assert "hunter2" not in leaky.reason


async def test_tcp() -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        assert (await check("tcp", f"127.0.0.1:{port}")).ok
    refused = await check("tcp", f"127.0.0.1:{closed_port()}")
    assert (refused.ok, refused.reason) == (False, "connection refused")


async def test_process_by_name_and_pidfile(tmp_path: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    pidfile = tmp_path / "worker.pid"
    pidfile.write_text(f"{sleeper.pid}\n")
    try:
        assert (await check("process", "sleep")).ok
        assert (await check("process", pidfile=str(pidfile))).ok
    finally:
        sleeper.kill()
        sleeper.wait()
    gone = await check("process", pidfile=str(pidfile))
    assert not gone.ok
    assert f"process {sleeper.pid}" in gone.reason
    missing = await check("process", "no-such-daemon")
    assert (missing.ok, missing.reason) == (False, "no process named 'no-such-daemon'")
    nofile = await check("process", pidfile=str(tmp_path / "absent.pid"))
    assert not nofile.ok
    assert "cannot read pidfile" in nofile.reason
    pidfile.write_text("garbage")
    assert "does not hold a pid" in (await check("process", pidfile=str(pidfile))).reason


async def test_redis(redis_url: str) -> None:
    assert (await check("redis", redis_url)).ok
    plain = redis_url.removeprefix("redis://")
    assert (await check("redis", plain)).ok  # host:port
    # This server has no password: AUTH is refused, and the password is not repeated.
    auth = await check("redis", redis_url.replace("redis://", "redis://:hunter2@"))
    assert not auth.ok
    assert auth.reason.startswith("AUTH refused")
    assert "hunter2" not in auth.reason
    refused = await check("redis", f"127.0.0.1:{closed_port()}")
    assert (refused.ok, refused.reason) == (False, "connection refused")


async def test_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    sqlite3.connect(db).close()
    assert (await check("sql", f"sqlite:///{db}")).ok
    assert (await check("sql", str(db))).ok
    missing = await check("sql", f"sqlite:///{tmp_path / 'absent.db'}")
    assert not missing.ok
    assert "no database file" in missing.reason
    assert not (tmp_path / "absent.db").exists()  # a check never creates a database
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database file" * 100)
    bad = await check("sql", str(junk))
    assert not bad.ok
    assert "not a database" in bad.reason


@pytest.fixture
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster, where the server binaries are installed."""
    initdb = shutil.which("initdb") or next(
        iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))), None
    )
    if initdb is None:
        pytest.skip("no PostgreSQL server binaries (initdb) on this machine")
    bindir = Path(initdb).resolve().parent
    owner: dict[str, Any] = {}
    data = Path(tempfile.mkdtemp(prefix="vitals-pg-"))
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        try:
            shutil.chown(data, "postgres")
        except (LookupError, PermissionError):
            pytest.skip("running as root without a postgres user")
        owner = {"user": "postgres", "group": "postgres"}
    port = free_port()
    initdb_argv = [str(bindir / "initdb"), "-D", str(data / "db"), "-A", "trust", "-U", "vitals"]
    subprocess.run([*initdb_argv, "--no-sync"], check=True, capture_output=True, **owner)
    server = subprocess.Popen(
        [str(bindir / "postgres"), "-D", str(data / "db"), "-p", str(port),
         "-k", str(data), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **owner,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    yield f"postgresql://vitals@127.0.0.1:{port}/postgres"
    server.send_signal(signal.SIGINT)  # fast shutdown
    server.wait(15)
    shutil.rmtree(data, ignore_errors=True)


async def test_postgresql(postgres: str) -> None:
    async def answers() -> bool:
        return (await check("sql", postgres)).ok  # the server may still be starting

    await eventually(answers, timeout=20, interval=0.2)
    wrong = await check("sql", postgres.replace("/postgres", "/no_such_db"))
    assert not wrong.ok
    assert "no_such_db" in wrong.reason
    secret = await check("sql", postgres.replace("vitals@", "vitals:hunter2@").replace(
        "/postgres", "/no_such_db"))  # fmt: skip
    assert "hunter2" not in secret.reason


async def test_command(tmp_path: Path) -> None:
    assert (await check("command", "true")).ok
    failing = await check("command", "sh -c 'echo starting; echo disk is full >&2; exit 3'")
    assert (failing.ok, failing.reason) == (False, "exit code 3: disk is full")
    marker = tmp_path / "started"
    slow = await check("command", f"sh -c 'echo $$ > {marker}; exec sleep 30'", timeout=0.5)
    assert (slow.ok, slow.reason) == (False, "no answer within 0.5s")
    pid = int(marker.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the timed-out command was killed, not left behind
    absent = await check("command", "/no/such/program --flag")
    assert not absent.ok
    assert "no such file" in absent.reason.lower()
