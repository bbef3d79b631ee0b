"""Leases in a real JetStream KV bucket: split, take-over after a death, rebalance, margin."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import nats
import pytest
from nats.js.api import KeyValueConfig

from tests.helpers import eventually
from vitals_core.kvread import Bucket
from vitals_core.leases import LeaseKeeper, open_bucket

LEASE = 1.5
P = 16


@pytest.fixture
async def kv(nats_url: str) -> AsyncIterator[Bucket]:
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
    kv: Bucket, running: Running
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
    kv: Bucket, running: Running
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
    kv: Bucket,
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


async def test_a_lease_and_a_heartbeat_the_server_does_not_expire_go_stale_by_revision(
    nats_url: str,
) -> None:
    """Takeover does not hang on the server's TTL: entries whose revision has not moved for
    a lease time, as the keeper itself read them, count as dead (here the bucket has no TTL
    at all, as a stream leader that was just restored may fail to expire entries)."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await js.create_key_value(KeyValueConfig(bucket="test_no_ttl", history=1))
        kv = Bucket(js, "test_no_ttl")
        await kv.put("lease.3", b"gone")
        await kv.put("member.gone", b"1")
        now = [1000.0]
        a = LeaseKeeper(kv, "a", P, LEASE, clock=lambda: now[0])

        await a.step()
        assert a.members == {"a", "gone"}  # read for the first time: alive so far
        assert len(a.usable()) == P // 2
        assert 3 not in a.usable()

        now[0] += LEASE + 0.01  # the same revisions, a lease time later
        await a.step()
        await a.step()
        assert a.members == {"a"}
        assert a.usable() == set(range(P))
        assert (await kv.get("lease.3")).value == b"a"
    finally:
        await nc.close()


async def test_a_claim_on_a_revision_someone_renewed_since_is_refused(kv: Bucket) -> None:
    now = [1000.0]
    a = LeaseKeeper(kv, "a", 1, LEASE, clock=lambda: now[0])
    await a.step()
    assert a.usable() == {0}
    b = LeaseKeeper(kv, "b", 1, LEASE, clock=lambda: now[0])
    await b.step()
    # b read a's lease at one revision; a renews before b judges that revision stale.
    now[0] += LEASE + 0.01
    revision = (await kv.get("lease.0")).revision or 0
    await kv.update("lease.0", b"a", last=revision)
    await b._claim(0, revision)
    assert b.usable() == set()
    assert b.refused == 1
    assert (await kv.get("lease.0")).value == b"a"
