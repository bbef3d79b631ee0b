"""The websocket live stream `/admin/system/stream`.

1. Connect (a browser's `Origin` must be the gateway's own or in `gateway.ws_origins`).
2. Send `{"token": "...", "subscribe": {"hosts": [...], "metrics": ["cpu", ...],
   "apps": true, "checks": true, "alerts": true, "annotations": true}}` within
   `gateway.ws_auth_timeout` seconds; the answer is `{"type": "subscribed", ...}`.
3. Receive bus events as JSON (`kind` says which). Send `{"subscribe": {...}}` to change
   what you get, `{"token": "..."}` to renew the token before it expires,
   `{"type": "ping"}` for a `{"type": "pong"}`. The server pings too (protocol pings).

Close codes: 4001 token missing, invalid, revoked or expired; 4400 bad message; 4008 too
slow (the reason says how); 1001 the gateway is stopping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import msgspec
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from redis.exceptions import RedisError

from vitals_gateway.auth.authenticator import AuthError, Principal
from vitals_gateway.deps import State
from vitals_gateway.live.hub import CLOSE_BAD_MESSAGE, CLOSE_UNAUTHORIZED, LiveClient
from vitals_gateway.live.subscriptions import BadMessage, origin_allowed, parse_client_message

# The server cannot serve the stream right now (RFC 6455 1011); the client retries.
CLOSE_UNAVAILABLE = 1011

log = logging.getLogger("vitals.gateway.stream")

router = APIRouter()


def _client_id(principal: Principal) -> str:
    # API tokens are announced as `api:<id>` when revoked (see revocation.py).
    return principal.jti if principal.kind == "user" else f"api:{principal.jti}"


@router.websocket("/admin/system/stream")
async def stream(ws: WebSocket) -> None:
    state: State = ws.app.state.vitals
    settings = state.settings.gateway
    if not origin_allowed(ws.headers.get("origin"), ws.headers.get("host"), settings.ws_origins):
        await ws.close(code=4003, reason="origin not allowed")  # before accept: HTTP 403
        return
    await ws.accept()
    try:
        first = await asyncio.wait_for(ws.receive_text(), settings.ws_auth_timeout)
        message = parse_client_message(first)
    except TimeoutError:
        await ws.close(CLOSE_UNAUTHORIZED, "no token received in time")
        return
    except BadMessage as exc:
        await ws.close(CLOSE_BAD_MESSAGE, f"bad message: {exc}"[:120])
        return
    except (WebSocketDisconnect, RuntimeError, KeyError):
        return
    if not message.token or message.subscribe is None:
        await ws.close(CLOSE_BAD_MESSAGE, "the first message needs a token and a subscription")
        return
    try:
        principal = await state.auth.verify(message.token)
    except AuthError:
        await ws.close(CLOSE_UNAUTHORIZED, "invalid, expired or revoked token")
        return
    except RedisError as exc:
        log.warning("Redis unavailable while opening a live stream: %s", exc)
        await ws.close(CLOSE_UNAVAILABLE, "storage is unavailable; try again shortly")
        return

    client = LiveClient(settings.ws_queue, _client_id(principal), principal.expires_at)
    await state.live.add(client, message.subscribe)
    client.send_control(_subscribed(message.subscribe), time.monotonic())
    sender = asyncio.create_task(_send(ws, client, state))
    receiver = asyncio.create_task(_receive(ws, client, state))
    closed = asyncio.create_task(client.closed.wait())
    try:
        await asyncio.wait({sender, receiver, closed}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, receiver, closed):
            task.cancel()
        await asyncio.gather(sender, receiver, closed, return_exceptions=True)
        await state.live.remove(client)
    if client.closed.is_set() and not client.gone:
        # A slow client's socket may not drain: give the close frame a bounded chance.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                ws.close(client.close_code, client.close_reason[:120]), settings.ws_max_lag
            )


def _subscribed(subscription: msgspec.Struct) -> dict[str, object]:
    return {"type": "subscribed", "subscription": msgspec.to_builtins(subscription)}


async def _send(ws: WebSocket, client: LiveClient, state: State) -> None:
    while True:
        await client.ready.wait()
        client.ready.clear()
        while (payload := client.queue.take()) is not None:
            await ws.send_text(payload.decode())
            state.counters.inc("ws_sent")


async def _receive(ws: WebSocket, client: LiveClient, state: State) -> None:
    while True:
        try:
            text = await ws.receive_text()
        except (WebSocketDisconnect, RuntimeError, KeyError):
            client.gone = True
            return
        now = time.monotonic()
        try:
            message = parse_client_message(text)
        except BadMessage as exc:
            client.send_control({"type": "error", "reason": f"bad message: {exc}"}, now)
            continue
        if message.token is not None:
            try:
                principal = await state.auth.verify(message.token)
            except AuthError:
                client.close(CLOSE_UNAUTHORIZED, "invalid, expired or revoked token")
                return
            client.jti = _client_id(principal)
            client.expires_at = principal.expires_at
        if message.subscribe is not None:
            await state.live.subscribe(client, message.subscribe)
            client.send_control(_subscribed(message.subscribe), now)
        elif message.token is not None:
            client.send_control({"type": "token_renewed"}, now)
        if message.type == "ping":
            client.send_control({"type": "pong", "ts": time.time()}, now)
