"""Ownership of numbered partitions by live replicas, through leases in a JetStream KV bucket.

A service that shares work between replicas cuts it into a fixed number of partitions
(`0 .. partitions-1`) and lets each replica own some of them. The bucket has a TTL (the
lease time): an entry that nobody rewrites disappears by itself, so a replica that dies
loses its leases and its membership within one lease time, with no one deciding it.

Keys in the bucket:
- `lease.<p>`: the id of the replica owning partition `p`. Claimed with `create` (fails
  when it exists), renewed with `update(last=revision)` (compare-and-set: fails when it
  expired and someone else claimed it), released with `delete(last=revision)`.
- `member.<id>`: each live replica's heartbeat, rewritten every renewal; the number of
  these is the N of the fair share `ceil(partitions / N)`.

`plan` decides, purely, what to claim and what to give back; `LeaseKeeper` is the thin shell
that reads the bucket, renews, claims and releases. The service using it asks
`usable()` before every unit of work: a lease counts as usable only until `lease - margin`
after the renewal that last succeeded was *sent*, so a replica whose renewals fail stops
before the server can let anyone else claim the partition. A partition in `releasing()` is
still usable; the service finishes with it (saves what it must) and calls `release`, or
passes `release_at_once=True` when it has nothing to save first.

Usage (alerter, notifier):

    kv = await open_bucket(js, "my_leases", lease_s=5.0)
    keeper = LeaseKeeper(kv, me="replica-id", partitions=16, lease_s=5.0)
    task = asyncio.create_task(keeper.run(stop))
    ...  each unit of work: for p in keeper.usable(): ...
    ...  hand back: await keeper.release(keeper.releasing())
    ...  at exit: await keeper.release(keeper.usable())
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import zlib
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BadRequestError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from vitals_core import reconcile

log = logging.getLogger("vitals.leases")

LEASE_PREFIX = "lease."
MEMBER_PREFIX = "member."


@dataclass(frozen=True, slots=True)
class Plan:
    claims: tuple[int, ...] = ()
    releases: tuple[int, ...] = ()


def fair_share(partitions: int, members: int) -> int:
    return math.ceil(partitions / max(1, members))


def preference(me: str, partition: int) -> int:
    """Rendezvous hash: replicas prefer different free partitions, so claims rarely race."""
    return zlib.crc32(f"{me}/{partition}".encode())


def plan(
    owned: Collection[int],
    leases: Mapping[int, str],
    members: Collection[str],
    me: str,
    partitions: int,
) -> Plan:
    """What `me` should claim and give back.

    `owned`: the partitions `me` holds a usable lease on; `leases`: partition -> owner as
    the bucket has them now (expired ones are gone); `members`: the live replicas (`me`
    counts whether listed or not). A replica holding more than its fair share releases
    the ones it prefers least; one holding fewer claims free partitions it prefers most.
    A lease held by someone else is never taken: it expires on its own if they died.
    """
    share = fair_share(partitions, len(set(members) | {me}))
    mine = sorted(owned, key=lambda p: (preference(me, p), p))
    if len(mine) > share:
        return Plan(releases=tuple(sorted(mine[: len(mine) - share])))
    free = [p for p in range(partitions) if p not in leases and p not in owned]
    free.sort(key=lambda p: (-preference(me, p), p))
    return Plan(claims=tuple(sorted(free[: share - len(mine)])))


@dataclass(slots=True)
class _Held:
    revision: int
    valid_until: float  # on the keeper's monotonic clock


async def open_bucket(
    js: JetStreamContext, name: str, lease_s: float, replicas: int = 1
) -> KeyValue:
    """The lease bucket, created with a TTL of one lease time, or reconciled to `replicas`."""
    config = KeyValueConfig(
        bucket=name, history=1, ttl=lease_s, storage=StorageType.FILE, replicas=replicas
    )
    kv = await reconcile.ensure_bucket(js, config)
    status = await kv.status()
    if status.ttl is not None and abs(status.ttl - lease_s) > 0.01:
        log.warning(
            "lease bucket %s has a TTL of %.1fs, the configured lease is %.1fs; "
            "the bucket's TTL decides when a dead replica's leases expire",
            name, status.ttl, lease_s,
        )  # fmt: skip
    return kv


class LeaseKeeper:
    def __init__(
        self,
        kv: KeyValue,
        me: str,
        partitions: int,
        lease_s: float,
        renew_s: float | None = None,
        margin_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        release_at_once: bool = False,
    ) -> None:
        self.kv = kv
        self.me = me
        self.partitions = partitions
        self.lease_s = lease_s
        self.renew_s = renew_s if renew_s is not None else lease_s * 0.3
        # Stop using a lease this long before it could have expired on the server.
        self.margin_s = margin_s if margin_s is not None else lease_s * 0.25
        self.clock = clock
        # True for a service with nothing to save before it hands a partition back.
        self.release_at_once = release_at_once
        self.held: dict[int, _Held] = {}
        self._releasing: set[int] = set()
        self.members: set[str] = set()
        self.errors = 0
        # A round and a release never interleave: each sees the other's result whole.
        self._lock = asyncio.Lock()

    def usable(self) -> set[int]:
        now = self.clock()
        return {p for p, h in self.held.items() if now < h.valid_until}

    def releasing(self) -> set[int]:
        return self._releasing & set(self.held)

    async def release(self, partitions: Iterable[int]) -> None:
        """Give leases back now (their work is saved), so others need not wait for the TTL."""
        async with self._lock:
            await self._release(partitions)

    async def _release(self, partitions: Iterable[int]) -> None:
        for p in sorted(set(partitions)):
            held = self.held.pop(p, None)
            self._releasing.discard(p)
            if held is not None:
                with contextlib.suppress(nats.errors.Error, TimeoutError, KeyNotFoundError):
                    await self.kv.delete(_lease_key(p), last=held.revision)

    async def run(self, stop: asyncio.Event) -> None:
        """Heartbeat, renew, claim and plan every `renew_s` until `stop`."""
        while not stop.is_set():
            try:
                await self.step()
            except (nats.errors.Error, TimeoutError) as exc:
                self.errors += 1
                log.warning("lease round failed (%s); leases lapse unless renewed", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.renew_s)

    async def step(self) -> Plan:
        """One round: heartbeat, renew what is held, read the bucket, claim, mark releases."""
        async with self._lock:
            return await self._step()

    async def _step(self) -> Plan:
        await self.kv.put(_member_key(self.me), b"1")
        await self._renew()
        leases, members = await self._read()
        self.members = members
        # Leases the bucket says are ours but we do not hold (a restart with the same id)
        # are left to expire: we cannot know their revision was ours to renew.
        decided = plan(self.usable(), leases, members, self.me, self.partitions)
        for p in decided.claims:
            await self._claim(p)
        self._releasing |= set(decided.releases)
        if self.release_at_once and self._releasing:
            await self._release(self._releasing)
        return decided

    async def _renew(self) -> None:
        for p, held in list(self.held.items()):
            if p not in self.held:
                continue
            sent = self.clock()
            try:
                revision = await self.kv.update(_lease_key(p), self.me.encode(), last=held.revision)
            except KeyWrongLastSequenceError:
                # It expired and someone claimed it, or it was deleted: not ours any more.
                log.warning("lost the lease on partition %d", p)
                self.held.pop(p, None)
                self._releasing.discard(p)
                continue
            except (nats.errors.Error, TimeoutError) as exc:
                self.errors += 1
                log.warning("could not renew the lease on partition %d (%s)", p, exc)
                continue
            if p in self.held:
                self.held[p] = _Held(revision, sent + self.lease_s - self.margin_s)

    async def _claim(self, p: int) -> None:
        sent = self.clock()
        try:
            revision = await self.kv.create(_lease_key(p), self.me.encode())
        except (KeyWrongLastSequenceError, BadRequestError):
            return  # someone else was quicker
        except (nats.errors.Error, TimeoutError) as exc:
            self.errors += 1
            log.warning("could not claim partition %d (%s)", p, exc)
            return
        self.held[p] = _Held(revision, sent + self.lease_s - self.margin_s)

    async def _read(self) -> tuple[dict[int, str], set[str]]:
        leases: dict[int, str] = {}
        members: set[str] = set()
        watcher = await self.kv.watchall(ignore_deletes=True)
        try:
            while True:
                entry = await watcher.updates(timeout=5.0)  # type: ignore[no-untyped-call]
                if entry is None:
                    break
                if not entry.value:
                    continue
                if entry.key.startswith(MEMBER_PREFIX):
                    members.add(entry.key[len(MEMBER_PREFIX) :])
                elif entry.key.startswith(LEASE_PREFIX):
                    with contextlib.suppress(ValueError):
                        leases[int(entry.key[len(LEASE_PREFIX) :])] = entry.value.decode()
        finally:
            with contextlib.suppress(Exception):
                await watcher.stop()  # type: ignore[no-untyped-call]
        return leases, members


def _lease_key(p: int) -> str:
    return f"{LEASE_PREFIX}{p}"


def _member_key(me: str) -> str:
    return f"{MEMBER_PREFIX}{me}"
