"""The 3-node cluster fixture: a replicated stream outlives the kill -9 of its leader."""

from __future__ import annotations

import nats
from nats.js.api import StreamConfig

from tests.helpers import eventually
from vitals_servers import NatsCluster


async def test_a_replicated_stream_survives_the_kill_of_its_leader(
    nats_cluster: NatsCluster, cluster_url: str
) -> None:
    nc = await nats.connect(cluster_url.split(","), reconnect_time_wait=0.2)
    js = nc.jetstream(timeout=5.0)
    try:
        await js.add_stream(StreamConfig(name="probe", subjects=["probe.>"], num_replicas=3))
        for i in range(10):
            await js.publish("probe.x", str(i).encode())
        info = await js.stream_info("probe")
        assert info.cluster is not None
        assert info.cluster.leader
        assert len(info.cluster.replicas or []) == 2
        leader = nats_cluster.node(info.cluster.leader)
        index = nats_cluster.nodes.index(leader)

        nats_cluster.kill(index)
        assert not leader.running

        async def new_leader() -> str | None:
            try:
                now = await js.stream_info("probe")
            except Exception:
                return None  # between leaders
            assert now.cluster is not None
            return now.cluster.leader if now.cluster.leader != leader.server_name else None

        await eventually(new_leader, timeout=20, interval=0.2)
        await js.publish("probe.x", b"10")
        assert (await js.stream_info("probe")).state.messages == 11

        # Back on its own ports and store, it catches up with what it missed.
        nats_cluster.restart(index)
        assert leader.running
        assert leader.healthy()
    finally:
        await nc.close()
