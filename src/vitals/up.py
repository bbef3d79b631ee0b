"""`vitals up`: the whole system in one terminal.

Starts the embedded NATS and Redis (unless `VITALS_NATS_URL` / `VITALS_REDIS_URL` point at
servers of your own), then the services and an agent for this host as child processes
whose output is prefixed with their name. A child that dies is restarted with backoff.
Ctrl-C stops the children first (they drain), then the servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from vitals_core import envcheck
from vitals_core.config import ConfigError, load_settings
from vitals_servers import EmbeddedServer, MissingBinary, NatsServer, RedisServer

# Not the standard 4222/6379, so a NATS or Redis already there is left alone.
NATS_PORT = 14222
REDIS_PORT = 16379
STOP_TIMEOUT_S = 15.0
MAX_BACKOFF_S = 30.0

COLOURS = {"gateway": 36, "agent": 32, "alerter": 33, "notifier": 35, "demo": 34}


@dataclass
class Child:
    name: str
    argv: list[str]
    process: asyncio.subprocess.Process | None = None
    restarts: int = 0
    started_at: float = 0.0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def _say(name: str, line: str) -> None:
    colour = COLOURS.get(name, 37)
    prefix = f"\033[{colour}m{name:>8}\033[0m" if sys.stdout.isatty() else f"{name:>8}"
    sys.stdout.write(f"{prefix} | {line}\n")
    sys.stdout.flush()


def up() -> int:
    # Before the settings: a misspelt variable may be why they are wrong.
    for name, nearest in envcheck.unknown_variables(os.environ):
        hint = f" (did you mean {nearest}?)" if nearest else ""
        print(f"vitals up: environment variable {name} is not a setting and is ignored{hint}",
              file=sys.stderr)  # fmt: skip
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"vitals up: {exc}", file=sys.stderr)
        return 2
    data_dir = Path(settings.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    servers: list[EmbeddedServer] = []
    try:
        if not settings.nats.url:
            nats = NatsServer(data_dir / "nats", port=_port(NATS_PORT)).start()
            servers.append(nats)
            env["VITALS_NATS_URL"] = nats.url
            _say("vitals", f"embedded NATS on {nats.url} (data in {nats.data_dir})")
        if not settings.redis.url:
            redis = RedisServer(data_dir / "redis", port=_port(REDIS_PORT)).start()
            servers.append(redis)
            env["VITALS_REDIS_URL"] = redis.url
            _say("vitals", f"embedded Redis on {redis.url} (data in {redis.data_dir})")
        env["VITALS_DATA_DIR"] = str(data_dir)
        _say("vitals", f"dashboard: http://{settings.http.host}:{settings.http.port}/")
        return asyncio.run(_supervise(_children(), env))
    except (MissingBinary, RuntimeError) as exc:
        print(f"vitals up: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for server in reversed(servers):
            server.stop()
        _say("vitals", "stopped")


def _port(preferred: int) -> int:
    from vitals_servers import free_port

    return free_port(preferred)


def _children() -> list[Child]:
    py = sys.executable
    children = [Child(name, [py, "-m", f"vitals_{name}"]) for name in
                ("gateway", "alerter", "notifier", "agent")]  # fmt: skip
    demo = Path(__file__).resolve().parents[2] / "examples" / "transcriber_demo.py"
    if demo.exists() and os.environ.get("VITALS_DEMO", "1") != "0":
        children.append(Child("demo", [py, str(demo)]))
    return children


async def _supervise(children: list[Child], env: dict[str, str]) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    watchers = [asyncio.create_task(_keep_running(child, env, stop)) for child in children]
    await stop.wait()
    _say("vitals", "stopping")
    await asyncio.gather(*watchers, return_exceptions=True)
    return 0


async def _keep_running(child: Child, env: dict[str, str], stop: asyncio.Event) -> None:
    backoff = 1.0
    while not stop.is_set():
        await _start(child, env)
        assert child.process is not None
        exited = asyncio.create_task(child.process.wait())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if stop.is_set():
            exited.cancel()
            await _terminate(child)
            return
        stopping.cancel()
        code = child.process.returncode
        if code == 2:
            _say(child.name, "exited: configuration error (see above); not restarting")
            return
        # A child that ran a while gets a fresh backoff.
        backoff = (
            1.0 if time.monotonic() - child.started_at > 60 else min(backoff * 2, MAX_BACKOFF_S)
        )
        child.restarts += 1
        _say(child.name, f"exited with {code}; restarting in {backoff:.0f}s")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), backoff)


async def _start(child: Child, env: dict[str, str]) -> None:
    child.process = await asyncio.create_subprocess_exec(
        *child.argv,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        # Own process group: Ctrl-C reaches only us, and we stop children in order.
        start_new_session=True,
    )
    child.started_at = time.monotonic()
    assert child.process.stdout is not None
    child.tasks = [asyncio.create_task(_relay(child.name, child.process.stdout))]


async def _relay(name: str, stream: asyncio.StreamReader) -> None:
    while line := await stream.readline():
        _say(name, line.decode(errors="replace").rstrip())


async def _terminate(child: Child) -> None:
    proc = child.process
    if proc is None or proc.returncode is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
    except TimeoutError:
        _say(child.name, "did not stop in time; killing")
        proc.kill()
        await proc.wait()
    await asyncio.gather(*child.tasks, return_exceptions=True)
