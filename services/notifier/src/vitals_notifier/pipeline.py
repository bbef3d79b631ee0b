"""From the alert stream to the outbox: decode → route → group → record → dispatch → ack.

An event's message is acknowledged only once every group it joined has been flushed and
its delivery recorded in the outbox; until then it is held (and kept alive with
in-progress acks), so a crash makes JetStream deliver it again.

Every alert event, routed or not, updates what the notifier knows of its alert, so that a
flush decides (`flush.plan`) from each alert's state at flush time: a mute or a resolve
that arrived during the wait counts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from vitals_core import events, safedecode
from vitals_core.events import AlertEvent, Annotation
from vitals_core.settings.notifier import NotifierSettings, RouteSettings
from vitals_notifier import flush, grouping, records, routes, selfalerts
from vitals_notifier.dispatch import Dispatcher
from vitals_notifier.grouping import Groups
from vitals_notifier.records import Delivery, Item, Notification
from vitals_notifier.stats import Counters
from vitals_notifier.store import Store

log = logging.getLogger("vitals.notifier.pipeline")

T = TypeVar("T")
# Alerts (and receiver × alert) remembered for flush decisions, and the firing alerts of
# groups sent whole; the least recently used go first. A forgotten alert is judged as after
# a restart (a `resolved` is sent), a forgotten group restarts from what changes next.
ALERT_MEMORY = 100_000
WHOLE_GROUP_MEMORY = 20_000
WITHHELD_COUNTERS = {
    "muted": "muted_at_flush",
    "acknowledged": "acknowledged_at_flush",
    "never notified": "never_notified",
    "resolved before it was sent": "resolved_before_sent",
    "already told": "already_told",
}
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
        # The newest event of each alert; what each receiver was told of each alert; the
        # alerts each group last told its receiver fire (for formats that send it whole).
        self.alerts: OrderedDict[str, flush.Seen] = OrderedDict()
        self.told: OrderedDict[tuple[str, str], flush.Told] = OrderedDict()
        self.active: OrderedDict[str, dict[str, AlertEvent]] = OrderedDict()
        self._active_size = 0
        self.dropped = safedecode.Dropped(log)
        self.whole_group = {r.name for r in settings.receivers if r.format == "alertmanager"}
        if any(r.repeat_interval is not None for r in routes_) or (
            settings.repeat_interval != NotifierSettings().repeat_interval
        ):
            log.warning(
                "notifier repeat_interval is ignored: the alerter's repeat_interval decides "
                "when reminders are sent, and each is delivered within group_interval"
            )

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
            self.dropped.warning("dropped a malformed event (stream seq %d): %s", seq, exc)
            await msg.term()
            return
        if not isinstance(event, AlertEvent | Annotation):
            self._intake("events_ignored")
            await msg.ack()
            return
        self._intake("events")
        if isinstance(event, AlertEvent):
            self._see(event)
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
                alone = f"{key}#{event.id}"
                await self._flush(alone, t, labels, [Slot(seq, event)], memory=key)
        await self.flush_due()

    def _intake(self, counter: str) -> None:
        if self._counting:
            self.counters.inc(counter)

    def _targets(self, event: Item) -> list[routes.Target]:
        routed = routes.route(event, self.routes, self.fallback, self.known, self.settings)
        for name in routed.unknown:
            self._intake("unknown_receivers")
            log.warning("event %s names receiver %r, which is not configured", event.id, name)
        about = selfalerts.about_receiver(event)
        # An alert about a failing receiver goes to the others only: no loop through it.
        return [t for t in routed.targets if t.receiver != about]

    def _see(self, event: AlertEvent) -> None:
        seen = self.alerts.get(event.alert_id)
        if seen is None or event.ts >= seen.ts:
            self.alerts[event.alert_id] = flush.Seen.of(event)
        self.alerts.move_to_end(event.alert_id)
        if len(self.alerts) > ALERT_MEMORY:
            self.alerts.popitem(last=False)

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
        self,
        key: str,
        t: routes.Target,
        labels: dict[str, str],
        slots: list[Slot],
        memory: str | None = None,
    ) -> None:
        now = self.clock()
        p = self._plan(t.receiver, memory or key, [s.item for s in slots])
        if p.send:
            limit = self.settings.max_events_per_message
            whole = p.whole if t.receiver in self.whole_group else []
            n = Notification(
                id=records.notification_id(t.receiver, key, (s.item.id for s in slots)),
                receiver=t.receiver,
                route=t.route,
                group_key=key,
                group_labels=labels,
                events=p.send[:limit],
                created_at=now,
                truncated=max(0, len(p.send) - limit),
                group=whole[:limit],
                group_truncated=max(0, len(whole) - limit),
            )
            d = Delivery(notification=n, first_at=now, next_at=now)
            if await self._until_stored(lambda: self.store.record(d)):
                await self.dispatcher.submit(d)
                self.counters.inc("notifications")
            else:
                self.counters.inc("notifications_duplicate")
        for s in slots:
            await self._release(s.seq)

    def _plan(self, receiver: str, group: str, items: list[Item]) -> flush.Plan:
        """Decide a flush from what is known now, and remember what the receiver was told."""
        # Only formats that send the whole group need its firing alerts remembered.
        whole = receiver in self.whole_group
        active = self.active.pop(group, {}) if whole else {}
        ids = {i.alert_id for i in items if isinstance(i, AlertEvent)} | set(active)
        current = {a: self.alerts[a] for a in ids if a in self.alerts}
        told = {a: self.told[(receiver, a)] for a in ids if (receiver, a) in self.told}
        p = flush.plan(items, current, told, active)
        for alert_id, reason in p.withheld.items():
            self.counters.inc(WITHHELD_COUNTERS[reason])
            log.info("not sent to %s: alert %s (%s)", receiver, alert_id, reason)
        for alert_id, what in p.told.items():
            self.told[(receiver, alert_id)] = what
            self.told.move_to_end((receiver, alert_id))
        while len(self.told) > ALERT_MEMORY:
            self.told.popitem(last=False)
        self._active_size -= len(active)
        if whole and p.active:
            self.active[group] = p.active
            self._active_size += len(p.active)
        while self._active_size > WHOLE_GROUP_MEMORY and self.active:
            _, dropped = self.active.popitem(last=False)
            self._active_size -= len(dropped)
        return p

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
