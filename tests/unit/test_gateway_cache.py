"""Cached answers: kept for the TTL, one computation for concurrent misses."""

from __future__ import annotations

import asyncio

import pytest

from vitals_gateway.cache import TtlCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_answers_are_kept_for_the_ttl_then_refreshed_behind_the_stale_one() -> None:
    clock = Clock()
    cache = TtlCache(ttl=30.0, clock=clock)
    calls = []

    async def compute() -> int:
        calls.append(clock.now)
        return len(calls)

    assert await cache.get("k", compute) == 1
    clock.now = 29.9
    assert await cache.get("k", compute) == 1
    clock.now = 30.0
    assert await cache.get("k", compute) == 1  # stale, while a refresh runs
    await asyncio.gather(*cache.refreshing)
    assert await cache.get("k", compute) == 2
    assert calls == [0.0, 30.0]
    assert await cache.get("other", compute) == 3


async def test_concurrent_misses_share_one_computation_and_its_failure() -> None:
    cache = TtlCache(ttl=5.0)
    started = asyncio.Event()
    release = asyncio.Event()
    calls = 0

    async def slow() -> str:
        nonlocal calls
        calls += 1
        started.set()
        await release.wait()
        return "answer"

    tasks = [asyncio.create_task(cache.get("k", slow)) for _ in range(5)]
    await started.wait()
    release.set()
    assert await asyncio.gather(*tasks) == ["answer"] * 5
    assert calls == 1

    async def broken() -> str:
        raise RuntimeError("redis down")

    with pytest.raises(RuntimeError):
        await cache.get("bad", broken)


async def test_ttl_zero_never_caches() -> None:
    cache = TtlCache(ttl=0.0)
    n = 0

    async def compute() -> int:
        nonlocal n
        n += 1
        return n

    assert [await cache.get("k", compute) for _ in range(3)] == [1, 2, 3]


async def test_an_answer_computed_across_a_discard_is_not_kept() -> None:
    cache = TtlCache(ttl=30.0, clock=Clock())
    fleet: list[str] = []
    release = asyncio.Event()

    async def slow_compute() -> list[str]:
        seen = list(fleet)  # read before the change...
        await release.wait()
        return seen

    async def compute() -> list[str]:
        return list(fleet)

    first = asyncio.create_task(cache.get("fleet", slow_compute))
    await asyncio.sleep(0)
    fleet.append("web-1")  # ...a host is stored, and the cached answer dropped
    cache.discard("fleet")
    release.set()
    assert await first == []  # its caller gets what it computed
    assert await cache.get("fleet", compute) == ["web-1"]  # the next one does not
    assert cache.generations == {}


async def test_no_answer_older_than_the_ttl_and_one_refresh_is_served() -> None:
    clock = Clock()
    cache = TtlCache(ttl=30.0, clock=clock)
    release = asyncio.Event()
    calls = 0

    async def compute() -> int:
        nonlocal calls
        calls += 1
        if calls > 1:
            await release.wait()  # the refresh hangs (Redis slow)
        return calls

    assert await cache.get_aged("k", compute) == (1, 0.0)
    clock.now = 45.0
    assert await cache.get_aged("k", compute) == (1, 45.0)  # stale while its refresh runs
    # Past TTL + one refresh interval the old answer is not handed out: callers wait.
    clock.now = 61.0
    late = asyncio.create_task(cache.get_aged("k", compute))
    await asyncio.sleep(0.01)
    assert not late.done()
    release.set()
    assert await late == (2, 0.0)
    assert calls == 2


async def test_a_stale_answer_whose_refresh_failed_expires_too() -> None:
    clock = Clock()
    cache = TtlCache(ttl=10.0, clock=clock)
    answers: list[int | Exception] = [1, RuntimeError("redis down")]

    async def compute() -> int:
        answer = answers.pop(0) if answers else 3
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert await cache.get("k", compute) == 1
    clock.now = 15.0
    assert await cache.get("k", compute) == 1  # its refresh fails in the background
    await asyncio.gather(*cache.refreshing)
    clock.now = 21.0
    assert await cache.get_aged("k", compute) == (3, 0.0)
