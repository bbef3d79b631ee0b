"""Alerts and annotations as the gateway serves them, materialised from VITALS_EVENTS.

Active alerts live in `keys.ALERTS_ACTIVE` (alert_id -> latest event, removed once
resolved), every event in the bounded `keys.ALERTS_HISTORY`, annotations in the bounded
`keys.ANNOTATIONS`. Applying the same event twice, or two replicas applying events out of
order, leaves the same state: an older event never replaces a newer one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import msgspec
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from vitals_core import events, keys, safedecode, subjects
from vitals_core.settings import GatewaySettings
from vitals_gateway.counters import Counters
from vitals_gateway.ingest.consumer import DurableConsumer, terminate
from vitals_gateway.storage import luascripts
from vitals_gateway.storage.redisconn import RedisClient
from vitals_gateway.storage.redisio import Script, blobs

log = logging.getLogger("vitals.gateway.alerts")

# Events older than the events stream's retention cannot come back: forget their order.
SEEN_HORIZON_S = 31 * 86400
ANNOTATION_RETENTION_S = 90 * 86400

# What an alert's latest event says about its state.
STATE_OF = {
    "firing": "firing",
    "severity_changed": "firing",
    "reminder": "firing",
    "escalated": "firing",
    "unsilenced": "firing",
    "acknowledged": "acknowledged",
    "silenced": "silenced",
    "resolved": "resolved",
}

_alert_decoder = msgspec.json.Decoder(events.AlertEvent)
_annotation_decoder = msgspec.json.Decoder(events.Annotation)


class AlertStore:
    def __init__(self, redis: RedisClient, settings: GatewaySettings) -> None:
        self.redis = redis
        self.settings = settings
        self.apply_script = Script(luascripts.APPLY_ALERT)

    async def load(self) -> None:
        await self.apply_script.load(self.redis)

    async def apply_alert(self, event: events.AlertEvent, data: bytes, now: float) -> bool:
        applied = await self.apply_script.call(
            self.redis,
            [keys.ALERTS_ACTIVE, keys.ALERTS_HISTORY, keys.ALERTS_SEEN],
            [
                event.alert_id,
                repr(event.ts),
                event.event,
                data,
                self.settings.alerts_history_max,
                repr(now - SEEN_HORIZON_S),
            ],
        )
        return bool(applied)

    async def add_annotation(self, data: bytes, ts: float, now: float) -> None:
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(keys.ANNOTATIONS, {data: ts})
        pipe.zremrangebyscore(keys.ANNOTATIONS, "-inf", now - ANNOTATION_RETENTION_S)
        pipe.zremrangebyrank(keys.ANNOTATIONS, 0, -self.settings.annotations_max - 1)
        await pipe.execute()

    async def active(self) -> list[events.AlertEvent]:
        raw = blobs(await self.redis.hvals(keys.ALERTS_ACTIVE))
        alerts = [_alert_decoder.decode(v) for v in raw]
        return sorted(alerts, key=lambda a: (a.started_at or a.ts, a.alert_id))

    async def history(self, since: float, until: float, limit: int) -> list[events.AlertEvent]:
        raw = blobs(
            await self.redis.zrangebyscore(keys.ALERTS_HISTORY, since, until, start=0, num=limit)
        )
        return [_alert_decoder.decode(v) for v in raw]

    async def recent(
        self, since: float, alert_id: str, host: str, limit: int
    ) -> tuple[list[events.AlertEvent], int]:
        """The newest `limit` events since `since` (of one alert, of one host), oldest first,
        and how many were scanned: the history as this gateway materialised it."""
        raw = blobs(await self.redis.zrevrangebyscore(keys.ALERTS_HISTORY, "+inf", since))
        found: list[events.AlertEvent] = []
        for blob in raw:
            event = _alert_decoder.decode(blob)
            if (not alert_id or event.alert_id == alert_id) and (not host or event.host == host):
                found.append(event)
                if len(found) >= limit:
                    break
        found.reverse()
        return found, len(raw)

    async def annotations(self, start: float, end: float, limit: int) -> list[events.Annotation]:
        raw = blobs(
            await self.redis.zrangebyscore(keys.ANNOTATIONS, start, end, start=0, num=limit)
        )
        return [_annotation_decoder.decode(v) for v in raw]


class EventsIngest:
    """Alert events and annotations from the shared durable consumer into `AlertStore`."""

    def __init__(
        self,
        js: JetStreamContext,
        store: AlertStore,
        counters: Counters,
        settings: GatewaySettings,
    ) -> None:
        self.store = store
        self.counters = counters
        self.dropped = safedecode.Dropped(log)
        self.consumer = DurableConsumer(
            js,
            subjects.STREAM_EVENTS,
            f"{settings.consumer}-events",
            self.handle,
            batch=min(settings.fetch_batch, 256),
            ack_wait=settings.ack_wait,
        )

    async def start(self) -> None:
        await self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()

    async def handle(self, msgs: Sequence[Msg]) -> None:
        now = time.time()
        for msg in msgs:
            try:
                event = events.decode(msg.data)
            except events.InvalidEvent as exc:
                self.counters.inc("events_invalid")
                self.dropped.warning("dropped a malformed message on %s: %s", msg.subject, exc)
                await terminate(msg)
                continue
            if isinstance(event, events.AlertEvent) and msg.subject.startswith(
                f"{subjects.PREFIX}.alerts."
            ):
                await self.store.apply_alert(event, msg.data, now)
                self.counters.inc("alert_events")
            elif isinstance(event, events.Annotation) and msg.subject == subjects.ANNOTATIONS:
                await self.store.add_annotation(msg.data, event.ts, now)
                self.counters.inc("annotations")
            else:
                self.counters.inc("events_invalid")
                self.dropped.warning(
                    "dropped a %s event on %s", event.__class__.__name__, msg.subject
                )
                await terminate(msg)
