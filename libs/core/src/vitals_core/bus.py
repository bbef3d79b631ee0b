"""The NATS connection every service uses: reconnect with backoff, streams, drain."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StreamConfig

from vitals_core import reconcile, streams, subjects, tlsfiles
from vitals_core.runtime import Stopped
from vitals_core.settings import NatsSettings

log = logging.getLogger("vitals.bus")

INITIAL_BACKOFF_S = 0.5
MAX_BACKOFF_S = 10.0


def stream_configs(nats: NatsSettings | None = None) -> list[StreamConfig]:
    return [StreamConfig.from_response(dict(d)) for d in streams.definitions(nats)]


async def connect(
    settings: NatsSettings, name: str, stop: asyncio.Event | None = None, **options: Any
) -> Client:
    """Connect, retrying with backoff until it works or `stop` is set.

    Once connected, the client reconnects by itself for ever.
    """
    if not settings.url:
        raise ValueError("nats.url is empty: set VITALS_NATS_URL or run through `vitals up`")

    nc = Client()

    async def on_disconnect() -> None:
        if not (nc.is_closed or nc.is_draining):
            log.warning("disconnected from NATS; reconnecting")

    async def on_reconnect() -> None:
        log.info("reconnected to NATS")

    async def on_error(exc: Exception) -> None:
        log.warning("NATS error: %s", exc)

    auth: dict[str, Any] = {}
    if settings.user:
        auth = {"user": settings.user, "password": settings.password}
    if settings.nkey_seed_file:
        auth["nkeys_seed"] = settings.nkey_seed_file
    if settings.creds_file:
        auth["user_credentials"] = settings.creds_file
    tls = tlsfiles.nats_tls(settings)  # a bad file stops the service here, with its name
    if tls is not None:
        auth["tls"] = tls
    kwargs: dict[str, Any] = {
        "servers": [u.strip() for u in settings.url.split(",")],
        "name": name,
        "connect_timeout": settings.connect_timeout,
        "allow_reconnect": True,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 1,
        "disconnected_cb": on_disconnect,
        "reconnected_cb": on_reconnect,
        "error_cb": on_error,
        # The services' own inboxes, which no agent's permissions reach (deploy/nats/).
        "inbox_prefix": subjects.service_inbox(name),
        **auth,
        **options,
    }
    backoff = INITIAL_BACKOFF_S
    while True:
        try:
            await nc.connect(**kwargs)
            return nc
        except (OSError, TimeoutError, nats.errors.Error) as exc:
            log.warning(
                "cannot reach NATS at %s (%s); retrying in %.1fs", settings.url, exc, backoff
            )
        if stop is None:
            await asyncio.sleep(backoff)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), backoff)
            if stop.is_set():
                raise Stopped
        backoff = min(backoff * 2, MAX_BACKOFF_S)


async def ensure_streams(js: JetStreamContext, nats: NatsSettings | None = None) -> None:
    """Create the streams, or reconcile them to `nats` (see vitals_core.reconcile)."""
    for config in stream_configs(nats):
        await reconcile.ensure_stream(js, config)


DRAIN_TIMEOUT_S = 5.0


async def close(nc: Client) -> None:
    """Drain if the server is there to drain to, else just close: stopping during an outage
    must not fail (drain refuses while reconnecting)."""
    try:
        async with asyncio.timeout(DRAIN_TIMEOUT_S):
            await nc.drain()
    except Exception as exc:
        log.info("closing without draining (%s)", exc.__class__.__name__)
        with contextlib.suppress(Exception):
            await nc.close()
