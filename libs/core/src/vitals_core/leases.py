"""Ownership of numbered partitions by live replicas, through leases in a JetStream KV bucket.

A service that shares work between replicas cuts it into a fixed number of partitions
(`0 .. partitions-1`) and lets each replica own some of them. The bucket has a TTL (the
lease time): an entry that nobody rewrites disappears by itself, so a replica that dies
loses its leases and its membership within one lease time, with no one deciding it.

Keys in the bucket:
- `lease.<p>`: the id of the replica owning partition `p`. Renewed with
  `update(last=revision)` (compare-and-set: fails when it expired and someone else claimed
  it), released with `delete(last=revision)`, claimed with `update(last=r)` where `r` is
  the revision the claimer read (0 for a key it did not see, the delete marker's revision
  for a released one): a claim fails if anyone wrote the key since it was read.
- `member.<id>`: each live replica's heartbeat, rewritten every renewal; the number of
  these is the N of the fair share `ceil(partitions / N)`.

The TTL is not the only judge of death. Each keeper also notes when it first read each
key's current revision; a lease or heartbeat whose revision has not moved for a whole
lease time (on the reader's own clock) is dead to it, whether or not the server has
expired it yet. A lease renewed in time always has a newer revision; an old revision can
only be claimed by compare-and-set on it, so a renewal that lands first wins. This keeps
takeover within a lease time when the server is slow to expire entries (a stream leader
that was just restored) or a release's delete was lost.

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

from vitals_core import kvread, reconcile
from vitals_core.quietlog import RateLimitedLog

log = logging.getLogger("vitals.leases")

LEASE_PREFIX = "lease."
# A round is a few requests; one that hangs this long is abandoned and started again.
ROUND_TIMEOUT_S = 30.0
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


@dataclass(slots=True)
class View:
    """The bucket as one keeper read it: live leases and members, and the revision to
    claim each lease key on (absent: the key was not there at all)."""

    leases: dict[int, str]
    members: set[str]
    revisions: dict[int, int]


async def open_bucket(
    js: JetStreamContext, name: str, lease_s: float, replicas: int = 1
) -> kvread.Bucket:
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
        kv: kvread.Bucket,
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
        self.refused = 0  # claims someone else's write beat
        # Key -> (revision, when this keeper first read that revision): a revision that
        # stays the same for a lease time belongs to a replica that is gone.
        self._first_read: dict[str, tuple[int, float]] = {}
        self._short_since: float | None = None
        self._short_log = RateLimitedLog(log, 30.0)
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
                async with asyncio.timeout(ROUND_TIMEOUT_S):
                    await self.step()
            except (nats.errors.Error, TimeoutError) as exc:
                self.errors += 1
                log.warning("lease round failed (%s); leases lapse unless renewed", exc)
            except Exception:
                # A fault of ours or of the client: the keeper must outlive any one round.
                self.errors += 1
                log.exception("lease round failed; leases lapse unless renewed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.renew_s)

    async def step(self) -> Plan:
        """One round: heartbeat, renew what is held, read the bucket, claim, mark releases."""
        async with self._lock:
            return await self._step()

    async def _step(self) -> Plan:
        await self.kv.put(_member_key(self.me), b"1")
        await self._renew()
        view = await self._read()
        self.members = view.members
        # Leases the bucket says are ours but we do not hold (a claim whose answer was
        # lost, a release whose delete was) are left to go stale like any other.
        decided = plan(self.usable(), view.leases, view.members, self.me, self.partitions)
        for p in decided.claims:
            await self._claim(p, view.revisions.get(p, 0))
        self._check_share(view)
        self._releasing |= set(decided.releases)
        if self.release_at_once and self._releasing:
            await self._release(self._releasing)
        return decided

    def _check_share(self, view: View) -> None:
        """Say so when this replica stays below its fair share: partitions may be held by
        no one that works on them (what the keepers read is not what the server has)."""
        share = fair_share(self.partitions, len(view.members | {self.me}))
        if len(self.usable()) >= share or len(view.leases) < self.partitions:
            self._short_since = None
            return
        now = self.clock()
        if self._short_since is None:
            self._short_since = now
        elif now - self._short_since > 2 * self.lease_s:
            others = {p: owner for p, owner in view.leases.items() if p not in self.held}
            self._short_log.warning(
                "holding %d partitions, below a fair share of %d for %.0fs: every other "
                "lease is held (%s), members %s", len(self.usable()), share,
                now - self._short_since, others, sorted(view.members),
            )  # fmt: skip

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

    async def _claim(self, p: int, last: int) -> None:
        sent = self.clock()
        try:
            revision = await self.kv.update(_lease_key(p), self.me.encode(), last=last)
        except (KeyWrongLastSequenceError, BadRequestError) as exc:
            # Someone else was quicker, or renewed it: read again next round.
            self.refused += 1
            log.debug("claim of partition %d at revision %d refused (%s)", p, last, exc)
            return
        except (nats.errors.Error, TimeoutError) as exc:
            self.errors += 1
            log.warning("could not claim partition %d (%s)", p, exc)
            return
        self.held[p] = _Held(revision, sent + self.lease_s - self.margin_s)

    async def _read(self) -> View:
        now = self.clock()
        view = View(leases={}, members=set(), revisions={})
        first_read: dict[str, tuple[int, float]] = {}
        # Few tries: a round that cannot read is retried at the next, renewals come first.
        for key, entry in (await kvread.snapshot(self.kv, attempts=2)).items():
            revision = int(entry.revision or 0)
            seen = self._first_read.get(key)
            since = seen[1] if seen is not None and seen[0] == revision else now
            first_read[key] = (revision, since)
            value = b"" if kvread.is_delete(entry) else entry.value or b""
            live = bool(value) and now - since < self.lease_s
            if key.startswith(MEMBER_PREFIX):
                if live:
                    view.members.add(key[len(MEMBER_PREFIX) :])
            elif key.startswith(LEASE_PREFIX):
                with contextlib.suppress(ValueError):
                    p = int(key[len(LEASE_PREFIX) :])
                    view.revisions[p] = revision
                    if live:
                        view.leases[p] = value.decode()
        self._first_read = first_read
        return view


def _lease_key(p: int) -> str:
    return f"{LEASE_PREFIX}{p}"


def _member_key(me: str) -> str:
    return f"{MEMBER_PREFIX}{me}"
