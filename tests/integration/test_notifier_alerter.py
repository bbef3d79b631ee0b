"""The alerter and the notifier together, as an on-call team runs them: reminders keep the
alerter's interval (also after an escalation step), and a silence created while a page
waits in its group stops it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from tests.helpers import Processes, eventually
from tests.integration.notifier_support import SECRET, Receiver, ask, start_notifier
from vitals_core import control, events, subjects
from vitals_core.events import Cpu, Memory, MetricSample

ALERTER = """
[alerter]
tick_interval = 0.2
builtin_rules = false
repeat_interval = {repeat}

[[alerter.escalations]]
name = "ladder"
steps = [{{ after = {step}, severity = "critical" }}]

[[alerter.rules]]
name = "cpu_high"
metric = "cpu.percent"
warning = 80
critical = 95
clear = 70
escalation = "ladder"
"""
NOTIFIER = """
[notifier]
allow_private = ["127.0.0.1"]
retry_base = 0.1
retry_max_delay = 0.4
group_by = ["host"]
group_wait = {wait}
group_interval = {interval}
repeat_interval = {repeat}

[[notifier.receivers]]
name = "ops"
kind = "webhook"
url = "{url}"
secrets = ["{secret}"]
"""
SAMPLE_EVERY = 0.3


class Alerts:
    """Every alert event the alerter publishes, with when it was seen."""

    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self.seen: list[tuple[float, dict[str, Any]]] = []

    async def start(self) -> None:
        async def record(msg: Msg) -> None:
            self.seen.append((time.time(), json.loads(msg.data)))

        await self.nc.subscribe(subjects.ALERTS_ALL, cb=record)

    def of(self, kind: str) -> list[tuple[float, dict[str, Any]]]:
        return [(at, e) for at, e in self.seen if e["event"] == kind]


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[Alerts]:
    nc = await nats.connect(nats_url)
    alerts = Alerts(nc)
    await alerts.start()
    yield alerts
    await nc.close()


@pytest.fixture
async def rx() -> AsyncIterator[Receiver]:
    receiver = await Receiver().start()
    yield receiver
    await receiver.stop()


async def report(nc: Client, hosts: dict[str, float], seconds: float) -> None:
    """Each host sends a sample with its CPU every SAMPLE_EVERY seconds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for host, cpu in hosts.items():
            sample = MetricSample(
                ts=time.time(), host=host, seq=0, interval=SAMPLE_EVERY, cpu=Cpu(percent=cpu),
                memory=Memory(total=16, used=4, available=12, percent=25.0),
            )  # fmt: skip
            await nc.publish(subjects.metrics(host), events.encode(sample))
        await asyncio.sleep(SAMPLE_EVERY)


async def start_both(
    processes: Processes, env: dict[str, str], tmp_path: Path, rx: Receiver, bus: Alerts,
    *, repeat: float, step: float, wait: float, interval: float,
) -> None:  # fmt: skip
    config = tmp_path / "vitals.toml"
    # The notifier's own repeat_interval differs: the alerter's clock alone decides.
    notifier = NOTIFIER.format(
        wait=wait, interval=interval, repeat=repeat * 30, url=rx.url("/ops"), secret=SECRET
    )
    config.write_text(ALERTER.format(repeat=repeat, step=step) + notifier)
    env = env | {"VITALS_CONFIG": str(config)}
    processes.service("alerter", env)

    async def alerter_ready() -> bool:
        try:
            reply = await bus.nc.request(
                subjects.control(control.ALERTER, "stats"), b"{}", timeout=1
            )
        except (TimeoutError, nats.errors.Error):
            return False
        return control.decode_reply(reply.data).ok

    await eventually(alerter_ready, timeout=20, interval=0.3)
    await start_notifier(processes, env)


def delivered(rx: Receiver) -> dict[str, float]:
    """Event id → when the receiver got it."""
    return {e["id"]: r.at for r in rx.delivered("/ops") for e in r.json()["events"]}


async def test_every_reminder_of_the_alerter_reaches_the_receiver_on_time(
    nats_url: str, service_env: dict[str, str], processes: Processes, tmp_path: Path,
    rx: Receiver, bus: Alerts,
) -> None:  # fmt: skip
    # A reminder at 2 s, the step at 3.5 s, reminders from there every 2 s.
    repeat, step, wait, interval = 2.0, 3.5, 0.5, 0.5
    await start_both(processes, service_env, tmp_path, rx, bus, repeat=repeat, step=step,
                     wait=wait, interval=interval)  # fmt: skip
    await report(bus.nc, {"gpu-1": 85.0}, 10.0)
    cutoff = time.time()
    # The alert goes on firing; what was published until now has had time to arrive.
    await asyncio.sleep(wait + interval + 1.5)
    got = delivered(rx)
    published = [
        (at, e) for at, e in bus.seen
        if at <= cutoff and e["event"] in ("firing", "escalated", "reminder")
    ]  # fmt: skip
    kinds = [e["event"] for _, e in published]
    assert kinds.count("escalated") == 1
    assert kinds.count("reminder") >= 3
    assert [e["event"] for _, e in published if e["id"] not in got] == []
    # Each within group_wait + group_interval of the alerter's clock (generous margin).
    late = [(e["event"], round(got[e["id"]] - at, 2)) for at, e in published
            if got[e["id"]] - at > wait + interval + 2.5]  # fmt: skip
    assert late == []
    reply = await ask(nats_url, "attempts_list", limit=1)
    assert reply.data["counters"].get("reminders_suppressed", 0) == 0


async def test_a_silence_created_while_the_page_waits_stops_it(
    nats_url: str, service_env: dict[str, str], processes: Processes, tmp_path: Path,
    rx: Receiver, bus: Alerts,
) -> None:  # fmt: skip
    await start_both(processes, service_env, tmp_path, rx, bus, repeat=0, step=600,
                     wait=2.0, interval=1.0)  # fmt: skip
    sending = asyncio.create_task(report(bus.nc, {"gpu-1": 85.0, "gpu-2": 85.0}, 8.0))
    try:
        await eventually(lambda: len(bus.of("firing")) == 2, timeout=10)
        now = time.time()
        reply = await bus.nc.request(
            subjects.control(control.ALERTER, "silence_create"),
            json.dumps({"matchers": [{"name": "host", "value": "gpu-1"}], "starts_at": now,
                        "ends_at": now + 600, "by": "ann"}).encode(),
            timeout=5,
        )  # fmt: skip
        assert control.decode_reply(reply.data).ok
        await eventually(lambda: bus.of("silenced"), timeout=5)
        await eventually(lambda: rx.delivered("/ops"), timeout=10)

        async def withheld() -> bool:
            data: Any = (await ask(nats_url, "attempts_list", limit=1)).data
            return bool(data["counters"].get("muted_at_flush"))

        await eventually(withheld, timeout=10)
    finally:
        sending.cancel()
    hosts = [e["host"] for r in rx.delivered("/ops") for e in r.json()["events"]]
    assert hosts == ["gpu-2"]
