"""Hostile bus input against every consumer: real services, real NATS, real Valkey.

Each consumer is fed the generated payloads of `tests/hostile_payloads.py` (deep nesting,
huge numbers, invalid UTF-8, wrong tags, duplicate keys, wrong types, binary) on the
subjects it reads, then valid messages; it must stay up, count what it dropped, and carry
on with the valid ones, with nothing left unacknowledged to be redelivered forever.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from tests.helpers import Processes, eventually
from tests.hostile_payloads import nested_array, payloads
from tests.integration.notifier_support import (
    RETRY_FAST,
    SECRET,
    Receiver,
    alert,
    ask,
    publish,
    start_notifier,
    write_config,
)
from tests.integration.test_alerter_service import (
    Bus,
    Sender,
    alerter_env,  # noqa: F401 (a fixture)
    bus,  # noqa: F401 (a fixture)
    start_alerter,
)
from tests.integration.test_gateway_harness import (
    client,
    gateway_settings,
    login,
    running,
    serving,
)
from tests.integration.test_gateway_stream import next_event, open_stream
from vitals_core import bus as vbus
from vitals_core import control, events, keys, subjects
from vitals_core.events import Cpu, Memory, MetricSample
from vitals_notifier import shares

HOST = "fz-1"


def telemetry_targets(host: str) -> list[tuple[str, str]]:
    """(subject, kind) of every telemetry subject an agent of `host` may publish."""
    return [
        (subjects.metrics(host), "metrics"),
        (subjects.host_info(host), "host_info"),
        (subjects.app(host, "api"), "app"),
        (subjects.health(host, "web"), "health"),
    ]


def sample(host: str, cpu: float) -> bytes:
    return events.encode(
        MetricSample(
            ts=time.time(),
            host=host,
            seq=1,
            interval=1.0,
            cpu=Cpu(percent=cpu),
            memory=Memory(total=16, used=4, available=12, percent=25.0),
        )
    )


async def request_each_verb(nc: Client, service: str, verbs: list[str]) -> int:
    """Hostile bodies to every control verb; each must still be answered with a refusal."""
    answered = 0
    bodies = [nested_array("x"), b"\xff\xfe", b'{"since":1e400}', b"[" * 30_000, b""]
    for verb in verbs:
        for body in bodies:
            msg = await nc.request(subjects.control(service, verb), body, timeout=10)
            reply = control.decode_reply(msg.data)
            if verb != "stats":
                assert not reply.ok, (verb, body[:40])
            answered += 1
    return answered


# --- the alerter -----------------------------------------------------------------------


async def test_alerter_survives_a_deeply_nested_sample_on_the_agents_own_subject(
    bus: Bus,  # noqa: F811
    processes: Processes,
    alerter_env: dict[str, str],  # noqa: F811
) -> None:
    proc = await start_alerter(processes, alerter_env, bus)
    # The report's message: a 2.4 KB array nested 1,200 levels deep.
    message = nested_array("metrics")
    assert 2_300 < len(message) < 2_500
    await bus.nc.publish(subjects.metrics("web-9"), message)
    with Sender(bus, "web-9", 95):
        await eventually(lambda: bus.events("web-9", "cpu_high", "firing"), timeout=15)
    assert proc.poll() is None
    [stats] = await bus.stats()
    assert stats["counters"]["events_invalid"] >= 1
    assert "nested too deeply" in processes.log("alerter")


async def test_alerter_fuzz_every_subject_then_still_alerts(
    bus: Bus,  # noqa: F811
    processes: Processes,
    alerter_env: dict[str, str],  # noqa: F811
) -> None:
    proc = await start_alerter(processes, alerter_env, bus)
    sent = 0
    for subject, kind in telemetry_targets(HOST):
        for body in payloads(kind, HOST):
            await bus.nc.publish(subject, body)
            sent += 1
    await bus.nc.flush()
    assert await request_each_verb(bus.nc, "alerter", list(control.ALERTER_VERBS)) > 0
    # The silence and acknowledgement buckets the alerter watches (services' credentials).
    js = bus.nc.jetstream()
    entries = 0
    for bucket in (subjects.KV_SILENCES, subjects.KV_ACKS):
        kv = await js.key_value(bucket)
        for i, body in enumerate(payloads("x", HOST)[:12]):
            if body:  # an empty value reads as a delete
                await kv.put(f"fuzz-{i}", body)
                entries += 1
    with Sender(bus, HOST, 95):
        await eventually(lambda: bus.events(HOST, "cpu_high", "firing"), timeout=20)
    assert proc.poll() is None
    [stats] = await bus.stats()
    assert stats["counters"]["events_invalid"] >= sent // 2
    assert stats["counters"]["control_invalid"] >= 1

    async def every_entry_judged() -> bool:
        # Each one is refused, and the watchers live on to judge the next (none is valid).
        [now] = await bus.stats()
        return bool(now["counters"]["commands_invalid"] == entries)

    await eventually(every_entry_judged, timeout=15)
    # Logged, but at a bounded rate: not one line per bad message.
    assert processes.log("alerter").count("malformed") < sent // 4


# --- the gateway -----------------------------------------------------------------------


async def publish_to_stream(nats_url: str, items: list[tuple[str, bytes]]) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await vbus.ensure_streams(js)
    for subject, body in items:
        await js.publish(subject, body)
    await nc.close()


async def test_gateway_stores_the_valid_samples_of_a_batch_with_hostile_ones(
    nats_url: str, redis_url: str
) -> None:
    # Everything is in the stream before the gateway starts: one batch holds it all.
    items: list[tuple[str, bytes]] = []
    for subject, kind in telemetry_targets(HOST):
        items += [(subject, body) for body in payloads(kind, HOST)]
    middle = len(items) // 2
    items[middle:middle] = [(subjects.metrics("ok-1"), sample("ok-1", 10.0))]
    items.append((subjects.metrics("ok-2"), sample("ok-2", 20.0)))
    await publish_to_stream(nats_url, items)

    settings = gateway_settings(nats_url, redis_url, fetch_batch=1000)
    async with running(settings) as gw:
        counters = gw.state.counters
        await eventually(lambda: counters.get("events_ingested") >= 2, timeout=20)
        assert await gw.state.redis.exists(keys.latest("ok-1"), keys.latest("ok-2")) == 2

        async def settled() -> bool:
            return await gw.ingest.consumer.pending() == (0, 0)

        # Nothing left to be redelivered: the hostile ones were terminated, not retried.
        await eventually(settled, timeout=20)
        assert counters.get("events_invalid") >= len(items) // 2
        assert counters.get("store_errors") == 0

        # And it keeps going with what comes after.
        await publish_to_stream(nats_url, [(subjects.metrics("ok-3"), sample("ok-3", 30.0))])

        async def stored() -> bool:
            return bool(await gw.state.redis.exists(keys.latest("ok-3")))

        await eventually(stored, timeout=20)


async def test_gateway_alert_consumer_terminates_hostile_alert_events(
    nats_url: str, redis_url: str
) -> None:
    items = [(subjects.alerts(HOST), body) for body in payloads("alert", HOST)]
    items += [(subjects.ANNOTATIONS, body) for body in payloads("annotation", "")]
    good = alert(host=HOST)
    items.append((subjects.alerts(HOST), events.encode(good)))
    await publish_to_stream(nats_url, items)

    async with running(gateway_settings(nats_url, redis_url, fetch_batch=1000)) as gw:
        counters = gw.state.counters
        await eventually(lambda: counters.get("alert_events") >= 1, timeout=20)

        async def settled() -> bool:
            return await gw.events.consumer.pending() == (0, 0)

        await eventually(settled, timeout=20)
        assert counters.get("events_invalid") >= len(items) // 2


# --- the notifier ----------------------------------------------------------------------


@pytest.fixture
async def rx() -> AsyncIterator[Receiver]:
    receiver = await Receiver().start()
    yield receiver
    await receiver.stop()


async def test_notifier_terminates_hostile_events_and_delivers_the_next_alert(
    processes: Processes, service_env: dict[str, str], tmp_path: Path, rx: Receiver
) -> None:
    toml = (
        'allow_private = ["127.0.0.1"]\n' + RETRY_FAST + "[[notifier.receivers]]\n"
        f'name = "hook"\nkind = "webhook"\nurl = "{rx.url("/hook")}"\nsecrets = ["{SECRET}"]\n'
    )
    config = write_config(tmp_path / "notifier.toml", toml)
    env = service_env | {"VITALS_CONFIG": str(config)}
    items = [(subjects.alerts(HOST), body) for body in payloads("alert", HOST)]
    items += [(subjects.ANNOTATIONS, body) for body in payloads("annotation", "")]
    await publish_to_stream(service_env["VITALS_NATS_URL"], items)
    proc = await start_notifier(processes, env)

    nc = await nats.connect(service_env["VITALS_NATS_URL"])
    try:
        assert await request_each_verb(nc, "notifier", list(control.NOTIFIER_VERBS)) > 0
        good = alert(host=HOST)
        await publish(service_env["VITALS_NATS_URL"], good)

        def delivered() -> list[dict[str, Any]]:
            return [e for r in rx.delivered("/hook") for e in r.json()["events"]]

        await eventually(lambda: good.id in {e["id"] for e in delivered()}, timeout=20)
        # Some spoiled bodies are still valid alerts (a `v` of -1, another host): those are
        # delivered too, as well-formed events.
        assert all(isinstance(e["ts"], float) for e in delivered())

        js = nc.jetstream()

        async def settled() -> bool:
            # Every partition's consumer reads every event: all of them are done with it.
            for partition in range(shares.PARTITIONS):
                consumer = subjects.notifier_consumer(partition)
                info = await js.consumer_info(subjects.STREAM_EVENTS, consumer)
                if (info.num_ack_pending, info.num_pending) != (0, 0):
                    return False
            return True

        await eventually(settled, timeout=20)
    finally:
        await nc.close()
    assert proc.poll() is None
    stats = (await ask(service_env["VITALS_NATS_URL"], "attempts_list")).data
    assert stats["counters"]["events_invalid"] >= len(items) // 2
    assert stats["counters"]["control_invalid"] >= 1
    log = processes.log("notifier")
    assert "handling alert events failed" not in log


# --- the gateway's live stream and control relay -----------------------------------------


async def test_live_stream_skips_hostile_messages_and_streams_the_next_sample(
    nats_url: str, redis_url: str
) -> None:
    settings = gateway_settings(nats_url, redis_url, ws_queue=1000, ws_max_lag=30.0)
    async with running(settings, consume=False) as gw, serving(gw) as base:
        token = await login(gw)
        # One client takes whole samples (raw bytes), one only the cpu family (re-encoded).
        whole = await open_stream(base, token, hosts=[HOST], metrics=["*"])
        cpu_only = await open_stream(base, token, hosts=[HOST], metrics=["cpu"])
        nc = await nats.connect(nats_url)
        bad = 0
        for subject, kind in telemetry_targets(HOST):
            for body in payloads(kind, HOST):
                await nc.publish(subject, body)
                bad += 1
        await nc.publish(subjects.metrics(HOST), sample(HOST, 42.0))
        await nc.flush()
        for ws in (whole, cpu_only):
            # Only valid events of this host reach a client (a few spoiled bodies are still
            # valid, a `v` of -1), and the stream goes on to the good sample.
            while True:
                got = await next_event(ws, "metrics")
                assert got["host"] == HOST
                if got["cpu"]["percent"] == 42.0:
                    break
            await ws.close()
        await nc.close()
        assert gw.state.counters.get("ws_invalid") >= 20


async def test_gateway_answers_502_to_a_hostile_control_reply(
    nats_url: str, redis_url: str
) -> None:
    async with running(gateway_settings(nats_url, redis_url), consume=False) as gw:
        nc = await nats.connect(nats_url)

        async def reply(msg: Msg) -> None:
            await msg.respond(nested_array("x"))

        await nc.subscribe(subjects.control(control.ALERTER, "rule_list"), cb=reply)
        await nc.flush()
        token = await login(gw)
        async with client(gw, token) as c:
            r = await c.get("/admin/system/rules")
        await nc.close()
        assert r.status_code == 502, r.text
        assert "cannot read" in r.json()["detail"]
