"""The websocket live stream, served by a real uvicorn, fed by real NATS."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.helpers import eventually
from tests.integration.test_gateway_harness import (
    alert,
    gateway_settings,
    h100_sample,
    login,
    running,
    serving,
)
from vitals_gateway.service import Gateway


@pytest.fixture
async def live(nats_url: str, redis_url: str) -> AsyncIterator[tuple[Gateway, str]]:
    settings = gateway_settings(
        nats_url,
        redis_url,
        ws_queue=20,
        ws_max_lag=30.0,
        ws_auth_timeout=1.0,
        ws_origins=["http://dash.example"],
    )
    async with running(settings, consume=False) as gw, serving(gw) as url:
        yield gw, url


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/admin/system/stream"


async def open_stream(base: str, token: str, **subscription: Any) -> ClientConnection:
    ws = await connect(ws_url(base), compression=None)
    await ws.send(json.dumps({"token": token, "subscribe": subscription}))
    ack = json.loads(await ws.recv())
    assert ack["type"] == "subscribed", ack
    return ws


async def next_event(ws: ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if message.get("kind") == kind or message.get("type") == kind:
            return message  # type: ignore[no-any-return]


async def test_subscribe_filter_and_change_subscription(
    live: tuple[Gateway, str], nats_url: str, h100_fixtures: Path
) -> None:
    gw, base = live
    token = await login(gw)
    ws = await open_stream(base, token, hosts=["web-1"], metrics=["cpu"], alerts=True)
    nc = await nats.connect(nats_url)
    now = time.time()
    await nc.publish("vitals.metrics.web-2", h100_sample(h100_fixtures, "web-2", now, 1, 90.0))
    await nc.publish("vitals.metrics.web-1", h100_sample(h100_fixtures, "web-1", now, 1, 12.0))
    await nc.publish("vitals.alerts.web-2", alert("x", "firing", now, host="web-2"))
    await nc.publish("vitals.alerts.web-1", alert("cpu-web-1", "firing", now))
    first = await next_event(ws, "metrics")
    assert (first["host"], first["cpu"]["percent"]) == ("web-1", 12.0)
    assert "memory" not in first  # only the families asked for
    assert "gpus" not in first
    fired = await next_event(ws, "alert")
    assert (fired["alert_id"], fired["host"]) == ("cpu-web-1", "web-1")

    await ws.send(json.dumps({"subscribe": {"hosts": ["web-2"], "metrics": ["*"]}}))
    assert (await next_event(ws, "subscribed"))["subscription"]["hosts"] == ["web-2"]
    # The live view is core NATS (best effort): on a loaded machine the first sample after
    # a resubscription can race the gateway's new subscription, so the agent's next ones
    # (one a second, as an agent does) are what must arrive.
    second: dict[str, Any] = {}
    for tick in range(5):
        at = now + 1 + tick
        await nc.publish("vitals.metrics.web-1", h100_sample(h100_fixtures, "web-1", at, 2, 13.0))
        await nc.publish("vitals.metrics.web-2", h100_sample(h100_fixtures, "web-2", at, 2, 91.0))
        with contextlib.suppress(TimeoutError):
            second = await next_event(ws, "metrics")
            break
    assert (second["host"], second["cpu"]["percent"]) == ("web-2", 91.0)
    assert second["gpus"][0]["name"] == "NVIDIA H100 80GB HBM3"

    await ws.send(json.dumps({"type": "ping"}))
    assert "ts" in await next_event(ws, "pong")
    await ws.send("not json")
    assert "bad message" in (await next_event(ws, "error"))["reason"]
    await ws.close()
    await nc.close()


async def _drain(ws: ClientConnection) -> None:
    while True:
        await asyncio.wait_for(ws.recv(), 10)


async def closed_with(ws: ClientConnection) -> tuple[int, str]:
    """Read until the server closes; its close code and reason."""
    with pytest.raises(ConnectionClosed) as info:
        await _drain(ws)
    assert info.value.rcvd is not None
    return info.value.rcvd.code, info.value.rcvd.reason


async def test_the_first_message_must_authenticate(live: tuple[Gateway, str]) -> None:
    _, base = live
    async with connect(ws_url(base)) as ws:
        await ws.send(json.dumps({"token": "forged", "subscribe": {"alerts": True}}))
        assert await closed_with(ws) == (4001, "invalid, expired or revoked token")
    async with connect(ws_url(base)) as ws:
        assert await closed_with(ws) == (4001, "no token received in time")
    async with connect(ws_url(base)) as ws:
        await ws.send(json.dumps({"subscribe": {"alerts": True}}))
        assert await closed_with(ws) == (4400, "the first message needs a token and a subscription")
    async with connect(ws_url(base)) as ws:
        await ws.send(json.dumps({"token": "t", "subscribe": {"metrics": ["bogus"]}}))
        code, reason = await closed_with(ws)
        assert code == 4400
        assert "unknown metric families" in reason


async def test_a_foreign_origin_is_refused(live: tuple[Gateway, str]) -> None:
    gw, base = live
    with pytest.raises(InvalidStatus) as info:
        await connect(ws_url(base), origin="http://evil.example")  # type: ignore[arg-type]
    assert info.value.response.status_code == 403
    token = await login(gw)
    for origin in (base, "http://dash.example"):
        ws = await connect(ws_url(base), origin=origin)  # type: ignore[arg-type]
        await ws.send(json.dumps({"token": token, "subscribe": {"alerts": True}}))
        assert json.loads(await ws.recv())["type"] == "subscribed"
        await ws.close()


async def test_logout_closes_that_tokens_websockets(live: tuple[Gateway, str]) -> None:
    gw, base = live
    mine, other = await login(gw), await login(gw)
    ws = await open_stream(base, mine, alerts=True)
    kept = await open_stream(base, other, alerts=True)
    async with httpx.AsyncClient(base_url=base) as c:
        r = await c.post("/auth/logout", headers={"Authorization": f"Bearer {mine}"})
        assert r.status_code == 204
    assert await closed_with(ws) == (4001, "token revoked")
    await kept.send(json.dumps({"type": "ping"}))
    await next_event(kept, "pong")
    await kept.close()


async def test_annotations_reach_subscribers(live: tuple[Gateway, str]) -> None:
    gw, base = live
    token = await login(gw)
    ws = await open_stream(base, token, annotations=True)
    async with httpx.AsyncClient(base_url=base) as c:
        r = await c.post(
            "/admin/system/annotations",
            json={"text": "release 7", "tags": ["deploy"]},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 201
    note = await next_event(ws, "annotation")
    assert (note["text"], note["author"], note["tags"]) == ("release 7", "admin", ["deploy"])
    await ws.close()


async def slow_connection(base: str) -> ClientConnection:
    """A client that reads nothing, with the smallest receive buffer the kernel allows."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    sock.setblocking(False)
    host, port = base.removeprefix("http://").split(":")
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    return await connect(ws_url(base), sock=sock, compression=None, max_queue=1)


async def test_a_slow_client_is_coalesced_then_dropped_while_a_fast_one_keeps_up(
    live: tuple[Gateway, str], nats_url: str, h100_fixtures: Path
) -> None:
    gw, base = live
    token = await login(gw)
    subscription = {"metrics": ["*"], "alerts": True}
    fast = await open_stream(base, token, **subscription)
    received: list[dict[str, Any]] = []

    async def read_fast() -> None:
        async for message in fast:
            received.append(json.loads(message))

    reader = asyncio.create_task(read_fast())
    slow = await slow_connection(base)
    await slow.send(json.dumps({"token": token, "subscribe": subscription}))

    await eventually(lambda: len(gw.state.live.clients) == 2)
    nc = await nats.connect(nats_url)
    hosts = [f"web-{i}" for i in range(5)]
    last_cpu: dict[str, float] = {}
    counters = gw.state.counters
    seq = 0
    # Metrics until the slow client's socket is full and a value waits for every host.
    while not any(len(c.queue) >= len(hosts) for c in gw.state.live.clients):
        assert seq < 20_000, "the slow client never fell behind"
        for host in hosts:
            seq += 1
            last_cpu[host] = float(seq % 100)
            sample = h100_sample(h100_fixtures, host, time.time(), seq, last_cpu[host])
            await nc.publish(f"vitals.metrics.{host}", sample)
        await nc.flush()
        await asyncio.sleep(0)
    # More of them now replace the values waiting.
    for host in hosts:
        seq += 1
        last_cpu[host] = float(seq % 100)
        sample = h100_sample(h100_fixtures, host, time.time(), seq, last_cpu[host])
        await nc.publish(f"vitals.metrics.{host}", sample)
    await eventually(lambda: counters.get("ws_coalesced") >= len(hosts))
    # Alerts are never replaced: they overflow the slow client's queue of 20.
    for i in range(30):
        await nc.publish(
            "vitals.alerts.web-0", alert(f"a{i}", "firing", time.time() + i, host="web-0")
        )
    await nc.flush()
    await eventually(lambda: counters.get("ws_dropped") == 1)

    def fast_caught_up() -> bool:
        alerts = [m["alert_id"] for m in received if m.get("kind") == "alert"]
        return alerts == [f"a{i}" for i in range(30)]

    await eventually(fast_caught_up)
    latest = {m["host"]: m["cpu"]["percent"] for m in received if m.get("kind") == "metrics"}
    assert latest == last_cpu

    code, reason = await closed_with(slow)
    assert code == 4008
    assert reason == "too slow: more than 20 messages waiting"

    # The fast client goes on receiving.
    await nc.publish("vitals.alerts.web-0", alert("after", "firing", time.time(), host="web-0"))
    await eventually(lambda: received[-1].get("alert_id") == "after")
    assert counters.gauges["ws_clients"] == 1
    reader.cancel()
    await fast.close()
    await nc.close()


async def test_storage_down_closes_the_stream_with_a_reason(
    live: tuple[Gateway, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    gw, base = live
    token = await login(gw)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]  # nothing listens there once closed
    dead = Redis.from_url(f"redis://127.0.0.1:{dead_port}", socket_connect_timeout=1)
    monkeypatch.setattr(gw.state.auth.revocations, "redis", dead)
    async with connect(ws_url(base)) as ws:
        await ws.send(json.dumps({"token": token, "subscribe": {"alerts": True}}))
        assert await closed_with(ws) == (1011, "storage is unavailable; try again shortly")
    await dead.aclose()
