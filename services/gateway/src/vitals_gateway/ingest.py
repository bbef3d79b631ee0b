"""Consume telemetry from the bus into Redis."""

from __future__ import annotations

import logging

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from redis.asyncio import Redis

from vitals_core import events, keys, subjects
from vitals_gateway.counters import Counters

log = logging.getLogger("vitals.gateway.ingest")


class Ingest:
    def __init__(self, nc: Client, redis: Redis, counters: Counters) -> None:
        self.nc = nc
        self.redis = redis
        self.counters = counters
        self.sub: Subscription | None = None

    async def start(self) -> None:
        self.sub = await self.nc.subscribe(subjects.METRICS_ALL, cb=self.on_message)

    async def stop(self) -> None:
        if self.sub is not None:
            await self.sub.unsubscribe()

    async def on_message(self, msg: Msg) -> None:
        try:
            event = events.decode(msg.data)
            if not isinstance(event, events.MetricSample):
                raise events.InvalidEvent(
                    f"expected a metrics event, got {event.__class__.__name__}"
                )
            if event.host != subjects.host_of(msg.subject):
                raise events.InvalidEvent(f"host {event.host!r} does not match the subject")
        except (events.InvalidEvent, subjects.InvalidName) as exc:
            self.counters.inc("events_invalid")
            log.warning("dropped a malformed message on %s: %s", msg.subject, exc)
            return
        self.counters.inc("events_ingested")
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(keys.latest(event.host), msg.data)
        pipe.hset(keys.HOSTS, event.host, str(event.ts))
        await pipe.execute()
