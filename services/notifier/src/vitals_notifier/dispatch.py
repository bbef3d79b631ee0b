"""Per-receiver queues and workers: send, retry with backoff, record, dead-letter.

Each receiver has its own bounded schedule and workers, so a slow or failing receiver
never delays another. Every attempt is recorded; a delivery leaves the outbox only when
it was delivered or moved to the dead letters.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import itertools
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from vitals_core.control import AttemptRecord
from vitals_notifier import retry
from vitals_notifier.channels import Channel, Outcome
from vitals_notifier.records import DeadLetter, Delivery
from vitals_notifier.selfalerts import DeadAlarms
from vitals_notifier.stats import Counters
from vitals_notifier.store import Disabled, Store

log = logging.getLogger("vitals.notifier.dispatch")

Clock = Callable[[], float]
OnGone = Callable[[str, str], Awaitable[None]]
STORE_RETRY_S = 1.0
REPLAYED_KEPT = 10_000


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


class ReceiverQueue:
    """The deliveries waiting for one receiver, ordered by when they are due."""

    def __init__(self, name: str, channel: Channel, concurrency: int, max_size: int) -> None:
        self.name = name
        self.channel = channel
        self.concurrency = concurrency
        self.max_size = max_size
        self._heap: list[tuple[float, int, str]] = []
        self._items: dict[str, Delivery] = {}
        self._order = itertools.count()
        self._changed = asyncio.Event()
        self.in_flight = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, delivery_id: str) -> bool:
        return delivery_id in self._items

    def push(self, d: Delivery) -> bool:
        if d.notification.id in self._items:
            return True
        if len(self._items) >= self.max_size:
            return False
        self._items[d.notification.id] = d
        heapq.heappush(self._heap, (d.next_at, next(self._order), d.notification.id))
        self._changed.set()
        return True

    def forget(self, which: Callable[[Delivery], bool]) -> int:
        gone = [did for did, d in self._items.items() if which(d)]
        for did in gone:
            del self._items[did]  # its heap entry is skipped when it comes up
        return len(gone)

    def drain(self) -> list[Delivery]:
        items = list(self._items.values())
        self._items.clear()
        self._heap.clear()
        return items

    async def next_due(self, clock: Clock) -> Delivery:
        while True:
            delay = None
            while self._heap:
                due, _, did = self._heap[0]
                if did not in self._items:
                    heapq.heappop(self._heap)
                    continue
                delay = due - clock()
                if delay <= 0:
                    heapq.heappop(self._heap)
                    return self._items.pop(did)
                break
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), delay)


class Dispatcher:
    def __init__(
        self,
        store: Store,
        channels: dict[str, Channel],
        urls: dict[str, str],
        policy: retry.Policy,
        *,
        concurrency: dict[str, int],
        queue_size: int,
        counters: Counters,
        on_gone: OnGone,
        alarms: DeadAlarms | None = None,
        clock: Clock = time.time,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.store = store
        self.urls = urls
        self.policy = policy
        self.counters = counters
        self.on_gone = on_gone
        self.alarms = alarms
        self.clock = clock
        self.rand = rand
        self.queues = {
            name: ReceiverQueue(name, ch, concurrency[name], queue_size)
            for name, ch in channels.items()
        }
        self.disabled: dict[str, Disabled] = {}
        self._tasks: list[asyncio.Task[None]] = []
        # Whether this replica still owns a delivery's group (replicas share them by lease):
        # a retry of one it no longer owns is left in the outbox to the new owner.
        self.owns: Callable[[Delivery], bool] = lambda _d: True
        # Replayed here, whoever owns the group: retried here to the end (bounded).
        self.replayed: OrderedDict[str, None] = OrderedDict()

    async def start(self, pending: list[Delivery], disabled: dict[str, Disabled]) -> None:
        self.disabled = {
            name: state
            for name, state in disabled.items()
            if name in self.urls and state.url_hash == url_hash(self.urls[name])
        }
        for d in pending:
            await self.submit(d)
        for q in self.queues.values():
            for i in range(q.concurrency):
                self._tasks.append(asyncio.create_task(self._worker(q), name=f"{q.name}-{i}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for q in self.queues.values():
            await q.channel.close()

    def forget(self, which: Callable[[Delivery], bool]) -> int:
        """Drop queued deliveries (they stay in the outbox, for their group's new owner)."""
        dropped = 0
        for q in self.queues.values():
            dropped += q.forget(which)
        return dropped

    def pending(self) -> dict[str, int]:
        return {name: len(q) + q.in_flight for name, q in self.queues.items()}

    async def submit(self, d: Delivery) -> None:
        """Queue a recorded delivery (or dead-letter it when its receiver cannot take it)."""
        name = d.notification.receiver
        q = self.queues.get(name)
        if q is None:
            await self.bury(d, f"receiver {name!r} is no longer configured", alarm=False)
        elif name in self.disabled:
            # The receiver's `notifier_receiver_gone` alert already says so.
            await self.bury(d, f"receiver disabled: {self.disabled[name].reason}", alarm=False)
        elif not q.push(d):
            self.counters.inc("queue_full")
            await self.bury(d, f"queue of {name} is full ({q.max_size} deliveries)")

    async def bury(
        self, d: Delivery, reason: str, status: int | None = None, *, alarm: bool = True
    ) -> None:
        """Move a delivery to the dead letters; with `alarm`, raise (or join) the receiver's
        dead-letter alert."""
        letter = DeadLetter(delivery=d, reason=reason, dead_at=self.clock(), status=status)
        await self.store.bury(letter)
        self.counters.inc("dead_letters")
        log.warning("dead letter %s for %s: %s", d.notification.id, d.notification.receiver, reason)
        if alarm and self.alarms is not None:
            await self.alarms.dead(d.notification.receiver, reason)

    async def _worker(self, q: ReceiverQueue) -> None:
        while True:
            d = await q.next_due(self.clock)
            q.in_flight += 1
            try:
                await self._attempt(q, d)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The store could not be reached: keep the delivery and try again shortly.
                log.exception("recording a delivery to %s failed", q.name)
                self.counters.inc("store_errors")
                d.next_at = self.clock() + STORE_RETRY_S
                if self._keeps(d):
                    q.push(d)
            finally:
                q.in_flight -= 1

    async def _attempt(self, q: ReceiverQueue, d: Delivery) -> None:
        n = d.notification
        number = d.attempts + 1
        started = time.monotonic()
        try:
            outcome = await q.channel.send(n, self.clock())
        except Exception as exc:
            # A fault of ours, not the receiver's: counted like any failure, so it ends.
            log.exception("sending %s to %s failed", n.id, q.name)
            outcome = Outcome(ok=False, retry=True, error=f"internal error: {type(exc).__name__}")
        latency_ms = (time.monotonic() - started) * 1000.0
        now = self.clock()
        record = AttemptRecord(
            id=n.id, receiver=q.name, channel=q.channel.kind, attempt=number, at=now,
            latency_ms=round(latency_ms, 3), result="delivered", status=outcome.status,
            error=outcome.error, group_key=n.group_key,
        )  # fmt: skip
        if outcome.ok:
            self.counters.inc("delivered")
            await asyncio.gather(self.store.log_attempt(record), self.store.done(n.id))
            if self.alarms is not None:
                await self.alarms.delivered(q.name)
            return
        self.counters.inc("failed_attempts")
        d.attempts, d.last_error = number, outcome.error
        if outcome.refused:
            record.result = "refused"
            self.counters.inc("refused")
            await self.store.log_attempt(record)
            await self.bury(d, outcome.error, outcome.status)
        elif outcome.gone:
            record.result = "dead"
            await self.store.log_attempt(record)
            await self._disable(q, d, outcome)
        elif outcome.retry:
            decision = retry.after_failure(
                self.policy, number, d.first_at, now, self.rand(), outcome.retry_after
            )
            if decision.retry_at is None:
                record.result = "dead"
                await self.store.log_attempt(record)
                await self.bury(
                    d, f"{decision.reason}; last error: {outcome.error}", outcome.status
                )
                return
            d.next_at = record.next_at = decision.retry_at
            record.result = "retry"
            await self.store.log_attempt(record)
            await self.store.save(d)
            self.counters.inc("retries")
            if self._keeps(d):
                q.push(d)
        else:
            record.result = "dead"
            await self.store.log_attempt(record)
            await self.bury(d, f"not retried: {outcome.error}", outcome.status)

    async def _disable(self, q: ReceiverQueue, d: Delivery, outcome: Outcome) -> None:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self.clock()))
        reason = f"{outcome.error} at {when} UTC"
        state = Disabled(
            url_hash=url_hash(self.urls.get(q.name, "")), reason=reason, at=self.clock()
        )
        self.disabled[q.name] = state
        await self.store.disable(q.name, state)
        self.counters.inc("receivers_disabled")
        log.error("receiver %s answered 410 Gone: disabled until a dead letter is replayed", q.name)
        await self.bury(d, f"receiver disabled: {reason}", outcome.status, alarm=False)
        for other in q.drain():
            await self.bury(other, f"receiver disabled: {reason}", alarm=False)
        await self.on_gone(q.name, outcome.error)

    def _keeps(self, d: Delivery) -> bool:
        return self.owns(d) or d.notification.id in self.replayed

    async def replay(self, letter: DeadLetter) -> Delivery:
        """Put a dead letter back in the outbox with its id, as if new; re-enables its receiver."""
        d = letter.delivery
        now = self.clock()
        d.attempts, d.first_at, d.next_at, d.last_error = 0, now, now, ""
        name = d.notification.receiver
        if name in self.disabled:
            del self.disabled[name]
            await self.store.enable(name)
            log.info("receiver %s re-enabled by a replay", name)
        # Back in the outbox before leaving the dead letters: a failure loses nothing.
        await self.store.save(d)
        await self.store.forget_dead(d.notification.id)
        self.replayed[d.notification.id] = None
        while len(self.replayed) > REPLAYED_KEPT:
            self.replayed.popitem(last=False)
        await self.submit(d)
        return d
