"""A JetStream cluster of real `nats-server` processes on free ports, for tests and benches.

Each node has its own client, route and monitoring port and its own store directory, all
chosen once, so a node killed with SIGKILL comes back where it was, with what it had stored.
"""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from vitals_servers.embedded import NatsServer, free_port, nats_binary


class ClusterNode(NatsServer):
    """One node: a config file of its own naming its peers' routes."""

    def __init__(
        self,
        data_dir: Path,
        server_name: str,
        cluster_name: str,
        route_port: int,
        monitor_port: int,
        peers: list[int],
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(data_dir, port=free_port(), host=host)
        self.server_name = server_name
        self.cluster_name = cluster_name
        self.route_port = route_port
        self.monitor_port = monitor_port
        self.peers = peers
        self.log_path = self.data_dir / f"{server_name}.log"

    def config(self) -> str:
        routes = ", ".join(f'"nats-route://{self.host}:{p}"' for p in self.peers)
        store = json.dumps(str(self.data_dir / "jetstream"))
        return (
            f"server_name: {self.server_name}\n"
            f"listen: {self.host}:{self.port}\n"
            f"http: {self.host}:{self.monitor_port}\n"
            "max_payload: 1MB\n"
            "jetstream {\n"
            f"  store_dir: {store}\n"
            "  max_memory_store: 256MB\n"
            "  max_file_store: 8GB\n"
            "}\n"
            "cluster {\n"
            f"  name: {self.cluster_name}\n"
            f"  listen: {self.host}:{self.route_port}\n"
            f"  routes: [{routes}]\n"
            "}\n"
        )

    def command(self) -> list[str]:
        conf = self.data_dir / f"{self.server_name}.conf"
        conf.write_text(self.config())
        return [nats_binary(), "-c", str(conf)]

    def kill(self) -> None:
        """SIGKILL: no goodbye to its peers, no flush of what it had not yet written."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def monitor(self, path: str) -> tuple[int, dict[str, object]]:
        """GET the monitoring endpoint `path`: (status, JSON body); (0, {}) when unreachable."""
        url = f"http://{self.host}:{self.monitor_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=2.0) as r:
                return int(r.status), dict(json.loads(r.read()))
        except urllib.error.HTTPError as exc:
            try:
                return int(exc.code), dict(json.loads(exc.read()))
            except ValueError:
                return int(exc.code), {}
        except (OSError, ValueError):
            return 0, {}

    def meta_leader(self) -> str:
        """The JetStream meta leader this node sees, or '' while there is none."""
        _, jsz = self.monitor("/jsz")
        meta = jsz.get("meta_cluster")
        leader = meta.get("leader", "") if isinstance(meta, dict) else ""
        return str(leader or "")

    def healthy(self) -> bool:
        """JetStream on this node is current with the cluster (its /healthz says ok)."""
        status, _ = self.monitor("/healthz")
        return status == 200


class NatsCluster:
    """`size` JetStream nodes routed to each other; `url` lists every client address."""

    def __init__(
        self, data_dir: Path, size: int = 3, name: str = "vitals", host: str = "127.0.0.1"
    ) -> None:
        self.data_dir = Path(data_dir)
        self.name = name
        routes = [free_port() for _ in range(size)]
        self.nodes = [
            ClusterNode(
                self.data_dir / f"n{i + 1}",
                server_name=f"n{i + 1}",
                cluster_name=name,
                route_port=routes[i],
                monitor_port=free_port(),
                peers=[p for j, p in enumerate(routes) if j != i],
                host=host,
            )
            for i in range(size)
        ]

    @property
    def url(self) -> str:
        return ",".join(node.url for node in self.nodes)

    def start(self, timeout: float = 30.0) -> NatsCluster:
        try:
            for node in self.nodes:
                node.start(timeout)
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout: float = 30.0) -> str:
        """Wait until every running node sees the same meta leader and is current; return it."""
        deadline = time.monotonic() + timeout
        seen: set[str] = set()
        while time.monotonic() < deadline:
            running = [n for n in self.nodes if n.running]
            seen = {n.meta_leader() for n in running}
            if len(seen) == 1 and "" not in seen and all(n.healthy() for n in running):
                return seen.pop()
            time.sleep(0.1)
        raise RuntimeError(
            f"the NATS cluster has no agreed meta leader within {timeout:.0f}s "
            f"(leaders seen: {sorted(seen)}); see the logs under {self.data_dir}"
        )

    def node(self, server_name: str) -> ClusterNode:
        for node in self.nodes:
            if node.server_name == server_name:
                return node
        raise KeyError(f"no node named {server_name!r} in this cluster")

    def kill(self, index: int) -> ClusterNode:
        """kill -9 one node; the others keep running."""
        node = self.nodes[index]
        node.kill()
        return node

    def restart(self, index: int, timeout: float = 30.0) -> ClusterNode:
        """Start a killed (or stopped) node again on its ports and store; wait until current."""
        node = self.nodes[index]
        if not node.running:
            node.start(timeout)
        self.wait_ready(timeout)
        return node

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> NatsCluster:
        return self.start()

    def __exit__(
        self, exc: type[BaseException] | None, val: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
