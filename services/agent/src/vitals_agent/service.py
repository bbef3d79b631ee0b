"""The agent's wiring: sample every interval and publish to `vitals.metrics.<host>`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

from vitals_agent.collect import Collector
from vitals_core import bus, events, subjects
from vitals_core.settings import Settings

log = logging.getLogger("vitals.agent")


def host_id(settings: Settings) -> str:
    return subjects.safe_token(settings.agent.host or socket.gethostname())


async def run(settings: Settings, stop: asyncio.Event) -> None:
    if not settings.agent.enabled:
        log.info("monitoring is disabled (agent.enabled=false); nothing to do")
        await stop.wait()
        return
    host = host_id(settings)
    nc = await bus.connect(settings.nats, f"vitals-agent-{host}", stop)
    collector = Collector(host, settings.agent.interval)
    subject = subjects.metrics(host)
    log.info("agent for %s publishing every %.1fs", host, settings.agent.interval)
    try:
        while not stop.is_set():
            sample = collector.sample()
            await nc.publish(subject, events.encode(sample))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.agent.interval)
    finally:
        await nc.drain()
