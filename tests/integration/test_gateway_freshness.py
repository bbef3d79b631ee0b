"""Answers with a bounded age: no cached answer older than its TTL and one refresh, status
computed when asked, gaps sent as nulls, alert history from the gateway's own store."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from tests.integration.test_gateway_api import ingested, publish
from tests.integration.test_gateway_harness import (
    alert,
    app_metrics,
    client,
    gateway_settings,
    login,
    running,
)
from vitals_gateway.service import Gateway

TTL = 1.0


@pytest.fixture
async def cached(nats_url: str, redis_url: str) -> AsyncIterator[Gateway]:
    settings = gateway_settings(nats_url, redis_url, cache_ttl=TTL, stale_after=1.0)
    async with running(settings) as gw:
        yield gw


async def test_after_an_idle_spell_no_answer_is_older_than_its_ttl_and_one_refresh(
    cached: Gateway, nats_url: str
) -> None:
    now = time.time()
    await publish(nats_url, ("vitals.app.web-1.asr", app_metrics("web-1", "asr", now, 1.0)))
    await ingested(cached, 1)
    async with client(cached, await login(cached)) as c:
        paths = ["/admin/system/metrics", "/admin/system/hosts"]
        for path in paths:
            r = await c.get(path)
            assert (r.status_code, r.headers["age"]) == (200, "0"), path
        await asyncio.sleep(2 * TTL + 0.5)  # idle past the TTL and one refresh interval
        for path in paths:
            r = await c.get(path)
            assert r.status_code == 200
            assert int(r.headers["age"]) <= 2 * TTL, path


async def test_host_status_is_computed_when_asked_not_when_cached(
    cached: Gateway, nats_url: str
) -> None:
    cached.state.cache.ttl = 60.0  # the facts stay cached through the test
    await publish(nats_url, ("vitals.app.web-1.asr", app_metrics("web-1", "asr", time.time(), 1.0)))
    await ingested(cached, 1)
    async with client(cached, await login(cached)) as c:
        [host] = (await c.get("/admin/system/hosts")).json()["hosts"]
        assert host["status"] == "up"
        await asyncio.sleep(1.5)  # past stale_after
        r = await c.get("/admin/system/hosts")
        [host] = r.json()["hosts"]
        assert host["status"] == "stale"
        assert int(r.headers["age"]) >= 1  # while the facts came from the cache


async def test_a_gap_in_a_series_comes_back_as_a_null(cached: Gateway, nats_url: str) -> None:
    base = int(time.time()) - 300
    seconds = [0, 1, 2, 3, 90, 91, 92]  # 86 s without data
    await publish(
        nats_url,
        *[
            ("vitals.app.web-1.asr", app_metrics("web-1", "asr", base + s, float(s)))
            for s in seconds
        ],
    )
    await ingested(cached, len(seconds))
    async with client(cached, await login(cached)) as c:
        r = await c.get(
            "/admin/system/metrics/historical",
            params={"host": "web-1", "metric": "app.queue_size{app=asr}", "range": "1h"},
        )
        points = r.json()["series"][0]["points"]
    assert points["t"][:8] == [base + s for s in (0, 1, 2, 3, 4, 90, 91, 92)]
    assert points["mean"][:8] == [0.0, 1.0, 2.0, 3.0, None, 90.0, 91.0, 92.0]
    # The series ended minutes before the range does: a null after its last point too.
    assert points["mean"][8:] == [None]


async def test_alert_history_is_answered_from_the_gateways_store(
    cached: Gateway, nats_url: str
) -> None:
    now = time.time()
    await publish(
        nats_url,
        ("vitals.alerts.web-1", alert("a1", "firing", now - 50)),
        ("vitals.alerts.web-1", alert("a1", "resolved", now - 40)),
        ("vitals.alerts.web-2", alert("a2", "firing", now - 30, host="web-2")),
    )
    for _ in range(100):
        if cached.state.counters.get("alert_events") >= 3:
            break
        await asyncio.sleep(0.05)
    async with client(cached, await login(cached)) as c:  # no alerter runs here

        async def history(**params: str) -> list[tuple[str, str]]:
            r = await c.get("/admin/system/alerts/history", params=params)
            assert r.status_code == 200, r.text
            return [(e["alert_id"], e["event"]) for e in r.json()["data"]["events"]]

        assert await history() == [("a1", "firing"), ("a1", "resolved"), ("a2", "firing")]
        assert await history(host="web-2") == [("a2", "firing")]
        assert await history(alert_id="a1", limit="1") == [("a1", "resolved")]
        assert await history(since=str(now - 35)) == [("a2", "firing")]
        r = await c.get("/admin/system/alerts/history", params={"since": "last week"})
        assert r.status_code == 422
