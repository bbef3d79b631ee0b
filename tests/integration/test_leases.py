"""Leases in a real JetStream KV bucket: split, take-over after a death, rebalance, margin."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import nats
import pytest
from nats.js.kv import KeyValue

from tests.helpers import eventually
from vitals_core.leases import LeaseKeeper, open_bucket

LEASE = 1.5
P = 16


@pytest.fixture
async def kv(nats_url: str) -> AsyncIterator[KeyValue]:
    nc = await nats.connect(nats_url)
    yield await open_bucket(nc.jetstream(), "test_leases", LEASE)
    await nc.close()


class Running:
    """Keepers running their rounds until the test ends."""

    def __init__(self) -> None:
        self.stop = asyncio.Event()
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, keeper: LeaseKeeper) -> LeaseKeeper:
        self.tasks[keeper.me] = asyncio.create_task(keeper.run(self.stop))
        return keeper

    async def kill(self, keeper: LeaseKeeper) -> None:
        """Die without a word: no release, no more renewals."""
        task = self.tasks.pop(keeper.me)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    r = Running()
    yield r
    r.stop.set()
    for task in r.tasks.values():
        task.cancel()


def split(*keepers: LeaseKeeper) -> bool:
    sets = [k.usable() for k in keepers]
    union = set().union(*sets)
    return union == set(range(P)) and sum(len(s) for s in sets) == P


async def test_two_keepers_split_and_one_takes_over_when_the_other_dies(
    kv: KeyValue, running: Running
) -> None:
    a = running.start(LeaseKeeper(kv, "a", P, LEASE, release_at_once=True))
    await eventually(lambda: len(a.usable()) == P, timeout=10)
    b = running.start(LeaseKeeper(kv, "b", P, LEASE, release_at_once=True))
    await eventually(lambda: split(a, b) and len(b.usable()) == P // 2, timeout=15)
    assert len(a.usable()) == P // 2

    taken_from_b = b.usable()
    await running.kill(b)
    died = time.monotonic()
    await eventually(lambda: a.usable() == set(range(P)), timeout=15, interval=0.05)
    print(f"takeover after {time.monotonic() - died:.2f}s (lease {LEASE}s)")
    assert taken_from_b <= a.usable()

    c = running.start(LeaseKeeper(kv, "c", P, LEASE, release_at_once=True))
    await eventually(lambda: split(a, c) and len(c.usable()) == P // 2, timeout=15)


async def test_a_released_partition_is_claimed_without_waiting_for_the_ttl(
    kv: KeyValue, running: Running
) -> None:
    a = LeaseKeeper(kv, "a", P, LEASE)
    await a.step()
    assert a.usable() == set(range(P))
    b = LeaseKeeper(kv, "b", P, LEASE)
    await b.step()  # b is a member now; a sees it at its next round
    await a.step()
    assert len(a.releasing()) == P // 2
    await a.release(a.releasing())
    await b.step()
    assert split(a, b)


async def test_a_lease_not_renewed_stops_being_usable_before_it_can_expire(
    kv: KeyValue,
) -> None:
    now = [1000.0]
    a = LeaseKeeper(kv, "a", P, LEASE, clock=lambda: now[0])
    await a.step()
    assert a.usable() == set(range(P))
    now[0] += LEASE - a.margin_s - 0.01
    assert a.usable() == set(range(P))
    now[0] += 0.02
    assert a.usable() == set()  # the server keeps the lease `margin` longer: nobody overlaps
    b = LeaseKeeper(kv, "b", P, LEASE)
    await b.step()
    assert b.usable() == set()  # not expired on the server yet
