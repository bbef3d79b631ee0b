"""Expensive answers kept for `cache_ttl` seconds (CACHE_METRICS_TIMEOUT), per replica.

Concurrent misses on one key share a single computation. Once an answer is older than the
TTL, callers still get it while one fresh computation runs in the background
(stale-while-revalidate), but only for one more refresh interval (`stale_for`, the TTL by
default): no answer older than TTL + `stale_for` is ever handed out, even when its refresh
failed or hangs; past that callers wait for a fresh one. `cached_json` keeps encoded JSON
answers, gzipped once when they are large, and says their age (`Age` header).
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, NamedTuple

from starlette.requests import Request
from starlette.responses import Response

log = logging.getLogger("vitals.gateway.cache")

GZIP_FROM = 32 * 1024  # bytes


class TtlCache:
    def __init__(
        self,
        ttl: float,
        max_entries: int = 1000,
        clock: Callable[[], float] = time.monotonic,
        stale_for: float | None = None,
    ) -> None:
        self.ttl = ttl
        self.stale_for = ttl if stale_for is None else stale_for
        self.max_entries = max_entries
        self.clock = clock
        self.entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self.inflight: dict[Hashable, asyncio.Future[Any]] = {}
        self.refreshing: set[asyncio.Task[Any]] = set()
        # Bumped by `discard`: a computation that began before it does not store its answer.
        self.generations: dict[Hashable, int] = {}

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[Any]]) -> Any:
        return (await self.get_aged(key, compute))[0]

    async def get_aged(
        self, key: Hashable, compute: Callable[[], Awaitable[Any]]
    ) -> tuple[Any, float]:
        """The answer and its age in seconds (0 when computed for this call)."""
        if self.ttl <= 0:
            return await compute(), 0.0
        hit = self.entries.get(key)
        if hit is not None:
            age = self.clock() - hit[0]
            if age < self.ttl + self.stale_for:
                if age >= self.ttl and key not in self.inflight:
                    task = asyncio.create_task(self._refresh(key, compute))
                    self.refreshing.add(task)
                    task.add_done_callback(self.refreshing.discard)
                return hit[1], age
            del self.entries[key]  # too old to hand out, whatever its refresh is doing
        running = self.inflight.get(key)
        if running is not None:
            return await asyncio.shield(running), 0.0  # computed just now
        return await self._compute(key, compute), 0.0

    def discard(self, *keys: Hashable) -> None:
        """Forget these answers: the next request computes them afresh."""
        for key in keys:
            self.entries.pop(key, None)
            if key in self.inflight:
                self.generations[key] = self.generations.get(key, 0) + 1

    async def _refresh(self, key: Hashable, compute: Callable[[], Awaitable[Any]]) -> None:
        try:
            await self._compute(key, compute)
        except Exception as exc:
            # The stale answer stays until a refresh works.
            log.warning("refreshing a cached answer failed: %s", exc)

    async def _compute(self, key: Hashable, compute: Callable[[], Awaitable[Any]]) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.inflight[key] = future
        generation = self.generations.get(key, 0)
        try:
            value = await compute()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody else must
            raise
        finally:
            self.inflight.pop(key, None)
        future.set_result(value)
        if self.generations.pop(key, 0) != generation:
            return value  # discarded while it was computed: it may predate the change
        self.entries[key] = (self.clock(), value)
        self.entries.move_to_end(key)
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)
        return value


class Body(NamedTuple):
    raw: bytes
    gzipped: bytes | None


async def cached_json(
    cache: TtlCache, request: Request, key: Hashable, compute: Callable[[], Awaitable[bytes]]
) -> Response:
    """The JSON answer from `cache` (computed on a miss), gzipped for clients that accept it."""

    accepts = "gzip" in request.headers.get("accept-encoding", "")

    async def build() -> Body:
        raw = await compute()
        # Uncached, only for this client; cached, once for every later one.
        if len(raw) < GZIP_FROM or (cache.ttl <= 0 and not accepts):
            return Body(raw, None)
        return Body(raw, await asyncio.to_thread(gzip.compress, raw, 5))

    body, age = await cache.get_aged(key, build)
    headers = {"Vary": "Accept-Encoding", "Age": str(int(age))}
    if body.gzipped is not None and accepts:
        headers["Content-Encoding"] = "gzip"
        return Response(body.gzipped, media_type="application/json", headers=headers)
    return Response(body.raw, media_type="application/json", headers=headers)
