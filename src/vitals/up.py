"""`vitals up`: the whole system in one terminal.

Starts the embedded NATS and Redis (unless `VITALS_NATS_URL` / `VITALS_REDIS_URL` point at
servers of your own), then the services, an agent for this host and (unless switched off)
the demo application, as child processes whose output is prefixed with their name. A child
or an embedded server that dies is restarted. Ctrl-C stops the children first (they drain),
then the servers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from vitals.watch import keep_alive
from vitals_core import envcheck
from vitals_core.config import ConfigError, load_settings
from vitals_servers import EmbeddedServer, MissingBinary, NatsServer, RedisServer, free_port

# Not the standard 4222/6379, so a NATS or Redis already there is left alone.
NATS_PORT = 14222
REDIS_PORT = 16379
STOP_TIMEOUT_S = 15.0
MAX_BACKOFF_S = 30.0
SERVICES = ("gateway", "alerter", "notifier", "agent")

COLOURS = {"gateway": 36, "agent": 32, "alerter": 33, "notifier": 35, "demo": 34}

EPILOG = """\
Every option has an environment variable (VITALS_HTTP_PORT, VITALS_HTTP_HOST,
VITALS_DATA_DIR, VITALS_DEMO=0); the options win. VITALS_NATS_URL and VITALS_REDIS_URL point
at servers of your own and switch the embedded ones off. The demo application is invented
data, reported as the application 'demo-transcriber' and marked "demo" in the dashboard.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port", type=int, metavar="PORT", help="the dashboard and API port (default 8000)"
    )
    parser.add_argument(
        "--host", metavar="ADDRESS", help="the address to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="where the embedded NATS and Redis keep their data (default ./.vitals)",
    )
    parser.add_argument(
        "--demo",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="start the demo application 'demo-transcriber' (default: on; VITALS_DEMO=0 is off)",
    )
    parser.add_argument(
        "--services",
        metavar="LIST",
        default=",".join(SERVICES),
        help="which services to run, comma-separated (default: %(default)s)",
    )


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


def _fail(message: str) -> int:
    print(f"vitals up: {message}", file=sys.stderr)
    return 2


def up(args: argparse.Namespace | None = None) -> int:
    if args is None:
        parser = argparse.ArgumentParser(prog="vitals up")
        add_arguments(parser)
        args = parser.parse_args([])
    services = [s.strip() for s in args.services.split(",") if s.strip()]
    unknown = sorted(set(services) - set(SERVICES))
    if unknown or not services:
        return _fail(f"--services: unknown {', '.join(unknown) or '(none given)'}; "
                     f"choose from {', '.join(SERVICES)}")  # fmt: skip
    # The options become the settings' environment variables, for us and the children.
    for value, name in ((args.port, "VITALS_HTTP_PORT"), (args.host, "VITALS_HTTP_HOST"),
                        (args.data_dir, "VITALS_DATA_DIR")):  # fmt: skip
        if value is not None:
            os.environ[name] = str(value)
    if args.demo is not None:
        os.environ["VITALS_DEMO"] = "1" if args.demo else "0"
    # Before the settings: a misspelt variable may be why they are wrong.
    for name, nearest in envcheck.unknown_variables(os.environ):
        hint = f" (did you mean {nearest}?)" if nearest else ""
        print(f"vitals up: environment variable {name} is not a setting and is ignored{hint}",
              file=sys.stderr)  # fmt: skip
    try:
        settings = load_settings()
    except ConfigError as exc:
        return _fail(str(exc))
    host, port = settings.http.host, settings.http.port
    if "gateway" in services and (reason := port_taken(host, port)):
        # Before anything starts: a browser at that address would show another program.
        return _fail(
            f"port {port} on {host} is already in use ({reason}): stop the program using it, "
            f"or choose another port with VITALS_HTTP_PORT (or --port)"
        )
    data_dir = Path(settings.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    servers: list[EmbeddedServer] = []
    try:
        if not settings.nats.url:
            nats = _embedded(NatsServer(data_dir / "nats", port=free_port(NATS_PORT)), NATS_PORT)
            servers.append(nats)
            env["VITALS_NATS_URL"] = nats.url
        if not settings.redis.url:
            redis_server = RedisServer(data_dir / "redis", port=free_port(REDIS_PORT))
            redis = _embedded(redis_server, REDIS_PORT)
            servers.append(redis)
            env["VITALS_REDIS_URL"] = redis.url
        env["VITALS_DATA_DIR"] = str(data_dir)
        if "gateway" in services:
            _say("vitals", f"dashboard: http://{host}:{port}/")
        return asyncio.run(_supervise(_children(services), env, servers))
    except (MissingBinary, RuntimeError) as exc:
        print(f"vitals up: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for server in reversed(servers):
            server.stop()
        _say("vitals", "stopped")


def port_taken(host: str, port: int) -> str:
    """Why `host:port` cannot be listened on, or "" when it can."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        # As the server will: a port in TIME_WAIT is free, one with a listener is not.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return ""


def _embedded(server: EmbeddedServer, preferred: int) -> EmbeddedServer:
    server.start()
    moved = "" if server.port == preferred else f"; {preferred} was taken"
    label = "NATS" if server.name == "nats" else "Redis"
    _say("vitals", f"embedded {label} on {server.url} (data in {server.data_dir}{moved})")
    return server


def _children(services: list[str]) -> list[Child]:
    py = sys.executable
    children = [Child(name, [py, "-m", f"vitals_{name}"]) for name in services]
    if os.environ.get("VITALS_DEMO", "1") != "0":
        children.append(Child("demo", [py, "-m", "vitals.demo"]))
    return children


async def _supervise(
    children: list[Child], env: dict[str, str], servers: list[EmbeddedServer]
) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    watchers = [asyncio.create_task(keep_alive(server, _say, stop)) for server in servers]
    watchers += [asyncio.create_task(_keep_running(child, env, stop)) for child in children]
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
