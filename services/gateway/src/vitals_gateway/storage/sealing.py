"""When chunks are sealed (stored compressed, `chunkcodec`), and the store's side of it.

A raw chunk is sealed `RAW_SEAL_AFTER` after it ends: the last 10 to 20 minutes stay plain
and are read slot by slot. A rollup chunk can change while a late raw point (up to the raw
window old) can still re-roll one of its buckets; it is sealed a little after that. Past
`seal_at` the roller rewrites each of the chunk's keys in its sealed form. A write that
still reaches a sealed chunk (an agent's backlog, a roller that was down for hours, history
written at explicit times) finds it refused by the Lua guard, unseals it and writes again;
the chunk is sealed again later. Sealing and unsealing
replace a key only if it still holds what was read, so a concurrent write is never lost.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import Any

from vitals_core import keys
from vitals_gateway.storage import chunkcodec
from vitals_gateway.storage.redisconn import Pipe, RedisClient
from vitals_gateway.storage.redisio import Script, as_bytes
from vitals_gateway.storage.windows import BY_NAME, RAW, Resolution

PREFIX = "seal:"
# Beyond the raw window and a bucket's own grace: rollers that run late.
SLACK_S = 600
RAW_SEAL_AFTER = 600
# Readers treat a chunk as possibly sealed this much early: replicas' clocks differ a little.
SKEW_S = 300


def seal_at(res: Resolution, chunk: int) -> int:
    """When no write is expected to reach the `res` chunk starting at `chunk` any more."""
    if res is RAW:
        return chunk + res.chunk + RAW_SEAL_AFTER
    return chunk + res.chunk + RAW.retention + res.step + SLACK_S


def may_be_sealed(res: Resolution, chunk: int, now: float) -> bool:
    return now >= seal_at(res, chunk) - SKEW_S


def member(res: Resolution, chunk: int, host: str) -> str:
    """The rollup queue's entry that seals one chunk of every series of a host."""
    return f"{PREFIX}{res.name}|{chunk}|{host}"


def parse_member(text: str) -> tuple[Resolution, int, str] | None:
    if not text.startswith(PREFIX):
        return None
    try:
        name, chunk, host = text[len(PREFIX) :].split("|", 2)
        return BY_NAME[name], int(chunk), host
    except (ValueError, KeyError):
        return None


def slots(answer: Any, offset: int, length: int, whole: bool) -> bytes:
    """The slots [offset, offset + length) from a read of a chunk that may be sealed: a
    sealed chunk comes whole; a plain one whole (`whole`: a GET) or as those slots."""
    blob = as_bytes(answer) if answer is not None else b""
    if chunkcodec.is_sealed(blob):
        return chunkcodec.unseal(blob)[offset : offset + length]
    return blob[offset : offset + length] if whole else blob


def sha1(blob: bytes) -> str:
    return hashlib.sha1(blob, usedforsecurity=False).hexdigest()


def queue_schedule(pipe: Pipe, res: Resolution, chunk: int, host: str, now: float) -> None:
    """Make sure the chunk gets sealed once it may be (a no-op when already scheduled)."""
    pipe.zadd(
        keys.rollup_due(keys.partition(host)),
        {member(res, chunk, host): max(seal_at(res, chunk), now + SLACK_S)},
        nx=True,
    )


async def seal(
    redis: RedisClient,
    replace: Script,
    todo: Sequence[tuple[Resolution, int, str]],
    names: Sequence[Sequence[str]],
) -> int:
    """Seal one chunk of each listed series per (resolution, chunk, host); returns how many
    keys were rewritten."""
    pipe = redis.pipeline(transaction=False)
    plan: list[list[str]] = []
    for (res, chunk, host), series in zip(todo, names, strict=True):
        chunk_keys = [keys.series_chunk(host, res.name, n, chunk) for n in series]
        plan.append(chunk_keys)
        for key in chunk_keys:
            pipe.get(key)
    answers = await pipe.execute() if len(pipe) else []
    work: list[tuple[Resolution, list[tuple[str, bytes]]]] = []
    at = 0
    for (res, _, _), chunk_keys in zip(todo, plan, strict=True):
        got = answers[at : at + len(chunk_keys)]
        at += len(chunk_keys)
        blobs = [b"" if raw is None else as_bytes(raw) for raw in got]
        work.append((res, list(zip(chunk_keys, blobs, strict=True))))
    # Compressing a few hundred chunks takes a while: off the event loop (zlib lets go of
    # the GIL), so requests are not held up by it.
    sealed_work = await asyncio.to_thread(_seal_many, work)
    writes = redis.pipeline(transaction=False)
    for changed, args in sealed_work:
        if changed:
            replace.queue(writes, changed, args)
    if not len(writes):
        return 0
    return sum(int(n) for n in await writes.execute())


def _seal_many(
    work: list[tuple[Resolution, list[tuple[str, bytes]]]],
) -> list[tuple[list[str], list[Any]]]:
    """Per group: the keys worth rewriting sealed, and REPLACE's arguments for them."""
    out = []
    for res, blobs in work:
        changed: list[str] = []
        args: list[Any] = []
        for key, blob in blobs:
            if not blob or chunkcodec.is_sealed(blob) or len(blob) % res.width:
                continue
            sealed = chunkcodec.seal(blob, res.width)
            if len(sealed) < len(blob):
                changed.append(key)
                args += (sha1(blob), sealed)
        out.append((changed, args))
    return out


async def unseal(redis: RedisClient, replace: Script, chunk_keys: Sequence[str]) -> None:
    """Turn sealed chunks back into plain ones, so that slots can be written into them."""
    pipe = redis.pipeline(transaction=False)
    for key in chunk_keys:
        pipe.get(key)
    writes = redis.pipeline(transaction=False)
    for key, raw in zip(chunk_keys, await pipe.execute(), strict=True):
        blob = b"" if raw is None else as_bytes(raw)
        if chunkcodec.is_sealed(blob):
            replace.queue(writes, [key], [sha1(blob), chunkcodec.unseal(blob)])
    if len(writes):
        await writes.execute()
