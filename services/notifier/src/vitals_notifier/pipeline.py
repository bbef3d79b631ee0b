"""From the alert stream to the outbox: decode → route → group → record → dispatch → ack.

An event's message is acknowledged only once every group it joined has been flushed and
its delivery recorded in the outbox; until then it is held (and kept alive with
in-progress acks), so a crash makes JetStream deliver it again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from vitals_core import events
from vitals_core.events import AlertEvent, Annotation
from vitals_core.settings.notifier import NotifierSettings, RouteSettings
from vitals_notifier import grouping, records, routes
from vitals_notifier.dispatch import Dispatcher
from vitals_notifier.grouping import Groups
from vitals_notifier.records import Delivery, Item, Notification
from vitals_notifier.stats import Counters
from vitals_notifier.store import Store

log = logging.getLogger("vitals.notifier.pipeline")

T = TypeVar("T")
REMINDER_MEMORY = 100_000
STORE_BACKOFF_S = (0.2, 5.0)


class Message(Protocol):
    """The part of a JetStream message the pipeline uses."""

    data: bytes

    @property
    def metadata(self) -> Any: ...

    async def ack(self) -> None: ...

    async def term(self) -> None: ...

    async def nak(self) -> None: ...

    async def in_progress(self) -> None: ...


@dataclass
class Held:
    msg: Message
    remaining: int


@dataclass(frozen=True)
class Slot:
    """One event waiting in one group."""

    seq: int
    item: Item


class Pipeline:
    def __init__(
        self,
        settings: NotifierSettings,
        store: Store,
        dispatcher: Dispatcher,
        counters: Counters,
        *,
        routes_: list[RouteSettings],
        fallback: list[str],
        known: set[str],
        stop: asyncio.Event,
        clock: Callable[[], float] = time.time,
        owns: Callable[[str], bool] | None = None,
        counts: Callable[[int], bool] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.dispatcher = dispatcher
        self.counters = counters
        self.routes = routes_
        self.fallback = fallback
        self.known = known
        self.stop = stop
        self.clock = clock
        # Which group keys this pipeline handles (one partition of them); None: all.
        self.owns = owns
        # Every partition reads every event: the intake of one is counted by one of them.
        self.counts = counts
        self._counting = True
        self.groups: Groups[Slot] = Groups(settings.max_groups)
        self.targets: dict[str, tuple[routes.Target, dict[str, str]]] = {}
        self.held: dict[int, Held] = {}
        self.last_sent: OrderedDict[tuple[str, str], float] = OrderedDict()

    # --- intake -------------------------------------------------------------------------

    async def handle(self, msg: Message) -> None:
        seq = int(msg.metadata.sequence.stream)
        self._counting = self.counts is None or self.counts(seq)
        if seq in self.held:
            # Redelivered while still waiting in a group: acknowledge through the newer copy.
            self.held[seq].msg = msg
            return
        try:
            event = events.decode(msg.data)
        except events.InvalidEvent as exc:
            self._intake("events_invalid")
            log.warning("dropped a malformed event (stream seq %d): %s", seq, exc)
            await msg.term()
            return
        if not isinstance(event, AlertEvent | Annotation):
            self._intake("events_ignored")
            await msg.ack()
            return
        self._intake("events")
        targets = self._targets(event)
        if self.owns is not None and targets:
            targets = [t for t in targets if self.owns(group_key_of(event, t))]
            if not targets:
                await msg.ack()  # another partition's, or nobody's
                return
        if not targets:
            self._intake("events_unrouted")
            await msg.ack()
            return
        self.held[seq] = Held(msg, len(targets))
        now = self.clock()
        for t in targets:
            labels = grouping.group_labels(routes.view(event), t.grouping.group_by)
            key = grouping.group_key(t.receiver, t.route, labels)
            self.targets[key] = (t, labels)
            g = t.grouping
            if not self.groups.add(key, Slot(seq, event), now, g.group_wait, g.group_interval):
                self.counters.inc("groups_full")
                await self._flush(f"{key}#{event.id}", t, labels, [Slot(seq, event)])
        await self.flush_due()

    def _intake(self, counter: str) -> None:
        if self._counting:
            self.counters.inc(counter)

    def _targets(self, event: Item) -> list[routes.Target]:
        routed = routes.route(event, self.routes, self.fallback, self.known, self.settings)
        for name in routed.unknown:
            self._intake("unknown_receivers")
            log.warning("event %s names receiver %r, which is not configured", event.id, name)
        if not (isinstance(event, AlertEvent) and event.event == "reminder"):
            return routed.targets
        now = self.clock()
        out = []
        for t in routed.targets:
            last = self.last_sent.get((t.receiver, event.alert_id))
            if grouping.reminder_allowed(last, now, t.grouping.repeat_interval):
                out.append(t)
            else:
                self._intake("reminders_suppressed")
        return out

    # --- flush --------------------------------------------------------------------------

    def next_due(self) -> float | None:
        return self.groups.next_due()

    async def flush_due(self) -> None:
        # Concurrent, so the store writes of one flush share round trips to the server.
        await asyncio.gather(
            *(
                self._flush(batch.key, *self.targets[batch.key], batch.items)
                for batch in self.groups.pop_due(self.clock())
            )
        )
        if len(self.targets) > 2 * max(len(self.groups), 1000):
            live = {k: v for k, v in self.targets.items() if self.groups.has(k)}
            self.targets = live

    async def _flush(
        self, key: str, t: routes.Target, labels: dict[str, str], slots: list[Slot]
    ) -> None:
        now = self.clock()
        latest = records.latest_per_alert(s.item for s in slots)
        limit = self.settings.max_events_per_message
        n = Notification(
            id=records.notification_id(t.receiver, key, (s.item.id for s in slots)),
            receiver=t.receiver,
            route=t.route,
            group_key=key,
            group_labels=labels,
            events=latest[:limit],
            created_at=now,
            truncated=max(0, len(latest) - limit),
        )
        d = Delivery(notification=n, first_at=now, next_at=now)
        if await self._until_stored(lambda: self.store.record(d)):
            await self.dispatcher.submit(d)
            self.counters.inc("notifications")
        else:
            self.counters.inc("notifications_duplicate")
        for s in slots:
            self._remember(t.receiver, s.item, now)
            await self._release(s.seq)

    def _remember(self, receiver: str, item: Item, now: float) -> None:
        if isinstance(item, AlertEvent):
            key = (receiver, item.alert_id)
            self.last_sent[key] = now
            self.last_sent.move_to_end(key)
            if len(self.last_sent) > REMINDER_MEMORY:
                self.last_sent.popitem(last=False)

    async def _release(self, seq: int) -> None:
        held = self.held.get(seq)
        if held is None:
            return
        held.remaining -= 1
        if held.remaining <= 0:
            del self.held[seq]
            await held.msg.ack()

    async def _until_stored(self, op: Callable[[], Awaitable[T]]) -> T:
        """Run a store operation until it works: with the store away, intake waits."""
        delay = STORE_BACKOFF_S[0]
        while True:
            try:
                return await op()
            except Exception as exc:
                if self.stop.is_set():
                    raise
                self.counters.inc("store_errors")
                log.warning("cannot record a delivery (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, STORE_BACKOFF_S[1])

    async def give_back(self) -> None:
        """Hand the held events back to JetStream at once, for the partition's next owner."""
        held, self.held = self.held, {}
        for h in held.values():
            try:
                await h.msg.nak()
            except Exception as exc:
                log.debug("nak failed: %s", exc)

    async def keep_alive(self) -> None:
        """Tell JetStream the held messages are still being worked on."""
        for held in list(self.held.values()):
            try:
                await held.msg.in_progress()
            except Exception as exc:
                log.debug("in-progress ack failed: %s", exc)


def group_key_of(event: Item, t: routes.Target) -> str:
    labels = grouping.group_labels(routes.view(event), t.grouping.group_by)
    return grouping.group_key(t.receiver, t.route, labels)
