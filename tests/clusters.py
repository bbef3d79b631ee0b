"""A 3-node JetStream cluster shared by the tests that need one (started once per session)."""

from __future__ import annotations

from collections.abc import Iterator

import nats
import pytest

from vitals_servers import NatsCluster


@pytest.fixture(scope="session")
def nats_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    with NatsCluster(tmp_path_factory.mktemp("nats-cluster"), size=3) as cluster:
        yield cluster


@pytest.fixture
async def cluster_url(nats_cluster: NatsCluster) -> str:
    """The session's cluster with every node up and every stream and KV bucket removed."""
    for index, node in enumerate(nats_cluster.nodes):
        if not node.running:
            nats_cluster.restart(index)
    nats_cluster.wait_ready()
    nc = await nats.connect(nats_cluster.url.split(","))
    js = nc.jetstream()
    for name in [s.config.name for s in await js.streams_info()]:
        if name is not None:
            await js.delete_stream(name)
    await nc.close()
    return nats_cluster.url
