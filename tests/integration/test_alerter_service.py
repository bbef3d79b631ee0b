"""Real alerter processes against a real NATS: restarts, bad input, two replicas, control."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from tests.helpers import Processes, eventually, stored_alerts
from vitals_core import control, events, subjects
from vitals_core.events import Cpu, Memory, MetricSample

CONFIG = """
[alerter]
tick_interval = 0.2
repeat_interval = 0

[[alerter.rules]]
name = "cpu_high"
metric = "cpu.percent"
warning = 80
critical = 90
clear = 70
for = 1

# The absence logic itself, at 3 missed intervals (the built-in waits 15 s more).
[[alerter.rules]]
name = "host_down"
kind = "absence"
metric = "host"
missed = 3
"""
INTERVAL = 0.5


class Bus:
    """A test's own NATS client: publishes samples, records every alert event published."""

    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self.seen: list[dict[str, Any]] = []

    async def start(self) -> None:
        async def record(msg: Msg) -> None:
            self.seen.append(json.loads(msg.data))

        await self.nc.subscribe(subjects.ALERTS_ALL, cb=record)

    async def sample(self, host: str, cpu: float, interval: float = INTERVAL) -> None:
        sample = MetricSample(
            ts=time.time(),
            host=host,
            seq=0,
            interval=interval,
            cpu=Cpu(percent=cpu),
            memory=Memory(total=16, used=4, available=12, percent=25.0),
        )
        await self.nc.publish(subjects.metrics(host), events.encode(sample))

    def events(self, host: str = "", rule: str = "", kind: str = "") -> list[dict[str, Any]]:
        return [
            e
            for e in self.seen
            if (not host or e["host"] == host)
            and (not rule or e["rule"] == rule)
            and (not kind or e["event"] == kind)
        ]

    async def request(self, verb: str, body: dict[str, Any]) -> control.Reply:
        reply = await self.nc.request(
            subjects.control(control.ALERTER, verb), json.dumps(body).encode(), timeout=10
        )
        return control.decode_reply(reply.data)

    async def stats(self, replicas: int = 1) -> list[dict[str, Any]]:
        """Every replica's stats (they all answer `stats`)."""
        inbox = self.nc.new_inbox()
        sub = await self.nc.subscribe(inbox)
        await self.nc.publish(subjects.control(control.ALERTER, "stats"), b"{}", reply=inbox)
        replies = []
        for _ in range(replicas):
            msg = await sub.next_msg(timeout=10)
            if not msg.data:  # "no responders": nobody serves it yet
                break
            replies.append(control.decode_reply(msg.data).data)
        await sub.unsubscribe()
        return sorted(replies, key=lambda r: r["partitions"])

    async def stored_alerts(self) -> list[dict[str, Any]]:
        return await stored_alerts(self.nc)


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    nc = await nats.connect(nats_url)
    b = Bus(nc)
    await b.start()
    yield b
    await nc.close()


@pytest.fixture
def alerter_env(service_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    (tmp_path / "vitals.toml").write_text(CONFIG)
    return service_env


async def start_alerter(
    processes: Processes, env: dict[str, str], bus: Bus, name: str = "alerter", replicas: int = 1
) -> Any:
    proc = processes.start(name, [*processes_argv()], env)

    async def ready() -> bool:
        try:
            stats = await bus.stats(replicas)
        except (TimeoutError, nats.errors.Error):
            return False
        return len(stats) == replicas

    await eventually(ready, timeout=20, interval=0.3)
    return proc


def processes_argv() -> list[str]:
    import sys

    return [sys.executable, "-m", "vitals_alerter"]


async def keep_sending(bus: Bus, host: str, cpu: float, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await bus.sample(host, cpu)
        await asyncio.sleep(INTERVAL)


class Sender:
    """Keeps a host reporting in the background (so it never looks down), `cpu` adjustable."""

    def __init__(self, bus: Bus, host: str, cpu: float) -> None:
        self.bus, self.host, self.cpu = bus, host, cpu
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            await self.bus.sample(self.host, self.cpu)
            await asyncio.sleep(INTERVAL)

    def __enter__(self) -> Sender:
        self.task = asyncio.create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()


async def test_restart_while_firing_sends_no_duplicate_and_loses_no_resolve(
    bus: Bus, processes: Processes, alerter_env: dict[str, str]
) -> None:
    proc = await start_alerter(processes, alerter_env, bus)
    with Sender(bus, "web-1", 95) as web:
        await eventually(lambda: bus.events("web-1", "cpu_high", "firing"), timeout=10)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        # The breach goes on, then clears, while the alerter is away.
        await asyncio.sleep(1.0)
        web.cpu = 20
        await asyncio.sleep(1.0)
        await start_alerter(processes, alerter_env, bus, "alerter-2")
        await eventually(lambda: bus.events("web-1", "cpu_high", "resolved"), timeout=10)
        await asyncio.sleep(1.0)

    cpu = bus.events("web-1", "cpu_high")
    assert [e["event"] for e in cpu] == ["firing", "resolved"]
    assert cpu[0]["alert_id"] == cpu[1]["alert_id"]
    assert cpu[0]["severity"] == "critical"
    stored = [e for e in await bus.stored_alerts() if e["rule"] == "cpu_high"]
    assert [e["id"] for e in stored] == [e["id"] for e in cpu]
    assert not bus.events("web-1", "host_down")


async def test_a_crash_replays_without_duplicating_an_alert_in_the_stream(
    bus: Bus, processes: Processes, alerter_env: dict[str, str]
) -> None:
    proc = await start_alerter(processes, alerter_env, bus)
    with Sender(bus, "db-1", 95) as db:
        await eventually(lambda: bus.events("db-1", "cpu_high", "firing"), timeout=10)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        await asyncio.sleep(1.0)
        await start_alerter(processes, alerter_env, bus, "alerter-2")
        db.cpu = 10
        await eventually(lambda: bus.events("db-1", "cpu_high", "resolved"), timeout=10)
    stored = [e for e in await bus.stored_alerts() if e["rule"] == "cpu_high"]
    assert [e["event"] for e in stored] == ["firing", "resolved"]


async def test_a_malformed_metric_event_is_counted_and_skipped(
    bus: Bus, processes: Processes, alerter_env: dict[str, str]
) -> None:
    proc = await start_alerter(processes, alerter_env, bus)
    bad = [
        b"not json",
        b'{"kind": "metrics", "ts": 1, "host": "web-2", "seq": "x"}',
        events.encode(
            MetricSample(
                ts=1.0,
                host="someone-else",
                seq=1,
                interval=1,
                cpu=Cpu(percent=99),
                memory=Memory(total=1, used=1, available=0, percent=99),
            )
        ),
    ]
    for data in bad:
        await bus.nc.publish(subjects.metrics("web-2"), data)
    await keep_sending(bus, "web-2", 95, 2.0)
    await eventually(lambda: bus.events("web-2", "cpu_high", "firing"), timeout=10)

    [stats] = await bus.stats()
    assert stats["counters"]["events_invalid"] == 3
    assert proc.poll() is None
    assert "does not match the subject" in processes.log("alerter") or "malformed" in (
        processes.log("alerter")
    )
    assert not bus.events("someone-else")


async def test_two_replicas_share_the_hosts_with_no_duplicate_alert(
    bus: Bus, processes: Processes, alerter_env: dict[str, str]
) -> None:
    hosts = [f"node-{i}" for i in range(24)]
    processes.start("alerter-0", processes_argv(), alerter_env)
    processes.start("alerter-1", processes_argv(), alerter_env)

    async def split() -> bool:
        try:
            stats = await bus.stats(2)
        except (TimeoutError, nats.errors.Error):
            return False
        owned = [set(s["partitions"]) for s in stats]
        return len(owned) == 2 and not owned[0] & owned[1] and len(owned[0] | owned[1]) == 16

    await eventually(split, timeout=30, interval=0.3)
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        await asyncio.gather(*(bus.sample(h, 95) for h in hosts))
        await asyncio.sleep(INTERVAL)
    await eventually(lambda: len(bus.events(rule="cpu_high", kind="firing")) >= len(hosts))
    await asyncio.sleep(1.0)

    firing = bus.events(rule="cpu_high", kind="firing")
    assert sorted(e["host"] for e in firing) == sorted(hosts)  # each exactly once
    assert len({e["id"] for e in bus.seen}) == len(bus.seen)
    stats = await bus.stats(2)
    owned = [set(s["hosts"]) for s in stats]
    assert all(owned)
    assert not owned[0] & owned[1]
    assert owned[0] | owned[1] == set(hosts)
    for s in stats:
        assert s["evaluations"] > 0
        assert s["counters"]["events_other_partition"] > 0


async def test_control_verbs_over_nats(
    bus: Bus, processes: Processes, alerter_env: dict[str, str]
) -> None:
    await start_alerter(processes, alerter_env, bus)

    rules = (await bus.request("rule_list", {})).data["rules"]
    by_name = {r["name"]: r for r in rules}
    assert by_name["cpu_high"]["for"] == 1.0  # the configured rule replaced the built-in
    assert not by_name["cpu_high"]["builtin"]
    assert by_name["memory_high"]["warning"] == 85.0
    assert by_name["host_down"]["missed"] == 3

    bad = await bus.request("silence_create", {"matchers": [], "starts_at": 0, "ends_at": 1})
    assert not bad.ok
    assert "by" in bad.error  # names the missing field
    now = time.time()
    created = await bus.request(
        "silence_create",
        {
            "matchers": [{"name": "host", "value": "api-1"}],
            "starts_at": now,
            "ends_at": now + 600,
            "by": "ann",
            "comment": "deploy",
        },
    )
    assert created.ok, created.error
    silence_id = created.data["id"]
    listed = (await bus.request("silence_list", {})).data["silences"]
    assert [s["id"] for s in listed] == [silence_id]
    assert listed[0]["status"] == "active"

    # Fires while silenced: announced as silenced; deleting the silence makes it audible.
    await keep_sending(bus, "api-1", 95, 2.0)
    await eventually(lambda: bus.events("api-1", "cpu_high", "silenced"), timeout=10)
    deleted = await bus.request("silence_delete", {"id": silence_id, "by": "bob"})
    assert deleted.ok
    assert deleted.data["deleted_by"] == "bob"
    sending = asyncio.create_task(keep_sending(bus, "api-1", 95, 6.0))
    await eventually(lambda: bus.events("api-1", "cpu_high", "unsilenced"), timeout=10)
    assert not (await bus.request("silence_list", {})).data["silences"]
    audit = (await bus.request("silence_list", {"include_expired": True})).data["silences"]
    assert (audit[0]["created_by"], audit[0]["deleted_by"]) == ("ann", "bob")

    alert_id = bus.events("api-1", "cpu_high")[0]["alert_id"]
    missing = await bus.request("acknowledge", {"alert_id": "nope", "by": "ann"})
    assert missing.not_found
    acked = await bus.request("acknowledge", {"alert_id": alert_id, "by": "ann", "comment": "me"})
    assert acked.ok, acked.error
    await eventually(lambda: bus.events("api-1", "cpu_high", "acknowledged"), timeout=10)
    ack = bus.events("api-1", "cpu_high", "acknowledged")[0]
    assert (ack["acknowledged_by"], ack["comment"]) == ("ann", "me")

    history = await bus.request("alert_history", {"alert_id": alert_id})
    assert history.ok
    assert [e["event"] for e in history.data["events"]] == [
        "silenced",
        "unsilenced",
        "acknowledged",
    ]
    await sending
    not_json = await bus.nc.request(
        subjects.control(control.ALERTER, "acknowledge"), b"{", timeout=5
    )
    assert "bad acknowledge request" in control.decode_reply(not_json.data).error


async def test_host_down_after_missed_intervals(
    bus: Bus, processes: Processes, alerter_env: dict[str, str]
) -> None:
    await start_alerter(processes, alerter_env, bus)
    await keep_sending(bus, "gpu-1", 30, 1.5)
    await eventually(lambda: bus.events("gpu-1", "host_down", "firing"), timeout=10)
    down = bus.events("gpu-1", "host_down", "firing")[0]
    assert down["severity"] == "critical"
    await keep_sending(bus, "gpu-1", 30, 1.0)
    await eventually(lambda: bus.events("gpu-1", "host_down", "resolved"), timeout=10)
