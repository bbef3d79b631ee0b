"""The gateway's wiring: connect, ingest, serve HTTP, drain on stop."""

from __future__ import annotations

import asyncio
import logging
import sys

import uvicorn
from redis.asyncio import Redis

from vitals_core import bus
from vitals_core.config import ConfigError
from vitals_core.settings import Settings
from vitals_gateway.app import create_app
from vitals_gateway.auth import Authenticator, bootstrap_admin, signing_key
from vitals_gateway.deps import State
from vitals_gateway.ingest import Ingest

log = logging.getLogger("vitals.gateway")


async def run(settings: Settings, stop: asyncio.Event) -> None:
    if not settings.redis.url:
        raise ConfigError("Config 'redis.url' is missing: set VITALS_REDIS_URL or use `vitals up`.")
    redis = Redis.from_url(settings.redis.url, socket_timeout=5, health_check_interval=30)
    nc = await bus.connect(settings.nats, "vitals-gateway", stop)
    await bus.ensure_streams(nc.jetstream())
    generated = await bootstrap_admin(redis, settings.admin_password)
    if generated:
        # Printed once, never stored in clear: only its hash is kept.
        print(
            f"\n  Vitals admin password (shown once): {generated}\n"
            "  Set VITALS_ADMIN_PASSWORD to choose your own.\n",
            file=sys.stderr,
            flush=True,
        )
    state = State(
        settings=settings,
        nc=nc,
        redis=redis,
        auth=Authenticator(settings.auth, await signing_key(settings.auth, redis), redis),
    )
    ingest = Ingest(nc, redis, state.counters)
    await ingest.start()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(state),
            host=settings.http.host,
            port=settings.http.port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
    )
    serving = asyncio.create_task(server.serve())
    stopping = asyncio.create_task(stop.wait())
    log.info("gateway on http://%s:%d", settings.http.host, settings.http.port)
    try:
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        server.should_exit = True
        await serving
        stopping.cancel()
        await ingest.stop()
        await nc.drain()
        await redis.aclose()
