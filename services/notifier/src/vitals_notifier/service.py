"""The notifier's wiring: stores, channels, dispatcher, pipeline, control, the consumer loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
import uuid

import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig

from vitals_core import bus, events, reconcile, subjects
from vitals_core.config import ConfigError
from vitals_core.events import AlertEvent
from vitals_core.leases import LeaseKeeper, open_bucket
from vitals_core.settings import Settings
from vitals_core.settings.notifier import NotifierSettings
from vitals_notifier import receivers, retry, selfalerts
from vitals_notifier.admin import Admin
from vitals_notifier.channels import Channel
from vitals_notifier.channels.webhook import Refused, WebhookChannel, describe_url
from vitals_notifier.dispatch import Dispatcher
from vitals_notifier.pipeline import Pipeline
from vitals_notifier.shares import PARTITIONS, Shares, Sub, partition_of
from vitals_notifier.stats import Counters
from vitals_notifier.store import Store

log = logging.getLogger("vitals.notifier")
# httpx logs every request with its full URL, which may carry a token.
for _quiet in ("httpx", "httpcore"):
    logging.getLogger(_quiet).setLevel(logging.WARNING)

FETCH_BATCH = 256
COMPACT_EVERY_S = 3600.0


async def run(settings: Settings, stop: asyncio.Event) -> None:
    ns = settings.notifier
    effective = receivers.effective(ns)
    channels = {r.name: receivers.channel(r, ns) for r in effective}
    await check_addresses(channels)
    for r in effective:
        where = describe_url(r.url) if r.kind == "webhook" else ", ".join(r.to)
        log.info("receiver %s: %s %s", r.name, r.kind, where)
    if not effective:
        log.warning("no receivers configured: alert events are acknowledged and not sent")
    if ns.email_to and not ns.smtp_url:
        log.warning("email_to is set but smtp_url (VITALS_SMTP_URL) is not: no email is sent")

    nc = await bus.connect(settings.nats, "vitals-notifier", stop)
    js = nc.jetstream()
    await bus.ensure_streams(js, settings.nats)
    store = Store(js, ns, replicas=settings.nats.replicas)
    await store.open()
    counters = Counters()
    host = subjects.safe_token(socket.gethostname())

    async def on_gone(receiver: str, error: str) -> None:
        await publish_gone_alert(js, host, receiver, error)

    async def publish_alert(event: AlertEvent) -> None:
        subject = subjects.alerts(event.host)
        await js.publish(subject, events.encode(event), headers={"Nats-Msg-Id": event.id})

    alarms = selfalerts.DeadAlarms(store, publish_alert, host)
    await alarms.load()

    dispatcher = Dispatcher(
        store,
        channels,
        {r.name: r.url for r in effective},
        retry.Policy.from_settings(ns),
        concurrency={r.name: r.concurrency or ns.concurrency for r in effective},
        queue_size=ns.queue_size,
        counters=counters,
        on_gone=on_gone,
        alarms=alarms,
    )
    # Pending deliveries are loaded by partition, as this replica takes their groups up.
    await dispatcher.start([], await store.disabled())
    admin = Admin(store, dispatcher, counters, ns.attempts_listed)
    await admin.serve(nc)

    def make_pipeline(p: int, stopping: asyncio.Event) -> Pipeline:
        return Pipeline(
            ns, store, dispatcher, counters,
            routes_=ns.routes,
            fallback=receivers.fallback(ns),
            known={r.name for r in effective},
            stop=stopping,
            owns=lambda key: partition_of(key) == p,
            counts=lambda seq: seq % PARTITIONS == p,
        )  # fmt: skip

    async def loop(sub: Sub, pipeline: Pipeline, stopping: asyncio.Event) -> None:
        await consume(sub, pipeline, store, ns, stopping)

    me = f"notifier-{host}-{uuid.uuid4().hex[:8]}"
    replicas = settings.nats.replicas
    leases = await open_bucket(js, subjects.KV_NOTIFIER_LEASES, ns.lease, replicas)
    await reconcile.ensure_bucket(  # an older bucket gets the configured replicas too
        js, KeyValueConfig(bucket=subjects.KV_NOTIFIER_LEASES, history=1, replicas=replicas)
    )
    keeper = LeaseKeeper(leases, me, PARTITIONS, ns.lease)
    shares = Shares(js, ns, keeper, store, dispatcher, make_pipeline, loop)
    log.info("replica %s: sharing %d partitions by leases of %.1fs", me, PARTITIONS, ns.lease)
    log.info("notifier ready: %d receivers, %d routes", len(effective), len(ns.routes))
    try:
        await shares.run(stop)
    finally:
        await admin.stop()
        await dispatcher.stop()
        await bus.close(nc)
        log.info("counters: %s", counters.snapshot())


async def check_addresses(channels: dict[str, Channel]) -> None:
    """Refuse at start a webhook whose host resolves to an address it may not reach."""
    for name, ch in channels.items():
        if not isinstance(ch, WebhookChannel):
            continue
        try:
            await ch.resolve()
        except Refused as exc:
            raise ConfigError(
                f"Config 'notifier.receivers' is invalid: receiver {name!r} is refused, {exc}: "
                "list the host or address in allow_private (VITALS_NOTIFY_ALLOW_PRIVATE) "
                "to allow it"
            ) from None
        except OSError as exc:
            log.warning("receiver %s: cannot resolve %s now (%s); checked again when sending",
                        name, ch.host, exc)  # fmt: skip


async def consume(
    sub: JetStreamContext.PullSubscription,
    pipeline: Pipeline,
    store: Store,
    ns: NotifierSettings,
    stop: asyncio.Event,
) -> None:
    keep_alive_every = ns.ack_wait / 3
    next_keep_alive = time.monotonic() + keep_alive_every
    next_compact = time.monotonic() + COMPACT_EVERY_S
    while not stop.is_set():
        due = pipeline.next_due()
        wait = 1.0 if due is None else min(1.0, max(0.05, due - time.time()))
        try:
            msgs = await _fetch(sub, wait, stop)
        except TimeoutError:
            # nats.errors.TimeoutError is one too: nothing arrived in time.
            msgs = []
        except (nats.errors.Error, OSError) as exc:
            log.warning("cannot fetch events (%s); retrying", exc)
            await asyncio.sleep(1.0)
            continue
        try:
            for msg in msgs:
                await pipeline.handle(msg)
            await pipeline.flush_due()
        except Exception:
            # What was not acknowledged comes back after ack_wait; keep serving.
            log.exception("handling alert events failed")
            pipeline.counters.inc("pipeline_errors")
            await asyncio.sleep(0.5)
        now = time.monotonic()
        if now >= next_keep_alive:
            await pipeline.keep_alive()
            next_keep_alive = now + keep_alive_every
        if now >= next_compact:
            next_compact = now + COMPACT_EVERY_S
            with contextlib.suppress(Exception):
                await store.compact()


async def _fetch(
    sub: JetStreamContext.PullSubscription, wait: float, stop: asyncio.Event
) -> list[Msg]:
    """Fetch a batch, giving up at once when asked to stop."""
    fetch = asyncio.ensure_future(sub.fetch(FETCH_BATCH, timeout=wait))
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait((fetch, stopping), return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not fetch.done():
        fetch.cancel()
        with contextlib.suppress(asyncio.CancelledError, nats.errors.TimeoutError):
            await fetch
        return []
    return fetch.result()


async def publish_gone_alert(js: JetStreamContext, host: str, receiver: str, error: str) -> None:
    """A 410 disables a receiver: say so with an alert of the notifier's own."""
    now = time.time()
    event = AlertEvent(
        ts=now,
        id=uuid.uuid4().hex,
        alert_id=f"notifier-receiver-gone-{receiver}",
        event="firing",
        rule=selfalerts.RULE_GONE,
        host=host,
        severity="critical",
        labels={"receiver": receiver, "service": selfalerts.SERVICE},
        summary=f"Webhook receiver {receiver} answered 410 Gone and is disabled",
        description=f"{error}. Its messages go to the dead letters; replaying one re-enables it.",
        started_at=now,
    )
    try:
        await js.publish(
            subjects.alerts(host), events.encode(event), headers={"Nats-Msg-Id": event.id}
        )
    except Exception as exc:
        log.error("could not publish the alert for receiver %s: %s", receiver, exc)
