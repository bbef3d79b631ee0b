"""The alerter's wiring (skeleton: connects and prepares the streams; no logic yet)."""

from __future__ import annotations

import asyncio
import logging

from vitals_core import bus
from vitals_core.settings import Settings

log = logging.getLogger("vitals.alerter")


async def run(settings: Settings, stop: asyncio.Event) -> None:
    nc = await bus.connect(settings.nats, "vitals-alerter", stop)
    await bus.ensure_streams(nc.jetstream())
    log.info("alerter connected")
    await stop.wait()
    await nc.drain()
