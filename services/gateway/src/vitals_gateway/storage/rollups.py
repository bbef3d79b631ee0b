"""Rolling up and sealing: the window store's side of the rollup queue.

`claim` takes due entries from every partition's queue, `roll` recomputes each claimed
bucket from the level below it (or seals a chunk, `sealing.py`). Mixed into `WindowStore`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from redis.exceptions import NoScriptError

from vitals_core import keys
from vitals_gateway.storage import sealing, windows
from vitals_gateway.storage.redisconn import RedisClient
from vitals_gateway.storage.redisio import Script, texts
from vitals_gateway.storage.windows import RAW, Agg, Resolution

log = logging.getLogger("vitals.gateway.store")


class Rollups:
    """Needs the store's client and scripts (set by `WindowStore`)."""

    redis: RedisClient
    claim_script: Script
    read_script: Script
    write_script: Script
    replace_script: Script
    chunks_sealed: int

    async def load(self) -> None:
        raise NotImplementedError

    async def claim(self, now: float, limit: int = 100, lease: float = 60.0) -> list[str]:
        """Up to about `limit` due buckets, taken evenly from every partition."""
        each = max(1, -(-limit // keys.PARTITIONS))
        for attempt in (1, 2):
            pipe = self.redis.pipeline(transaction=False)
            for part in range(keys.PARTITIONS):
                self.claim_script.queue(
                    pipe,
                    [keys.rollup_due(part), keys.rollup_claimed(part)],
                    [repr(now), repr(now + lease), each],
                )
            answers = await pipe.execute(raise_on_error=False)
            if attempt == 1 and any(isinstance(a, NoScriptError) for a in answers):
                await self.load()
                continue
            break
        errors = [a for a in answers if isinstance(a, Exception)]
        claimed = [m for a in answers if not isinstance(a, Exception) for m in texts(a)]
        if errors and not claimed:
            raise errors[0]
        return claimed

    async def roll(self, members: Sequence[str], now: float) -> int:
        """Recompute each claimed bucket from the level below it; returns slots written.

        On failure the buckets go back to due, to be claimed again.
        """
        seals = [(m, p) for m, p in ((x, sealing.parse_member(x)) for x in members) if p]
        sealed = {m for m, _ in seals}
        parsed = [(m, parse_member(m)) for m in members if m not in sealed]
        bad = [m for m, p in parsed if p is None]
        if bad:
            log.warning("dropped %d malformed rollup entries", len(bad))
            drop = self.redis.pipeline(transaction=False)
            for part in range(keys.PARTITIONS):
                drop.zrem(keys.rollup_claimed(part), *bad)
            await drop.execute()
        todo = [(m, p) for m, p in parsed if p is not None] + seals
        if not todo:
            return 0
        try:
            if seals:
                await self._seal(seals)
            return await self._roll(todo[: len(todo) - len(seals)], now) if parsed else 0
        except Exception:
            back = self.redis.pipeline(transaction=False)
            for m, (_, _, host) in todo:
                part = keys.partition(host)
                back.zrem(keys.rollup_claimed(part), m)
                back.zadd(keys.rollup_due(part), {m: now + 1}, nx=True)
            await back.execute()
            raise

    async def _seal(self, todo: list[tuple[str, tuple[Resolution, int, str]]]) -> None:
        """Seal the claimed chunks of every series of their hosts."""
        pipe = self.redis.pipeline(transaction=False)
        for _, (_, chunk, host) in todo:
            pipe.zrangebyscore(keys.series_names(host), RAW.chunk_of(chunk), "+inf")
        names = [texts(n) for n in await pipe.execute()]
        try:
            self.chunks_sealed += await sealing.seal(
                self.redis, self.replace_script, [p for _, p in todo], names
            )
        except NoScriptError:
            await self.load()
            raise
        done = self.redis.pipeline(transaction=False)
        for m, (_, _, host) in todo:
            done.zrem(keys.rollup_claimed(keys.partition(host)), m)
        await done.execute()

    async def _roll(self, todo: list[tuple[str, tuple[Resolution, int, str]]], now: float) -> int:
        if not todo:
            return 0
        pipe = self.redis.pipeline(transaction=False)
        for _, (_, bucket, host) in todo:
            pipe.zrangebyscore(keys.series_names(host), RAW.chunk_of(bucket), "+inf")
        name_lists = [texts(names) for names in await pipe.execute()]

        reads = self.redis.pipeline(transaction=False)
        for (_, (res, bucket, host)), names in zip(todo, name_lists, strict=True):
            child = _child(res)
            if names:
                chunk = child.chunk_of(bucket)
                self.read_script.queue(
                    reads,
                    [keys.series_chunk(host, child.name, n, chunk) for n in names],
                    [child.offset(bucket), res.step // child.step * child.width],
                )
        try:
            answers = iter(await reads.execute())
        except NoScriptError:
            await self.load()
            raise

        writes = self.redis.pipeline(transaction=False)
        wrote: list[tuple[int, str, str, list[str]]] = []  # pipeline index, member, host, keys
        slots = 0
        for (member, (res, bucket, host)), names in zip(todo, name_lists, strict=True):
            if names:
                child = _child(res)
                off, length = child.offset(bucket), res.step // child.step * child.width
                blobs = [sealing.slots(b, off, length, whole=False) for b in next(answers)]
                rolled = [(n, _roll_one(child, b)) for n, b in zip(names, blobs, strict=True)]
                present = [(n, a) for n, a in rolled if a is not None]
                if present:
                    chunk = res.chunk_of(bucket)
                    chunk_keys = [keys.series_chunk(host, res.name, n, chunk) for n, _ in present]
                    wrote.append((len(writes), member, host, chunk_keys))
                    self.write_script.queue(
                        writes,
                        [keys.series_names(host), *chunk_keys],
                        windows.slot_write_args(res, bucket, present),
                    )
                    slots += len(present)
                    sealing.queue_schedule(writes, res, chunk, host, now)
                    if child is RAW:
                        sealing.queue_schedule(writes, RAW, RAW.chunk_of(bucket), host, now)
                    parent = windows.PARENT_OF.get(res.name)
                    if parent is not None:
                        pb = parent.bucket(bucket)
                        writes.zadd(
                            keys.rollup_due(keys.partition(host)),
                            {due_member(parent, pb, host): windows.due_at(parent, pb, now)},
                            nx=True,
                        )
            if res is windows.HOUR:
                # Series a host stopped having leave the index once their data has expired.
                writes.zremrangebyscore(
                    keys.series_names(host), "-inf", now - windows.HOUR.retention
                )
            writes.zrem(keys.rollup_claimed(keys.partition(host)), member)
        try:
            done = await writes.execute()
        except NoScriptError:
            await self.load()
            raise
        # A bucket whose chunk was sealed meanwhile: unseal it and roll the bucket again.
        unseal: list[str] = []
        again = self.redis.pipeline(transaction=False)
        for at, member, host, chunk_keys in wrote:
            sealed_at = [int(i) for i in done[at][1]]
            if sealed_at:
                unseal += [chunk_keys[i - 1] for i in sealed_at]
                slots -= len(sealed_at)
                again.zadd(keys.rollup_due(keys.partition(host)), {member: now})
        if unseal:
            await sealing.unseal(self.redis, self.replace_script, unseal)
            await again.execute()
        return slots


def _child(res: Resolution) -> Resolution:
    return windows.RESOLUTIONS[windows.RESOLUTIONS.index(res) - 1]


def _roll_one(child: Resolution, blob: bytes) -> Agg | None:
    if child is RAW:
        return windows.rollup(windows.unpack_floats(blob))
    return windows.combine(windows.unpack_aggs(blob))


def due_member(res: Resolution, bucket: int, host: str) -> str:
    return f"{res.name}|{bucket}|{host}"


def parse_member(member: str) -> tuple[Resolution, int, str] | None:
    try:
        name, bucket, host = member.split("|", 2)
        res = windows.BY_NAME[name]
        return (res, int(bucket), host) if res is not RAW else None
    except (ValueError, KeyError):
        return None
