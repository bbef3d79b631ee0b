"""Small helpers for talking to Redis: text conversion, Lua scripts called by SHA."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio.cluster import ClusterPipeline
from redis.exceptions import NoScriptError, RedisClusterException

from vitals_gateway.storage.redisconn import Pipe, RedisClient


def as_text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def as_bytes(value: Any) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def texts(values: Any) -> list[str]:
    """A list reply (the client does not decode) as text."""
    return [as_text(v) for v in values]


def blobs(values: Any) -> list[bytes]:
    return [as_bytes(v) for v in values]


class Script:
    """A Lua script called by SHA, reloaded when the server has forgotten it."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = ""

    async def load(self, redis: RedisClient) -> None:
        # A cluster client sends it to every primary.
        self.sha = await redis.script_load(self.source)

    def queue(self, pipe: Pipe, keys_: Sequence[str], args: Sequence[Any]) -> None:
        # Not `pipe.evalsha`: a cluster pipeline refuses it by name, yet routes the command
        # by its keys like any other.
        if isinstance(pipe, ClusterPipeline) and keys_:
            # Every key of a call shares one hash tag, so the first names the node: left
            # to itself, the pipeline hashes every key (an event has 140-odd) to check
            # they agree. Keys that do not are refused by the server (CROSSSLOT); a node
            # that no longer holds the slot answers MOVED, and the pipeline sends the
            # command again by its keys.
            try:
                node = pipe.cluster_client.get_node_from_key(keys_[0])
            except RedisClusterException:
                node = None  # no map of the slots yet: the pipeline finds the node
            if node is not None:
                pipe.execute_command(
                    "EVALSHA", self.sha, len(keys_), *keys_, *args, target_nodes=node
                )
                return
        pipe.execute_command("EVALSHA", self.sha, len(keys_), *keys_, *args)

    async def call(self, redis: RedisClient, keys_: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return await redis.evalsha(self.sha, len(keys_), *keys_, *args)
        except NoScriptError:
            await self.load(redis)
            return await redis.evalsha(self.sha, len(keys_), *keys_, *args)
