"""Helpers for tests: service processes, polling, tokens."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import httpx
import nats.errors
from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig

from vitals_core import subjects


class Processes:
    """Service processes started by a test, stopped (SIGTERM, then SIGKILL) after it."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("ab")
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.started.append(proc)
        return proc

    def service(self, name: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        return self.start(name, [sys.executable, "-m", f"vitals_{name}"], env)

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def tails(self, lines: int = 60, pattern: str = "*") -> str:
        """The last lines of the logs of the processes whose name matches `pattern` (a glob):
        what a failed test prints."""
        out = []
        for path in sorted(self.log_dir.glob(f"{pattern}.log")):
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"----- {path.name} (last {len(tail)} lines) -----")
            out.extend(tail)
        return "\n".join(out)

    def stop_all(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 10
        for proc in self.started:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def eventually(
    check: Callable[[], object], timeout: float = 10.0, interval: float = 0.1
) -> object:
    """Poll `check` (sync or async) until it returns something truthy, or fail."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


async def token(base_url: str, username: str, password: str) -> str:
    async with httpx.AsyncClient(base_url=base_url) as client:
        r = await client.post("/auth/token", data={"username": username, "password": password})
        r.raise_for_status()
        access: str = r.json()["access_token"]
        return access


async def wait_http(url: str, timeout: float = 20.0) -> None:
    """Wait until something answers HTTP at `url`, whatever the status."""

    async def answers() -> bool:
        try:
            async with httpx.AsyncClient() as client:
                await client.get(url, timeout=1.0)
        except httpx.HTTPError:
            return False
        return True

    await eventually(answers, timeout=timeout, interval=0.2)


async def stored_alerts(nc: Client) -> list[dict[str, Any]]:
    """Every event the alert stream holds (the duplicates it dropped are not there)."""
    js = nc.jetstream()
    sub = await js.pull_subscribe(
        subjects.ALERTS_ALL,
        stream=subjects.STREAM_EVENTS,
        config=ConsumerConfig(ack_policy=AckPolicy.NONE),
    )
    out: list[dict[str, Any]] = []
    while True:
        try:
            msgs = await sub.fetch(500, timeout=1)
        except (TimeoutError, nats.errors.TimeoutError):
            break
        out.extend(json.loads(m.data) for m in msgs)
    await sub.unsubscribe()
    return out


class Handing:
    """Ownership (a lease keeper's interface) holding every partition; hands back the ones
    in `to_release` when the service asks to."""

    def __init__(self, partitions: int) -> None:
        self.held = set(range(partitions))
        self.to_release: set[int] = set()
        self.released: set[int] = set()

    def usable(self) -> set[int]:
        return set(self.held)

    def releasing(self) -> set[int]:
        return self.to_release & self.held

    async def release(self, partitions: Iterable[int]) -> None:
        self.held -= set(partitions)
        self.to_release -= set(partitions)
        self.released |= set(partitions)
