"""The loop around the evaluator: fetch telemetry, evaluate, publish, save, then move on.

One task does everything, in this order, so the evaluator needs no locks:
1. follow ownership: hand back partitions this replica no longer owns (their states are
   already saved), take new ones (their saved states and positions from KV);
2. fetch a batch from this replica's consumer (samples are judged at the time the stream
   stored them, so a replay judges them the same way);
3. evaluate the messages of owned partitions that lie past each partition's position; on
   each tick also judge time (absence, silences, escalation, reminders) at the stream's
   horizon: the present (on the bus's clock) when caught up, else the last stored time
   read, so a backlog never makes a host look down;
4. apply acknowledgements and silence changes that the watchers queued;
5. publish every event with its id as `Nats-Msg-Id`, retrying until the stream has it;
6. save the states whose transitions matter, and only then move each owned partition's
   position past the batch (saved to KV at most every second).

Nothing is acknowledged to the server: each partition's position in KV is the promise. A
restart, or a replica taking a partition over, reads from the lowest position it owns and
skips what each partition has already done, so exactly what was not saved is evaluated
again: samples a saved state already applied are skipped, and the events the replay repeats
carry the ids already published, which JetStream drops. Values that move without changing
what an alert does (a last value, a last seen time) are not saved (see `Evaluator.load`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from vitals_alerter.alerts import AlertState
from vitals_alerter.counters import Counters, RateLimitedLog
from vitals_alerter.evaluator import Evaluator
from vitals_alerter.health import PIPELINE_HOST, Arrivals
from vitals_alerter.ownership import Ownership
from vitals_alerter.partition import partition_of, reply_position, subject_host
from vitals_alerter.silences import Silence
from vitals_alerter.store import AckRequest, Store
from vitals_alerter.watch import InputWatch
from vitals_core import events, safedecode, subjects
from vitals_core.events import AlertEvent
from vitals_core.settings.alerter import AlerterSettings, parse_duration

METRICS_PREFIX = subjects.METRICS_ALL.removesuffix("*")  # "vitals.metrics."

log = logging.getLogger("vitals.alerter")

BATCH = 200
FETCH_TIMEOUT_S = 0.02
# A consumer left behind by a replica that died goes away by itself after this long.
CONSUMER_IDLE_S = 300.0
# How often an idle consumer is checked for still being there (a server restart).
CHECK_CONSUMER_EVERY_S = 5.0
POSITIONS_EVERY_S = 1.0
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
        ownership: Ownership,
        settings: AlerterSettings,
        counters: Counters,
        name: str = "",
        connected: Callable[[], bool] = lambda: True,
    ) -> None:
        self.js = js
        self.store = store
        self.evaluator = evaluator
        self.ownership = ownership
        self.counters = counters
        self.name = name or f"vitals-alerter-{uuid.uuid4().hex[:12]}"
        self.tick_s = parse_duration(settings.tick_interval)
        self.lookback_s = parse_duration(settings.start_lookback)
        self.inbox: asyncio.Queue[Command] = asyncio.Queue(INBOX_SIZE)
        self.watch = InputWatch(settings, connected, lambda: time.time() + self.skew, counters)
        # Every host's samples as they pass, its own partitions' or not (mass silence).
        self.arrivals = Arrivals()
        self._stored_to = 0.0  # when the newest message read was stored (bus time)
        # The pipeline alert's state, saved with the batch's states.
        self._extra_puts: list[AlertState] = []
        self._extra_deletes: list[str] = []
        self._follow_log = RateLimitedLog(log, 10.0)
        self.owned: set[int] = set()
        # Per owned partition: everything up to this stream sequence is published and saved.
        self.position: dict[int, int] = {}
        self._saved_positions: dict[int, int] = {}
        self._positions_at = 0.0
        self.horizon = 0.0
        self.caught_up = False
        self.skew = 0.0
        self._sub: JetStreamContext.PullSubscription | None = None
        self._consumer = ""
        self._generation = 0
        self._reopen = True
        self._read_to = 0  # the last stream sequence this consumer delivered
        self._replay_until = 0  # a rewind replays up to here before time is judged again
        self._batch_end = 0
        self._idle_since = time.monotonic()
        self._invalid_log = RateLimitedLog(log, 10.0)
        self._done_acks: list[str] = []

    @property
    def consumer(self) -> str:
        """The name of this replica's telemetry consumer now ('' while it owns nothing)."""
        return self._consumer

    async def run(self, stop: asyncio.Event) -> bool:
        """Run until `stop`; True when everything evaluated was also published and saved."""
        next_tick = time.monotonic()
        watcher = asyncio.create_task(self.watch.run(stop))
        try:
            while not stop.is_set():
                following = True
                try:
                    await self._follow(stop)
                except (nats.errors.Error, TimeoutError) as exc:
                    following = False
                    self.counters.inc("ownership_errors")
                    self._follow_log.warning("could not take or open partitions (%s)", exc)
                if following and self.owned and self._sub is not None:
                    msgs = await self._fetch()
                else:
                    msgs = []
                    await _pause(stop, min(0.5, self.tick_s))
                out = self._evaluate(msgs)
                mono = time.monotonic()
                if mono >= next_tick:
                    next_tick = mono + self.tick_s
                    out.extend(self._tick())
                out.extend(self._apply_commands())
                if not await self.publish(out, stop):
                    return False  # stopping with events unpublished: the replay sends them
                if not await self.save(stop):
                    return False
                self._advance()
                await self._save_positions(force=False)
                self.watch.loop_alive = time.monotonic()
            await self._save_positions(force=True)
            return True
        finally:
            watcher.cancel()
            await self._close_consumer()

    # --- time and the input's health ----------------------------------------------------------

    def _tick(self) -> list[AlertEvent]:
        now = self._tick_time()
        behind = not self.caught_up and self.horizon > 0
        lag = max(0.0, time.time() + self.skew - self.horizon) if behind else 0.0
        # Its own hosts by their absence rules; the rest of the stream by their samples' gaps.
        silence = {h: past for h, past in self.arrivals.silence(now).items()
                   if partition_of(h) not in self.owned}  # fmt: skip
        silence |= self.evaluator.host_silence(now)
        if self.watch.judge(lag, silence, self._stored_to):
            self.evaluator.excuse_silence(now)
        replaying = self._read_to < self._replay_until
        out = self.evaluator.tick(now, hold=self.watch.health.impaired or replaying)
        events, puts, deletes = self.watch.announce(partition_of(PIPELINE_HOST) in self.owned)
        self._extra_puts += puts
        self._extra_deletes += deletes
        return out + events

    # --- ownership ----------------------------------------------------------------------------

    async def _follow(self, stop: asyncio.Event) -> None:
        """Hand back what is no longer ours, take what is new, (re)open the consumer."""
        usable = self.ownership.usable()
        asked = self.ownership.releasing()
        releasing = asked & self.owned
        if asked - self.owned:
            # Held but never taken up (renewed after it had lapsed here): nothing to save,
            # and no one else may claim it until it is given back.
            await self.ownership.release(asked - self.owned)
        gone = (self.owned - usable) | releasing
        if gone:
            # Every batch before this one is published and saved: only positions remain.
            if releasing:
                await self._save_positions(force=True, only=releasing)
            self.evaluator.forget(lambda host: partition_of(host) in gone)
            if partition_of(PIPELINE_HOST) in gone:
                self.watch.alert = None  # its new owner resolves what it finds saved
            self.owned -= gone
            for p in gone:
                self.position.pop(p, None)
                self._saved_positions.pop(p, None)
            log.info("alerter %s: gave up partitions %s", self.name, sorted(gone))
            if releasing:
                await self.ownership.release(releasing)
        # Asked again: what was released, or lapsed meanwhile, is not ours to take.
        new = self.ownership.usable() - self.owned - self.ownership.releasing()
        if new:
            await self._take(new, stop)
        if self.owned and self._reopen:
            await self._open_consumer()

    async def _take(self, new: set[int], stop: asyncio.Event) -> None:
        saved = await self.store.load_positions(new)
        info = await self.js.stream_info(subjects.STREAM_TELEMETRY)
        last = info.state.last_seq
        # Never owned, or saved against a stream since recreated: start `lookback` back.
        fresh = {p for p in new if p not in saved or saved[p] > last}
        if fresh:
            start = await self._seq_at(time.time() - self.lookback_s, last)
            saved.update(dict.fromkeys(fresh, start - 1))
        states = await self.store.load_states(lambda host: partition_of(host) in new)
        acks = await self.store.ack_requests()
        orphans = self.evaluator.load(states, time.time())
        await self.publish(orphans, stop)
        for p in new:
            self.position[p] = saved[p]
            if p not in fresh:  # a fresh one is written at the first save
                self._saved_positions[p] = saved[p]
        self.owned |= new
        for request in acks:
            if partition_of(request.host) in new and not self.inbox.full():
                self.inbox.put_nowait(request)
        if min(saved[p] for p in new) < self._read_to or self._sub is None:
            self._reopen = True
            # The rewind replays what the new partitions missed while the others are
            # already judged at the present: time waits until the replay is through.
            self._replay_until = max(self._replay_until, self._read_to)
        log.info(
            "alerter %s: took partitions %s (%d saved alerts)", self.name, sorted(new), len(states)
        )

    async def _seq_at(self, when: float, last: int) -> int:
        """The first stream sequence stored at or after `when`."""
        name = f"{self.name}-probe"
        config = ConsumerConfig(
            name=name,
            deliver_policy=DeliverPolicy.BY_START_TIME,
            opt_start_time=datetime.fromtimestamp(when, UTC),
            ack_policy=AckPolicy.NONE,
            inactive_threshold=30.0,
        )
        await self.js.add_consumer(subjects.STREAM_TELEMETRY, config)
        try:
            sub = await self.js.pull_subscribe_bind(name, subjects.STREAM_TELEMETRY)
            try:
                msgs = await sub.fetch(1, timeout=0.5)
            except (TimeoutError, nats.errors.TimeoutError):
                return last + 1
            finally:
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()
            return reply_position(msgs[0].reply)[0]
        finally:
            with contextlib.suppress(Exception):
                await self.js.delete_consumer(subjects.STREAM_TELEMETRY, name)

    async def _open_consumer(self) -> None:
        """A consumer from the lowest position owned: nothing acknowledged, nothing kept."""
        await self._close_consumer()
        start = min(self.position[p] for p in self.owned) + 1
        self._generation += 1
        name = f"{self.name}-{self._generation}"
        config = ConsumerConfig(
            name=name,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=start,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=CONSUMER_IDLE_S,
        )
        await self.js.add_consumer(subjects.STREAM_TELEMETRY, config)
        self._sub = await self.js.pull_subscribe_bind(name, subjects.STREAM_TELEMETRY)
        self._consumer = name
        self._read_to = start - 1
        self._reopen = False
        self._idle_since = time.monotonic()

    async def _close_consumer(self) -> None:
        sub, name = self._sub, self._consumer
        self._sub, self._consumer = None, ""
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        if name:
            with contextlib.suppress(Exception):
                await self.js.delete_consumer(subjects.STREAM_TELEMETRY, name)

    # --- positions ----------------------------------------------------------------------------

    def _advance(self) -> None:
        """The batch is published and saved: every owned partition is done up to its end."""
        end = self._batch_end
        for p in self.owned:
            if self.position[p] < end:
                self.position[p] = end

    async def _save_positions(self, force: bool, only: set[int] | None = None) -> None:
        mono = time.monotonic()
        if not force and mono - self._positions_at < POSITIONS_EVERY_S:
            return
        usable = self.ownership.usable()
        changed = {
            p: seq
            for p, seq in self.position.items()
            if p in usable and (only is None or p in only) and self._saved_positions.get(p) != seq
        }
        if not changed:
            return
        try:
            await self.store.save_positions(changed)
        except (nats.errors.Error, TimeoutError) as exc:
            self.counters.inc("position_save_errors")
            log.warning("could not save partition positions (%s); retrying", exc)
            return
        self._positions_at = mono
        self._saved_positions.update(changed)

    # --- telemetry ----------------------------------------------------------------------------

    async def _fetch(self) -> list[Msg]:
        assert self._sub is not None
        self._batch_end = self._read_to
        try:
            msgs = await self._sub.fetch(BATCH, timeout=FETCH_TIMEOUT_S)
        except (TimeoutError, nats.errors.TimeoutError):
            self.caught_up = True
            self.watch.fetched(ok=True)
            await self._check_consumer()
            return []
        except nats.errors.Error as exc:
            self.watch.fetched(ok=False)
            self.counters.inc("fetch_errors")
            log.warning("fetching telemetry failed (%s); reopening the consumer", exc)
            self._reopen = True
            await asyncio.sleep(0.5)
            return []
        self._idle_since = time.monotonic()
        self.watch.fetched(ok=True)
        return msgs

    async def _check_consumer(self) -> None:
        """Nothing arrives: make sure the consumer still exists (a server restart, a purge)."""
        if time.monotonic() - self._idle_since < CHECK_CONSUMER_EVERY_S:
            return
        self._idle_since = time.monotonic()
        try:
            await self.js.consumer_info(subjects.STREAM_TELEMETRY, self._consumer)
        except nats.js.errors.NotFoundError:
            log.warning("the telemetry consumer %s is gone; reopening it", self._consumer)
            self._reopen = True
        except (nats.errors.Error, TimeoutError):
            pass

    def _evaluate(self, msgs: list[Msg]) -> list[AlertEvent]:
        out: list[AlertEvent] = []
        owned, position = self.owned, self.position
        for msg in msgs:
            try:
                seq, stored_at, pending = reply_position(msg.reply)
            except ValueError:
                continue
            self._read_to = self._batch_end = seq
            self.horizon = max(self.horizon, stored_at)
            self._stored_to = max(self._stored_to, stored_at)
            self.caught_up = pending == 0
            if self.caught_up:
                # The bus's clock against ours (less the delivery delay): ticks use the bus's.
                self.skew = max(-MAX_SKEW_S, min(MAX_SKEW_S, stored_at - time.time()))
            host = subject_host(msg.subject)
            if msg.subject.startswith(METRICS_PREFIX):
                self.arrivals.note(host, stored_at)
            p = partition_of(host)
            if p not in owned:
                self.counters.inc("events_other_partition")
                continue
            if seq <= position[p]:
                self.counters.inc("events_replay_skipped")
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
            elif partition_of(command.host) in self.owned:
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
        puts += self._extra_puts
        deletes += self._extra_deletes
        self._extra_puts, self._extra_deletes = [], []
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


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
