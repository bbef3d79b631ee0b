"""The loop around the evaluator: fetch telemetry, evaluate, publish, save, acknowledge.

One task does everything, in this order, so the evaluator needs no locks:
1. fetch a batch from the partition's durable consumer (samples are judged at the time the
   stream stored them, so a replay after a restart judges them the same way);
2. evaluate; on each tick also judge time (absence, silences, escalation, reminders) at the
   stream's horizon: the present (on the bus's clock) when caught up, else the last stored
   time read, so a backlog never makes a host look down;
3. apply acknowledgements and silence changes that the watchers queued;
4. publish every event with its id as `Nats-Msg-Id`, retrying until the stream has it;
5. save the states whose transitions matter, and only then acknowledge the telemetry read
   (AckAll): a crash replays exactly what its saved state may not have seen, skipping the
   samples a saved state already applied, and the replay's events carry the ids already
   published. Values that move without changing what an alert does (a last value, a last
   seen time) are not saved (see `Evaluator.load`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from vitals_alerter.counters import Counters, RateLimitedLog
from vitals_alerter.evaluator import Evaluator
from vitals_alerter.partition import Partition, reply_position, subject_host
from vitals_alerter.silences import Silence
from vitals_alerter.store import AckRequest, Store
from vitals_core import events, safedecode, subjects
from vitals_core.events import AlertEvent
from vitals_core.settings.alerter import AlerterSettings, parse_duration

log = logging.getLogger("vitals.alerter")

BATCH = 200
FETCH_TIMEOUT_S = 0.02
# Unacknowledged telemetry the consumer may hand out (each batch is acknowledged).
MAX_ACK_PENDING = 20_000
ACK_WAIT_S = 120.0
PUBLISH_CONCURRENCY = 256
MAX_PUBLISH_BACKOFF_S = 5.0
INBOX_SIZE = 10_000
MAX_SKEW_S = 300.0

Command = AckRequest | Silence | str  # a str: the id of a silence that was purged


class Pipeline:
    def __init__(
        self,
        js: JetStreamContext,
        store: Store,
        evaluator: Evaluator,
        partition: Partition,
        settings: AlerterSettings,
        counters: Counters,
    ) -> None:
        self.js = js
        self.store = store
        self.evaluator = evaluator
        self.partition = partition
        self.counters = counters
        self.tick_s = parse_duration(settings.tick_interval)
        self.lookback_s = parse_duration(settings.start_lookback)
        self.inbox: asyncio.Queue[Command] = asyncio.Queue(INBOX_SIZE)
        self.durable = subjects.alerter_consumer(partition.index, partition.count)
        self.horizon = 0.0
        self.caught_up = False
        self.skew = 0.0
        self._last: Msg | None = None
        self._invalid_log = RateLimitedLog(log, 10.0)
        self._done_acks: list[str] = []

    async def subscribe(self) -> JetStreamContext.PullSubscription:
        start = datetime.fromtimestamp(time.time() - self.lookback_s, UTC)
        config = ConsumerConfig(
            durable_name=self.durable,
            deliver_policy=DeliverPolicy.BY_START_TIME,
            opt_start_time=start,
            ack_policy=AckPolicy.ALL,
            ack_wait=ACK_WAIT_S,
            max_ack_pending=MAX_ACK_PENDING,
            # An abandoned partition (the replica count changed) cleans itself up.
            inactive_threshold=7 * 86400.0,
        )
        try:
            # An existing consumer keeps its position: that is the point of it.
            await self.js.consumer_info(subjects.STREAM_TELEMETRY, self.durable)
        except nats.js.errors.NotFoundError:
            await self.js.add_consumer(subjects.STREAM_TELEMETRY, config)
        return await self.js.pull_subscribe_bind(self.durable, subjects.STREAM_TELEMETRY)

    async def run(self, stop: asyncio.Event) -> bool:
        """Run until `stop`; True when everything evaluated was also published and saved."""
        sub = await self.subscribe()
        next_tick = time.monotonic()
        try:
            while not stop.is_set():
                out = self._evaluate(await self._fetch(sub))
                mono = time.monotonic()
                if mono >= next_tick:
                    next_tick = mono + self.tick_s
                    out.extend(self.evaluator.tick(self._tick_time()))
                out.extend(self._apply_commands())
                if not await self.publish(out, stop):
                    return False  # stopping with events unpublished: the replay sends them
                if not await self.save(stop):
                    return False
                await self._ack()
            return True
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _fetch(self, sub: JetStreamContext.PullSubscription) -> list[Msg]:
        try:
            return await sub.fetch(BATCH, timeout=FETCH_TIMEOUT_S)
        except (TimeoutError, nats.errors.TimeoutError):
            self.caught_up = True
            return []
        except nats.errors.Error as exc:
            self.counters.inc("fetch_errors")
            log.warning("fetching telemetry failed (%s); retrying", exc)
            await asyncio.sleep(0.5)
            return []

    def _evaluate(self, msgs: list[Msg]) -> list[AlertEvent]:
        out: list[AlertEvent] = []
        for msg in msgs:
            try:
                _, stored_at, pending = reply_position(msg.reply)
            except ValueError:
                continue
            self.horizon = max(self.horizon, stored_at)
            self.caught_up = pending == 0
            if self.caught_up:
                # The bus's clock against ours (less the delivery delay): ticks use the bus's.
                self.skew = max(-MAX_SKEW_S, min(MAX_SKEW_S, stored_at - time.time()))
            self._last = msg
            host = subject_host(msg.subject)
            if not self.partition.owns(host):
                self.counters.inc("events_other_partition")
                continue
            self._observe(msg, host, stored_at, out)
        return out

    def _observe(self, msg: Msg, host: str, now: float, out: list[AlertEvent]) -> None:
        try:
            event = events.decode(msg.data)
            if isinstance(event, events.AlertEvent | events.Annotation):
                raise events.InvalidEvent(f"a {event.__class__.__name__} is not telemetry")
            if event.host != host:
                raise events.InvalidEvent(f"host {event.host!r} does not match the subject")
        except events.InvalidEvent as exc:
            self.counters.inc("events_invalid")
            self._invalid_log.warning("skipped a malformed event on %s: %s", msg.subject, exc)
            return
        self.counters.inc("events_evaluated")
        try:
            out.extend(self.evaluator.observe(event, now))
        except Exception:
            # A bug must cost one event, never the service.
            self.counters.inc("events_failed")
            log.exception("evaluating an event on %s failed", msg.subject)

    def _tick_time(self) -> float:
        """Judge time up to what the stream has been read to."""
        if self.caught_up:
            self.horizon = max(self.horizon, time.time() + self.skew)
        return self.horizon

    def _apply_commands(self) -> list[AlertEvent]:
        out: list[AlertEvent] = []
        while not self.inbox.empty():
            command = self.inbox.get_nowait()
            if isinstance(command, Silence):
                self.evaluator.put_silence(command)
            elif isinstance(command, str):
                self.evaluator.remove_silence(command)
            else:
                out.extend(self._acknowledge(command))
        return out

    def _acknowledge(self, request: AckRequest) -> list[AlertEvent]:
        state = self.evaluator.state(request.alert_id)
        self._done_acks.append(request.alert_id)
        if state is None or state.started_at != request.episode:
            self.counters.inc("acks_stale")
            return []
        result, out = self.evaluator.acknowledge(
            request.alert_id, request.by, request.comment, request.at
        )
        self.counters.inc(f"acks_{result}")
        return out

    async def publish(self, out: Iterable[AlertEvent], stop: asyncio.Event) -> bool:
        """Publish every event, retrying with backoff; False if asked to stop first."""
        pending = list(out)
        backoff = 0.1
        while pending:
            results = []
            for start in range(0, len(pending), PUBLISH_CONCURRENCY):
                chunk = pending[start : start + PUBLISH_CONCURRENCY]
                results += await asyncio.gather(
                    *(self._publish_one(e) for e in chunk), return_exceptions=True
                )
            failed = [e for e, r in zip(pending, results, strict=True) if r is not None]
            self.counters.inc("alerts_published", len(pending) - len(failed))
            if not failed:
                break
            self.counters.inc("publish_retries", len(failed))
            log.warning("could not publish %d alert events (%s); retrying", len(failed), results[0])
            pending = failed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), backoff)
            if stop.is_set():
                return False
            backoff = min(backoff * 2, MAX_PUBLISH_BACKOFF_S)
        return True

    async def _publish_one(self, event: AlertEvent) -> None:
        await self.js.publish(
            subjects.alerts(event.host),
            events.encode(event),
            stream=subjects.STREAM_EVENTS,
            headers={"Nats-Msg-Id": event.id},
        )

    async def save(self, stop: asyncio.Event) -> bool:
        """Save changed states, retrying; False if asked to stop first."""
        puts, deletes = self.evaluator.take_changes()
        backoff = 0.1
        while puts or deletes:
            try:
                await self.store.save(puts, deletes)
            except (nats.errors.Error, TimeoutError) as exc:
                self.counters.inc("save_retries")
                log.warning("could not save %d alert states (%s); retrying", len(puts), exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                if stop.is_set():
                    return False
                backoff = min(backoff * 2, MAX_PUBLISH_BACKOFF_S)
                continue
            self.counters.inc("states_saved", len(puts))
            break
        done, self._done_acks = self._done_acks, []
        for alert_id in done:
            with contextlib.suppress(nats.errors.Error, TimeoutError):
                await self.store.done_ack(alert_id)
        return True

    async def _ack(self) -> None:
        if self._last is not None:
            with contextlib.suppress(nats.errors.Error):
                await self._last.ack()
            self._last = None


def decode_command(kind: str, key: str, value: bytes | None) -> Command | None:
    """A watcher's entry as a command for the loop, or None when there is nothing to do."""
    if kind == "silence":
        if value is None:
            return key
        silence: Silence = safedecode.decode_as(value, Silence)
        return silence
    if value is None:
        return None
    ack: AckRequest = safedecode.decode_as(value, AckRequest)
    return ack
