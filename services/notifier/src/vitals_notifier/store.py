"""Where deliveries, dead letters, receiver state and attempts are kept: JetStream only.

- outbox (KV): every delivery not yet done, written before its events are acknowledged,
  so a crash re-sends instead of losing;
- dead letters (KV): what the notifier gave up on, replayable, bounded (oldest dropped);
- state (KV): receivers disabled after a 410, and open dead-letter alerts;
- attempts (a stream, one subject per receiver): every attempt, bounded by count and age.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import msgspec
import nats.errors
import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    KeyValueConfig,
    StorageType,
    StreamConfig,
)

from vitals_core import kvread, reconcile, subjects
from vitals_core.control import AttemptRecord
from vitals_core.kvread import Bucket
from vitals_core.settings.notifier import NotifierSettings
from vitals_notifier import records
from vitals_notifier.records import DeadLetter, Delivery

log = logging.getLogger("vitals.notifier.store")


class Disabled(msgspec.Struct, kw_only=True):
    """A receiver disabled after a 410, for the URL it had then."""

    url_hash: str
    reason: str
    at: float


class Alarm(msgspec.Struct, kw_only=True):
    """A receiver's open dead-letter alert: since when, how many letters, the last error."""

    first_at: float
    count: int
    last_error: str
    resolved_at: float | None = None


_attempt = msgspec.json.Decoder(AttemptRecord)
_disabled = msgspec.json.Decoder(Disabled)
_alarm = msgspec.json.Decoder(Alarm)


class Store:
    def __init__(self, js: JetStreamContext, settings: NotifierSettings, replicas: int = 1) -> None:
        self.js = js
        self.settings = settings
        self.replicas = replicas
        self._outbox: Bucket | None = None
        self._dead: Bucket | None = None
        self._state: Bucket | None = None
        # Dead letter id -> when it died, to keep the bound; loaded at open.
        self.dead_index: dict[str, float] = {}
        self.dead_dropped = 0

    async def open(self) -> None:
        """The notifier owns these: it creates them, or reconciles them to `replicas`."""
        s = self.settings
        config = StreamConfig(
            name=subjects.STREAM_NOTIFY_ATTEMPTS,
            subjects=[subjects.NOTIFY_ATTEMPTS_ALL],
            storage=StorageType.FILE,
            max_msgs=s.attempts_kept,
            max_age=s.attempts_max_age or None,
            discard=DiscardPolicy.OLD,
            num_replicas=self.replicas,
        )
        await reconcile.ensure_stream(self.js, config)
        self._outbox = await self._bucket(subjects.BUCKET_NOTIFY_OUTBOX)
        self._dead = await self._bucket(subjects.BUCKET_NOTIFY_DEAD)
        self._state = await self._bucket(subjects.BUCKET_NOTIFY_STATE)
        async for key, data in self._values(self.dead):
            try:
                self.dead_index[key] = records.decode_dead(data).dead_at
            except msgspec.DecodeError:
                log.warning("dead letter %s is unreadable; skipped", key)

    async def _bucket(self, name: str) -> Bucket:
        return await reconcile.ensure_bucket(
            self.js,
            KeyValueConfig(
                bucket=name, history=1, storage=StorageType.FILE, replicas=self.replicas
            ),
        )

    @property
    def outbox(self) -> Bucket:
        assert self._outbox is not None, "Store.open() first"
        return self._outbox

    @property
    def dead(self) -> Bucket:
        assert self._dead is not None, "Store.open() first"
        return self._dead

    @property
    def state(self) -> Bucket:
        assert self._state is not None, "Store.open() first"
        return self._state

    @staticmethod
    async def _values(kv: Bucket) -> AsyncIterator[tuple[str, bytes]]:
        """Every current value, as new as the stream leader (see `kvread`): a replica
        taking a partition over loads every delivery the last owner left."""
        for key, entry in (await kvread.snapshot(kv)).items():
            if entry.value and not kvread.is_delete(entry):
                yield key, entry.value

    # --- outbox -------------------------------------------------------------------------

    async def record(self, d: Delivery) -> bool:
        """Keep a new delivery; False when one with this id is already kept."""
        try:
            await self.outbox.create(d.notification.id, records.encode(d))
        except nats.js.errors.KeyWrongLastSequenceError:
            return False
        return True

    async def save(self, d: Delivery) -> None:
        await self.outbox.put(d.notification.id, records.encode(d))

    async def done(self, delivery_id: str) -> None:
        await self.outbox.purge(delivery_id)

    async def pending(self) -> list[Delivery]:
        out = []
        async for key, data in self._values(self.outbox):
            try:
                out.append(records.decode_delivery(data))
            except msgspec.DecodeError:
                log.warning("outbox entry %s is unreadable; skipped", key)
        return out

    async def compact(self) -> None:
        """Drop the markers that finished deliveries leave in the outbox."""
        await self.outbox.purge_deletes(olderthan=3600)

    # --- dead letters -------------------------------------------------------------------

    async def bury(self, letter: DeadLetter) -> None:
        letter_id = letter.delivery.notification.id
        await self.dead.put(letter_id, records.encode(letter))
        await self.outbox.purge(letter_id)
        self.dead_index[letter_id] = letter.dead_at
        while len(self.dead_index) > self.settings.max_dead_letters:
            oldest = min(self.dead_index, key=self.dead_index.__getitem__)
            del self.dead_index[oldest]
            await self.dead.purge(oldest)
            self.dead_dropped += 1

    async def dead_letters(self) -> list[DeadLetter]:
        out = []
        async for key, data in self._values(self.dead):
            try:
                out.append(records.decode_dead(data))
            except msgspec.DecodeError:
                log.warning("dead letter %s is unreadable; skipped", key)
        return out

    async def dead_letter(self, letter_id: str) -> DeadLetter | None:
        """One dead letter, or None when there is no such letter."""
        try:
            entry = await self.dead.get(letter_id)
        except (nats.js.errors.KeyNotFoundError, nats.js.errors.InvalidKeyError):
            return None
        return records.decode_dead(entry.value) if entry.value else None

    async def forget_dead(self, letter_id: str) -> None:
        await self.dead.purge(letter_id)
        self.dead_index.pop(letter_id, None)

    # --- receiver state -----------------------------------------------------------------

    async def disabled(self) -> dict[str, Disabled]:
        out = {}
        async for key, data in self._values(self.state):
            if key.startswith("disabled."):
                out[key.removeprefix("disabled.")] = _disabled.decode(data)
        return out

    async def disable(self, receiver: str, state: Disabled) -> None:
        await self.state.put(f"disabled.{receiver}", msgspec.json.encode(state))

    async def enable(self, receiver: str) -> None:
        await self.state.purge(f"disabled.{receiver}")

    async def alarms(self) -> dict[str, Alarm]:
        out = {}
        async for key, data in self._values(self.state):
            if key.startswith("alarm."):
                try:
                    out[key.removeprefix("alarm.")] = _alarm.decode(data)
                except msgspec.DecodeError:
                    log.warning("receiver state %s is unreadable; skipped", key)
        return out

    async def set_alarm(self, receiver: str, alarm: Alarm) -> None:
        await self.state.put(f"alarm.{receiver}", msgspec.json.encode(alarm))

    async def clear_alarm(self, receiver: str) -> None:
        await self.state.purge(f"alarm.{receiver}")

    # --- attempts -----------------------------------------------------------------------

    async def log_attempt(self, attempt: AttemptRecord) -> None:
        await self.js.publish(
            subjects.notify_attempts(attempt.receiver), msgspec.json.encode(attempt)
        )

    async def recent_attempts(self, receiver: str, window: int) -> list[AttemptRecord]:
        """The attempts among the last `window` (of `receiver`, or of all), oldest first."""
        info = await self.js.stream_info(subjects.STREAM_NOTIFY_ATTEMPTS)
        last, first = info.state.last_seq, info.state.first_seq
        if info.state.messages == 0:
            return []
        start = max(first, last - window + 1)
        subject = subjects.notify_attempts(receiver) if receiver else subjects.NOTIFY_ATTEMPTS_ALL
        sub = await self.js.pull_subscribe(
            subject,
            stream=subjects.STREAM_NOTIFY_ATTEMPTS,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=start,
                ack_policy=AckPolicy.NONE,
                inactive_threshold=30.0,
                mem_storage=True,
            ),
        )
        out: list[AttemptRecord] = []
        try:
            while True:
                try:
                    msgs = await sub.fetch(batch=1000, timeout=0.5)
                except nats.errors.TimeoutError:
                    break
                for msg in msgs:
                    try:
                        out.append(_attempt.decode(msg.data))
                    except msgspec.DecodeError:
                        continue
                if not msgs or msgs[-1].metadata.num_pending == 0:
                    break
                if msgs[-1].metadata.sequence.stream >= last:
                    break
        finally:
            await sub.unsubscribe()
        return out
