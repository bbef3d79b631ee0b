"""The notifier's wiring (skeleton: connects and prepares the streams; no logic yet)."""

from __future__ import annotations

import asyncio
import logging

from vitals_core import bus
from vitals_core.settings import Settings

log = logging.getLogger("vitals.notifier")


async def run(settings: Settings, stop: asyncio.Event) -> None:
    nc = await bus.connect(settings.nats, "vitals-notifier", stop)
    await bus.ensure_streams(nc.jetstream())
    log.info("notifier connected")
    await stop.wait()
    await nc.drain()
