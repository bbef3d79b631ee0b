"""Valkey topologies from the same binary: a Redis Cluster of a few primaries, and a
primary with a replica watched by Sentinel. For tests and benchmarks of those shapes.

The cluster is built by hand (no `valkey-cli` is shipped): each node starts with
`cluster-enabled yes`, gets an equal share of the 16,384 slots (`CLUSTER ADDSLOTSRANGE`),
meets the first node (`CLUSTER MEET`), and the cluster is ready once every node says
`cluster_state:ok`. Sentinel is the same binary started with `--sentinel`.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import time
from pathlib import Path
from types import TracebackType

from vitals_servers.embedded import (
    EmbeddedServer,
    RedisServer,
    deploy_dir,
    free_port,
    redis_binary,
)

SLOTS = 16384
CLUSTER_OPTIONS = [
    "--cluster-enabled", "yes",
    "--cluster-config-file", "nodes.conf",
    "--cluster-node-timeout", "3000",
    # The tests' data are disposable: no fsync stalls on a shared disk.
    "--appendonly", "no",
    "--save", "",
]  # fmt: skip


class ValkeyError(RuntimeError):
    """An error reply, or a topology that did not form in time."""


def command(host: str, port: int, *args: str | int, timeout: float = 5.0) -> object:
    """One command over a fresh connection (RESP2): str, int, None or a list of those."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        parts = [str(a).encode() for a in args]
        sock.sendall(
            b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
        )
        reader = sock.makefile("rb")
        return _reply(reader)


def _reply(reader: object) -> object:
    readline = reader.readline  # type: ignore[attr-defined]
    read = reader.read  # type: ignore[attr-defined]
    line: bytes = readline()
    if not line:
        raise ValkeyError("connection closed")
    kind, body = line[:1], line[1:-2]
    if kind == b"+":
        return body.decode()
    if kind == b"-":
        raise ValkeyError(body.decode())
    if kind == b":":
        return int(body)
    if kind == b"$":
        n = int(body)
        return None if n < 0 else bytes(read(n + 2))[:-2].decode()
    if kind == b"*":
        n = int(body)
        return None if n < 0 else [_reply(reader) for _ in range(n)]
    raise ValkeyError(f"unexpected reply {line!r}")


def _info(host: str, port: int, *what: str) -> dict[str, str]:
    """`INFO <section>` or `CLUSTER INFO` as a dict."""
    text = command(host, port, *what)
    assert isinstance(text, str)
    return dict(
        line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("#")
    )


def _wait(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except (OSError, ValkeyError) as exc:
            last = exc
        time.sleep(0.05)
    raise ValkeyError(f"{what} within {timeout:.0f}s" + (f" ({last})" if last else ""))


class ValkeyNode(RedisServer):
    """A Valkey server with extra command-line options."""

    def __init__(self, data_dir: Path, extra: list[str], name: str = "redis") -> None:
        super().__init__(data_dir)
        self.extra = extra
        self.name = name
        self.log_path = self.data_dir / f"{name}.log"

    def command(self) -> list[str]:
        # Its own copy of the config: Sentinel and the cluster rewrite the file they run with.
        conf = self.data_dir / "vitals.conf"
        conf.write_text((deploy_dir() / "redis" / "vitals.conf").read_text())
        return [redis_binary(), str(conf), *super().command()[2:], *self.extra]

    def kill(self) -> None:
        """SIGKILL: no shutdown, no last write to disk."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()


class ValkeyCluster:
    """`primaries` Valkey nodes forming one cluster (no replicas)."""

    def __init__(self, data_dir: Path, primaries: int = 3, host: str = "127.0.0.1") -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self.nodes: list[ValkeyNode] = []
        self.count = primaries

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"{self.host}:{n.port}" for n in self.nodes)

    def start(self, timeout: float = 30.0) -> ValkeyCluster:
        try:
            buses = []
            for i in range(self.count):
                bus = free_port()
                buses.append(bus)
                node = ValkeyNode(
                    self.data_dir / f"node{i}",
                    [*CLUSTER_OPTIONS, "--cluster-port", str(bus)],
                    name=f"valkey-cluster-{i}",
                )
                self.nodes.append(node)
                node.start()
            step = -(-SLOTS // self.count)
            for i, node in enumerate(self.nodes):
                first, last = i * step, min(SLOTS, (i + 1) * step) - 1
                command(self.host, node.port, "CLUSTER", "ADDSLOTSRANGE", first, last)
            head = self.nodes[0]
            for node in self.nodes[1:]:
                command(self.host, node.port, "CLUSTER", "MEET", self.host, head.port, buses[0])
            _wait(self._formed, timeout, "the cluster did not reach cluster_state:ok")
        except BaseException:
            self.stop()
            raise
        return self

    def _formed(self) -> bool:
        for node in self.nodes:
            info = _info(self.host, node.port, "CLUSTER", "INFO")
            if info.get("cluster_state") != "ok" or info.get("cluster_known_nodes") != str(
                self.count
            ):
                return False
        return True

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> ValkeyCluster:
        return self.start()

    def __exit__(
        self, exc: type[BaseException] | None, val: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class SentinelServer(EmbeddedServer):
    name = "sentinel"
    scheme = "redis"

    def __init__(self, data_dir: Path, master: str, primary: tuple[str, int]) -> None:
        super().__init__(data_dir)
        self.master = master
        self.primary = primary

    def command(self) -> list[str]:
        # Sentinel rewrites its file as it learns the topology: one file per sentinel.
        conf = self.data_dir / "sentinel.conf"
        host, port = self.primary
        conf.write_text(
            f"port {self.port}\n"
            f"bind {self.host}\n"
            f"dir {self.data_dir}\n"
            f"sentinel monitor {self.master} {host} {port} 1\n"
            f"sentinel down-after-milliseconds {self.master} 1000\n"
            f"sentinel failover-timeout {self.master} 10000\n"
            f"sentinel parallel-syncs {self.master} 1\n"
        )
        return [redis_binary(), str(conf), "--sentinel"]

    def ready(self, sock: socket.socket) -> bool:
        sock.settimeout(1.0)
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")


class SentinelSet:
    """A primary, one replica and one sentinel (quorum 1) watching them as `master`."""

    def __init__(self, data_dir: Path, master: str = "vitals", host: str = "127.0.0.1") -> None:
        self.data_dir = Path(data_dir)
        self.master = master
        self.host = host
        self.primary = ValkeyNode(self.data_dir / "primary", [], name="valkey-primary")
        self.replica: ValkeyNode | None = None
        self.sentinel: SentinelServer | None = None

    @property
    def url(self) -> str:
        assert self.sentinel is not None
        return f"redis+sentinel://{self.master}@{self.host}:{self.sentinel.port}"

    def start(self, timeout: float = 30.0) -> SentinelSet:
        try:
            self.primary.start()
            self.replica = ValkeyNode(
                self.data_dir / "replica",
                ["--replicaof", self.host, str(self.primary.port)],
                name="valkey-replica",
            )
            self.replica.start()
            self.sentinel = SentinelServer(
                self.data_dir / "sentinel", self.master, (self.host, self.primary.port)
            )
            self.sentinel.start()
            _wait(self._watching, timeout, "the sentinel did not see the replica in sync")
        except BaseException:
            self.stop()
            raise
        return self

    def _watching(self) -> bool:
        assert self.replica is not None
        assert self.sentinel is not None
        if (
            _info(self.host, self.replica.port, "INFO", "replication").get("master_link_status")
            != "up"
        ):
            return False
        replicas = command(self.host, self.sentinel.port, "SENTINEL", "REPLICAS", self.master)
        return bool(replicas)

    def primary_address(self) -> tuple[str, int]:
        """Who the sentinel names as the primary now."""
        assert self.sentinel is not None
        addr = command(
            self.host, self.sentinel.port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.master
        )
        assert isinstance(addr, list)
        return str(addr[0]), int(addr[1])

    def kill_primary(self, timeout: float = 30.0) -> None:
        """SIGKILL the primary and wait until the sentinel has promoted the replica."""
        old = self.primary_address()
        for node in (self.primary, self.replica):
            if node is not None and node.port == old[1]:
                node.kill()
        _wait(lambda: self.primary_address() != old, timeout, "no failover")
        new = self.primary_address()
        _wait(
            lambda: _info(new[0], new[1], "INFO", "replication").get("role") == "master",
            timeout,
            "the promoted replica did not become a primary",
        )
        _wait(self._primary_ok, timeout, "the sentinel did not see the new primary as up")

    def _primary_ok(self) -> bool:
        assert self.sentinel is not None
        state = command(self.host, self.sentinel.port, "SENTINEL", "MASTER", self.master)
        assert isinstance(state, list)
        fields = dict(zip(state[0::2], state[1::2], strict=True))
        return fields.get("flags") == "master"

    def stop(self) -> None:
        for server in (self.sentinel, self.replica, self.primary):
            if server is not None:
                with contextlib.suppress(Exception):
                    server.stop()

    def __enter__(self) -> SentinelSet:
        return self.start()

    def __exit__(
        self, exc: type[BaseException] | None, val: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
