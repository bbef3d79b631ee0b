"""`VITALS_REDIS_URL` -> which Redis topology (pure parsing), and the client each gets."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import Connection
from redis.exceptions import DataError

from vitals_core import keys
from vitals_gateway.storage.redisconn import (
    PackedInC,
    RedisUrlError,
    Target,
    connect,
    packed_in_c,
    parse,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://127.0.0.1:6379/0", Target("single", url="redis://127.0.0.1:6379/0")),
        ("unix:///run/redis.sock", Target("single", url="unix:///run/redis.sock")),
        (
            "redis+cluster://10.0.0.1:7000,10.0.0.2:7001",
            Target("cluster", nodes=[("10.0.0.1", 7000), ("10.0.0.2", 7001)]),
        ),
        (
            "redis://a:7000,b",
            Target("cluster", nodes=[("a", 7000), ("b", 6379)]),
        ),
        (
            "rediss+cluster://:s3cret@[::1]:7000",
            Target("cluster", nodes=[("::1", 7000)], password="s3cret", tls=True),
        ),
        (
            "redis+sentinel://vitals@s1:26379,s2:26379/2?password=pw",
            Target(
                "sentinel",
                nodes=[("s1", 26379), ("s2", 26379)],
                master="vitals",
                db=2,
                password="pw",
            ),
        ),
    ],
)
def test_urls_name_their_topology(url: str, expected: Target) -> None:
    assert parse(url) == expected


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("localhost:6379", "expected scheme://"),
        ("http://localhost", "unknown scheme"),
        ("redis+sentinel://s1:26379", "name the primary"),
        ("redis+cluster://a:70000", "bad node"),
        ("redis+cluster://a:x", "bad port"),
        ("redis+cluster://a:1,,b:2", "empty host"),
        ("redis+cluster://a:1/3", "only database 0"),
        ("redis+sentinel://m@s1/x", "must be a number"),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, says: str) -> None:
    with pytest.raises(RedisUrlError, match=says):
        parse(url)


async def test_each_topology_gets_its_client_and_extra_kwargs_reach_it() -> None:
    single = connect("redis://127.0.0.1:1/0", socket_timeout=3)
    assert isinstance(single, Redis)
    assert single.connection_pool.connection_kwargs["socket_timeout"] == 3
    cluster = connect("redis+cluster://127.0.0.1:1,127.0.0.1:2", socket_timeout=3)
    assert isinstance(cluster, RedisCluster)
    sentinel = connect("redis+sentinel://vitals@127.0.0.1:1", socket_timeout=3)
    assert isinstance(sentinel, Redis)
    assert sentinel.connection_pool.connection_kwargs["socket_timeout"] == 3
    # Each packs its commands in C, the cluster on every node it will ever make.
    for pool in (single.connection_pool, sentinel.connection_pool):
        assert issubclass(pool.connection_class, PackedInC)
    manager = cluster.nodes_manager
    assert issubclass(manager.connection_kwargs["connection_class"], PackedInC)
    assert all(issubclass(n.connection_class, PackedInC) for n in manager.startup_nodes.values())
    for client in (single, cluster, sentinel):
        await client.aclose()


def test_many_chunk_keys_are_the_same_as_one_at_a_time() -> None:
    names = ["cpu.percent", "disk.percent{mount=/}"]
    assert keys.series_chunks("h{1}", "raw", names, 600) == [
        keys.series_chunk("h{1}", "raw", n, 600) for n in names
    ]


PACKED = [
    ("GET", "plain"),
    ("SET", "k", "ü-ascii-and-not"),
    ("SET", b"\x00\xff", b""),
    ("EVALSHA", "abc", 2, "{h}:a", "{h}:b", 0, -5, 2**70, 0.1, 1e-7, 1e20, 1796597400.25),
    ("SET", "k", float("nan")),
    ("SET", "k", float("-inf")),
    ("SET", "k", memoryview(b"view")),
    ("SET", "k", bytearray(b"array")),
    ("CONFIG GET", "maxmemory"),  # a name of several words is split, as redis-py does
    (b"CONFIG GET", "maxmemory"),
]


@pytest.mark.parametrize("args", PACKED, ids=range(len(PACKED)))
def test_commands_are_packed_byte_for_byte_as_redis_py_packs_them(args: tuple[Any, ...]) -> None:
    python, in_c = Connection(), packed_in_c(Connection)()
    assert isinstance(in_c, PackedInC)
    assert b"".join(in_c.pack_command(*args)) == b"".join(python.pack_command(*args))


@pytest.mark.parametrize("bad", [None, True, object()])
def test_an_argument_redis_cannot_take_is_refused_by_type(bad: object) -> None:
    with pytest.raises(DataError, match=type(bad).__name__):
        packed_in_c(Connection)().pack_command("SET", "k", bad)  # type: ignore[arg-type]
