"""`VITALS_REDIS_URL` -> a Redis client: one server, a Redis Cluster, or a Sentinel-managed
primary, each through the redis-py client made for it.

- `redis://[:password@]host:port/db` (`rediss://`, `unix://`): one server
- `redis+cluster://[:password@]host:port[,host:port...]` (`rediss+cluster://`), or a plain
  `redis://host:port,host:port`: a cluster, found from any of the nodes given
- `redis+sentinel://master-name@host:port[,host:port...][/db]` (`rediss+sentinel://`): the
  primary the sentinels name; after a failover the next command finds the new one.
  `?password=` is the data servers', `?sentinel_password=` the sentinels'.

Extra keyword arguments (timeouts, TLS files) go to every connection.

Every connection packs its commands in C (hiredis), as redis-py's synchronous client does;
its asyncio client packs them argument by argument in Python, which made packing an
event's 140-odd chunk keys cost more than Redis spends running the event's script.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

import hiredis
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterNode, ClusterPipeline, RedisCluster
from redis.asyncio.connection import AbstractConnection, Connection, SSLConnection
from redis.asyncio.sentinel import (
    Sentinel,
    SentinelManagedConnection,
    SentinelManagedSSLConnection,
)
from redis.exceptions import DataError

# What the stores are handed: `Redis` for one server or Sentinel, `RedisCluster` for a cluster.
RedisClient = Redis | RedisCluster
Pipe = Pipeline | ClusterPipeline

DEFAULT_PORT = 6379


class RedisUrlError(ValueError):
    """A `redis.url` that names no usable topology; the message says what is wrong."""


@dataclass(frozen=True)
class Target:
    kind: str  # "single", "cluster", "sentinel"
    url: str = ""  # single: the URL as given
    nodes: list[tuple[str, int]] = field(default_factory=list)  # cluster seeds, or sentinels
    master: str = ""  # sentinel: the primary's name
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_password: str | None = None
    tls: bool = False


def _nodes(netloc: str, url: str) -> list[tuple[str, int]]:
    out = []
    for part in netloc.split(","):
        part = part.strip()
        if not part:
            raise RedisUrlError(f"redis.url {url!r}: an empty host in the node list")
        if part.startswith("["):  # [ipv6]:port
            host, _, rest = part[1:].partition("]")
            port_text = rest.lstrip(":")
        else:
            host, _, port_text = part.rpartition(":") if ":" in part else (part, "", "")
        try:
            port = int(port_text) if port_text else DEFAULT_PORT
        except ValueError:
            raise RedisUrlError(f"redis.url {url!r}: bad port in {part!r}") from None
        if not host or not 0 < port < 65536:
            raise RedisUrlError(f"redis.url {url!r}: bad node {part!r}")
        out.append((host, port))
    return out


def parse(url: str) -> Target:
    """Which topology `url` names (pure; raises `RedisUrlError` naming what is wrong)."""
    scheme, sep, _ = url.partition("://")
    if not sep:
        raise RedisUrlError(f"redis.url {url!r}: expected scheme://..., e.g. redis://host:6379")
    base, _, topology = scheme.lower().partition("+")
    if base not in ("redis", "rediss", "unix") or topology not in ("", "cluster", "sentinel"):
        raise RedisUrlError(
            f"redis.url {url!r}: unknown scheme {scheme!r} (redis, rediss, unix, "
            "redis+cluster, redis+sentinel)"
        )
    parts = urlsplit(url)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    if not at:
        userinfo, hosts = "", parts.netloc
    if topology == "" and ("," not in hosts or base == "unix"):
        return Target("single", url=url)  # redis-py reads the rest
    query = parse_qs(parts.query)
    db_text = parts.path.strip("/") or query.get("db", ["0"])[0]
    try:
        db = int(db_text)
    except ValueError:
        raise RedisUrlError(f"redis.url {url!r}: the database must be a number") from None
    tls = base == "rediss"
    if topology == "sentinel":
        if not userinfo:
            raise RedisUrlError(
                f"redis.url {url!r}: name the primary, redis+sentinel://master-name@host:port"
            )
        return Target(
            "sentinel",
            nodes=_nodes(hosts, url),
            master=unquote(userinfo),
            db=db,
            password=query.get("password", [None])[0],
            sentinel_password=query.get("sentinel_password", [None])[0],
            tls=tls,
        )
    if db:
        raise RedisUrlError(f"redis.url {url!r}: a cluster has only database 0")
    user, _, password = userinfo.partition(":")
    return Target(
        "cluster",
        nodes=_nodes(hosts, url),
        username=unquote(user) or None,
        password=unquote(password) or None,
        tls=tls,
    )


class PackedInC:
    """Mixed into a redis-py asyncio connection class: a command is packed in one hiredis
    call, byte for byte what redis-py's Python packer writes (`packed_in_c`)."""

    def pack_command(self, *args: Any) -> list[bytes]:
        # As redis-py does: a command name of several words ('CONFIG GET') is split.
        if isinstance(args[0], str):
            args = (*args[0].encode().split(), *args[1:])
        elif b" " in args[0]:
            args = (*args[0].split(), *args[1:])
        try:
            return [hiredis.pack_command(args)]
        except TypeError:
            pass
        # hiredis takes no bytearray; anything else it refuses, redis-py refuses too.
        args = tuple(bytes(a) if isinstance(a, bytearray) else a for a in args)
        try:
            return [hiredis.pack_command(args)]
        except TypeError:
            bad = next((a for a in args if not _packable(a)), None)
            raise DataError(
                f"Invalid input of type: {type(bad).__name__!r}. "
                "Convert to a bytes, string, int or float first."
            ) from None


def _packable(arg: Any) -> bool:
    return isinstance(arg, str | bytes | int | float | memoryview) and not isinstance(arg, bool)


C = TypeVar("C", bound=AbstractConnection)
_packed: dict[type[Any], type[Any]] = {}


def packed_in_c(cls: type[C]) -> type[C]:
    """`cls` with `PackedInC`'s packing (one class per `cls`, made once)."""
    if issubclass(cls, PackedInC):
        return cls
    if cls not in _packed:
        _packed[cls] = type(cls.__name__, (PackedInC, cls), {})
    made: type[C] = _packed[cls]
    return made


def connect(url: str, max_connections: int = 128, **kwargs: Any) -> RedisClient:
    """A client for `url`. `kwargs` (socket timeouts, TLS files...) go to every connection.

    A burst beyond `max_connections` waits for a connection instead of failing.
    """
    target = parse(url)
    if target.kind == "single":
        pool = BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=10, **kwargs
        )
        pool.connection_class = packed_in_c(pool.connection_class)
        return Redis(connection_pool=pool)
    if target.kind == "cluster":
        cluster = RedisCluster(
            startup_nodes=[ClusterNode(h, p) for h, p in target.nodes],
            username=target.username,
            password=target.password,
            ssl=target.tls,
            max_connections=max_connections,
            **kwargs,
        )
        # The cluster client takes no connection class: the one it makes every node with
        # (seeds, discovered, redirected) is in the keyword arguments it keeps.
        node_class = packed_in_c(SSLConnection if target.tls else Connection)
        cluster.nodes_manager.connection_kwargs["connection_class"] = node_class
        for node in cluster.nodes_manager.startup_nodes.values():
            node.connection_class = node_class
        return cluster
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        target.nodes,
        sentinel_kwargs={
            "password": target.sentinel_password,
            "socket_timeout": kwargs.get("socket_timeout", 5),
            "ssl": target.tls,
        },
        password=target.password,
        db=target.db,
        ssl=target.tls,
        max_connections=max_connections,
        **kwargs,
    )
    managed = SentinelManagedSSLConnection if target.tls else SentinelManagedConnection
    primary: Redis = sentinel.master_for(target.master, connection_class=packed_in_c(managed))
    return primary


def is_cluster(client: RedisClient) -> bool:
    return isinstance(client, RedisCluster)
