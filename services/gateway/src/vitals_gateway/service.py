"""The gateway's wiring: connect, ingest, roll up, serve HTTP and websockets, drain on stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from vitals_core import bus, tlsfiles
from vitals_core.config import ConfigError
from vitals_core.settings import Settings
from vitals_gateway.app import create_app
from vitals_gateway.auth import logredact
from vitals_gateway.auth.audit import Audit
from vitals_gateway.auth.authenticator import (
    MIN_KEY_BYTES,
    Authenticator,
    bootstrap_admin,
    signing_key,
)
from vitals_gateway.auth.ratelimit import LoginLimiter, TokenBucket
from vitals_gateway.auth.revocation import API_PREFIX, Revocations
from vitals_gateway.auth.sessions import Sessions
from vitals_gateway.auth.tokens import ApiTokens
from vitals_gateway.cache import TtlCache
from vitals_gateway.counters import Counters
from vitals_gateway.deps import State
from vitals_gateway.healthwatch import AlerterWatch
from vitals_gateway.ingest.alertstore import AlertStore, EventsIngest
from vitals_gateway.ingest.capacity import CapacityWatch
from vitals_gateway.ingest.telemetry_loop import Ingest
from vitals_gateway.live.hub import LiveHub
from vitals_gateway.relay import Relay
from vitals_gateway.routes.metrics import FLEET_KEY, HOSTS_KEY
from vitals_gateway.storage.redisconn import RedisUrlError, connect
from vitals_gateway.storage.roller import Roller
from vitals_gateway.storage.store import WindowStore

log = logging.getLogger("vitals.gateway")

# services/gateway/web/dist, next to this package's source tree.
DEFAULT_WEB_DIR = Path(__file__).resolve().parents[2] / "web" / "dist"
# Redis connections per gateway process: requests beyond it wait (up to 10 s) for one.
REDIS_CONNECTIONS = 128


@dataclass
class Gateway:
    state: State
    app: FastAPI
    ingest: Ingest
    events: EventsIngest
    roller: Roller


def web_dir(settings: Settings) -> Path | None:
    configured = settings.gateway.web_dir
    path = Path(configured) if configured else DEFAULT_WEB_DIR
    if path.is_dir():
        return path
    if configured:
        log.warning("gateway.web_dir %s does not exist: the dashboard is not served", path)
    return None


@contextlib.asynccontextmanager
async def open_gateway(
    settings: Settings, stop: asyncio.Event | None = None, *, consume: bool = True
) -> AsyncIterator[Gateway]:
    """Everything but the HTTP server, connected and running; stopped in order on exit."""
    if not settings.redis.url:
        raise ConfigError("Config 'redis.url' is missing: set VITALS_REDIS_URL or use `vitals up`.")
    if settings.auth.jwt_secret and len(settings.auth.jwt_secret.encode()) < MIN_KEY_BYTES:
        raise ConfigError(f"Config 'auth.jwt_secret' must be at least {MIN_KEY_BYTES} bytes.")
    # One server, a cluster or a Sentinel-managed primary, as the URL says.
    try:
        redis = connect(
            settings.redis.url,
            max_connections=REDIS_CONNECTIONS,
            socket_timeout=5,
            health_check_interval=30,
            **tlsfiles.redis_tls_kwargs(settings.redis),
        )
    except RedisUrlError as exc:
        raise ConfigError(str(exc)) from None
    nc = await bus.connect(settings.nats, "vitals-gateway", stop)
    try:
        js = nc.jetstream()
        await bus.ensure_streams(js, settings.nats)
        generated = await bootstrap_admin(redis, settings.admin_password)
        if generated:
            # Printed once, never stored in clear: only its hash is kept.
            print(
                f"\n  Vitals admin password (shown once): {generated}\n"
                "  Set VITALS_ADMIN_PASSWORD to choose your own.\n",
                file=sys.stderr,
                flush=True,
            )
        gw = settings.gateway
        counters = Counters()
        store = WindowStore(redis, gw.max_series_per_host)
        await store.load()
        alerts = AlertStore(redis, gw)
        await alerts.load()
        tokens = ApiTokens(redis)
        revocations = Revocations(redis, nc)
        live = LiveHub(nc, counters, gw)
        state = State(
            settings=settings,
            nc=nc,
            js=js,
            redis=redis,
            store=store,
            alerts=alerts,
            auth=Authenticator(
                settings.auth, await signing_key(settings.auth, redis), redis, revocations, tokens
            ),
            tokens=tokens,
            revocations=revocations,
            audit=Audit(redis, gw.audit_max),
            logins=LoginLimiter(
                redis,
                settings.auth.login_attempts,
                settings.auth.login_attempts_per_address,
                settings.auth.login_window,
            ),
            sessions=Sessions(redis, settings.auth.session_max),
            relay=Relay(nc, gw.control_timeout),
            live=live,
            cache=TtlCache(gw.cache_ttl, max_entries=256),
            limiter=TokenBucket(settings.auth.api_rate, settings.auth.api_burst),
            counters=counters,
            web_dir=web_dir(settings),
        )

        def revoked(jti: str) -> None:
            if jti.startswith(API_PREFIX):
                tokens.forget(jti[len(API_PREFIX) :])
            live.revoked(jti)

        revocations.on_revoke(revoked)
        await revocations.start()
        live.start()
        state.alerter_watch = AlerterWatch(state.relay, gw.health_interval)
        state.alerter_watch.start()
        ingest = Ingest(
            js,
            store,
            counters,
            gw,
            # A host's first sample must not wait out a cached fleet answer that lacks it.
            on_new_host=lambda _host: state.cache.discard(FLEET_KEY, HOSTS_KEY),
        )
        events = EventsIngest(js, alerts, counters, gw)
        roller = Roller(store, counters)
        capacity = CapacityWatch(js, counters)
        if consume:
            await ingest.start()
            await events.start()
            roller.start()
            capacity.start()
        gateway = Gateway(state, create_app(state), ingest, events, roller)
        try:
            yield gateway
        finally:
            if consume:
                await asyncio.gather(capacity.stop(), roller.stop(), events.stop(), ingest.stop())
            await state.alerter_watch.stop()
            await live.stop()
            await revocations.stop()
    finally:
        await bus.close(nc)
        await redis.aclose()


def server(app: FastAPI, settings: Settings) -> uvicorn.Server:
    logredact.install()  # handshake lines carry query strings, where clients put tokens
    return uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.http.host,
            port=settings.http.port,
            log_config=None,
            access_log=False,
            lifespan="off",
            ws_ping_interval=settings.gateway.ws_ping_interval,
            ws_ping_timeout=settings.gateway.ws_ping_interval,
            ws_max_size=64 * 1024,
            # Compressing each message once per client costs more CPU than it saves here.
            ws_per_message_deflate=False,
            forwarded_allow_ips=settings.http.trusted_proxies or None,
            proxy_headers=bool(settings.http.trusted_proxies),
            server_header=False,
        )
    )


async def run(settings: Settings, stop: asyncio.Event) -> None:
    async with open_gateway(settings, stop) as gateway:
        http = server(gateway.app, settings)
        serving = asyncio.create_task(http.serve())
        stopping = asyncio.create_task(stop.wait())
        log.info("gateway on http://%s:%d", settings.http.host, settings.http.port)
        try:
            await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            http.should_exit = True
            await serving
            stopping.cancel()
        if serving.done() and not stop.is_set() and not http.started:
            raise ConfigError(
                f"cannot listen on {settings.http.host}:{settings.http.port} (in use?)"
            )
