"""Agents spread over a 3-node cluster, follow its announced servers and leave a lame duck.

A minimal cluster of this module's own (three nats-server processes, routes on free ports,
monitoring on), and 20 agents' publishers: the agent's own connection code, one per host,
in this process (20 agent processes would cost the machine more than the test is worth).
Each server's /connz shows whom it holds.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import eventually
from vitals_agent.outbox import Outbox
from vitals_agent.publisher import Publisher
from vitals_core.settings import NatsSettings
from vitals_servers import NatsServer, free_port
from vitals_servers.embedded import nats_binary

AGENTS = 20
GRACE_S = 20  # lame_duck_grace_period: the server closes no client before this


class ClusterNode(NatsServer):
    def __init__(self, data_dir: Path, index: int, routes: list[int]) -> None:
        super().__init__(data_dir, port=free_port())
        self.monitor_port = free_port()
        self.route_port = routes[index]
        self.config = data_dir / "node.conf"
        data_dir.mkdir(parents=True, exist_ok=True)
        others = ", ".join(f'"nats://127.0.0.1:{p}"' for p in routes)
        self.config.write_text(f"""
server_name: node{index}
http_port: {self.monitor_port}
lame_duck_duration: "30s"
lame_duck_grace_period: "{GRACE_S}s"
cluster {{
  name: vitals-test
  listen: "127.0.0.1:{self.route_port}"
  routes: [{others}]
}}
""")

    def command(self) -> list[str]:
        return [nats_binary(), "-c", str(self.config), "-a", self.host, "-p", str(self.port)]

    def monitor(self, what: str) -> dict[str, object]:
        url = f"http://127.0.0.1:{self.monitor_port}/{what}"
        with urllib.request.urlopen(url, timeout=2) as r:
            data: dict[str, object] = json.load(r)
        return data

    def agent_names(self) -> list[str]:
        conns = self.monitor("connz?limit=1000").get("connections") or []
        assert isinstance(conns, list)
        return [c.get("name", "") for c in conns if c.get("name", "").startswith("agent-")]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[list[ClusterNode]]:
    routes = [free_port() for _ in range(3)]
    nodes = [ClusterNode(tmp_path / f"node{i}", i, routes) for i in range(3)]
    for node in nodes:
        node.start()
    try:
        yield nodes
    finally:
        for node in nodes:
            node.stop(timeout=2.0)  # one in lame-duck mode would wait out its duration


async def routed(nodes: list[ClusterNode]) -> None:
    def all_routed() -> bool:
        return all(int(str(n.monitor("routez").get("num_routes", 0))) >= 2 for n in nodes)

    await eventually(all_routed, timeout=20, interval=0.2)


def publisher(url: str, host: str) -> Publisher:
    return Publisher(Outbox({"metrics": 10}), NatsSettings(url=url), f"agent-{host}", host)


def where(publishers: list[Publisher]) -> dict[int, int]:
    """Connected agents per server port, as the agents see it."""
    ports: dict[int, int] = {}
    for p in publishers:
        if p.conn is not None and p.conn.is_open:
            ports[p.conn.server.port] = ports.get(p.conn.server.port, 0) + 1
    return ports


async def test_twenty_agents_spread_and_a_lame_duck_is_emptied(
    cluster: list[ClusterNode],
) -> None:
    await routed(cluster)
    urls = [f"nats://127.0.0.1:{n.port}" for n in cluster]
    agents = [publisher(",".join(urls), f"h{i:02d}") for i in range(AGENTS)]
    # One more agent given only the first server: it learns the others from INFO.
    seed = publisher(urls[0], "seed")
    everyone = [*agents, seed]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(p.run(stop)) for p in everyone]
    try:
        await eventually(lambda: sum(where(everyone).values()) == len(everyone), timeout=30)
        assert seed.conn is not None
        assert seed.conn.server.port == cluster[0].port
        assert seed.pool is not None
        await eventually(lambda: len(seed.pool.servers) == 3 if seed.pool else False)

        def spread() -> list[int]:
            return [len([a for a in n.agent_names() if a != "agent-seed"]) for n in cluster]

        await eventually(lambda: sum(spread()) == AGENTS, timeout=20)
        counts = spread()
        print(f"\nagents per node: {counts}")
        assert max(counts) <= AGENTS // 2, counts

        # Lame-duck mode on the seed's server: everyone leaves it before it closes anyone,
        # the seed agent for a server it only knows from the cluster's INFO.
        duck = cluster[0]
        assert duck.process is not None
        started = asyncio.get_running_loop().time()
        os.kill(duck.process.pid, signal.SIGUSR2)  # what `nats-server --signal ldm` sends

        def moved() -> bool:
            placed = where(everyone)
            return duck.port not in placed and sum(placed.values()) == len(everyone)

        await eventually(moved, timeout=GRACE_S / 2)
        took = asyncio.get_running_loop().time() - started
        others = cluster[1:]
        await eventually(
            lambda: sum(len(n.agent_names()) for n in others) == len(everyone), timeout=10
        )
        print(f"{counts[0]} agents and the seed left the lame duck in {took:.2f}s")
        assert duck.process.poll() is None, "still in its grace period"
        assert duck.agent_names() == []
    finally:
        stop.set()
        await asyncio.gather(*tasks)
