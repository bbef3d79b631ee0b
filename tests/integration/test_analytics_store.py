"""The analytics' `WindowStore` contract, one suite run against both implementations: the
in-memory double of the unit tests and the gateway's Redis store (`analytics/store.py`)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.integration.test_analytics_harness import check, h100_sample, now_minute
from tests.unit.test_analytics_api import MemoryStore
from vitals_core import events, subjects
from vitals_core.settings import GatewaySettings
from vitals_gateway.analytics.api import Read, WindowStore
from vitals_gateway.analytics.store import RedisAnalyticsStore
from vitals_gateway.ingest.alertstore import AlertStore
from vitals_gateway.ingest.telemetry import convert
from vitals_gateway.storage.store import Read as StoreRead
from vitals_gateway.storage.store import WindowStore as Windows
from vitals_gateway.storage.windows import HOUR, MINUTE, RAW, Agg, WindowError

CPU = "cpu.percent"
MINUTES = 180  # a sample a minute for three hours: the last hour raw, the rest 1-minute


def cpu(t: float) -> float:
    return float(int(t // 60) % 50)


def alert(now: float) -> events.AlertEvent:
    return events.AlertEvent(
        ts=now - 30,
        id="e-1",
        alert_id="a-1",
        event="firing",
        rule="disk_forecast",
        host="h1",
        severity="critical",
        started_at=now - 30,
    )


Fill = Callable[[Path, float], Awaitable[WindowStore]]


async def memory(fixtures: Path, now: float) -> WindowStore:
    s = MemoryStore()
    s.samples["h1"] = h100_sample(fixtures, "h1", now, cpu=cpu(now))
    s.series["h1"] = {CPU: [(now - 60 * k, cpu(now - 60 * k)) for k in reversed(range(MINUTES))]}
    s.check_results["h1"] = [check("h1", "api", now - 5, True, "web")]
    s.alerts = [alert(now)]
    return s


def redis_store(redis: Redis) -> Fill:
    async def fill(fixtures: Path, now: float) -> WindowStore:
        windows = Windows(redis)
        await windows.load()
        alerts = AlertStore(redis, GatewaySettings())
        await alerts.load()
        real_now = time.time()
        recent = [
            convert(subjects.metrics("h1"), events.encode(e), real_now).write
            for k in reversed(range(60))
            for e in [h100_sample(fixtures, "h1", now - 60 * k, cpu=cpu(now - 60 * k))]
        ]
        api = check("h1", "api", now - 5, True, "web")
        recent.append(convert(subjects.health("h1", "api"), events.encode(api), real_now).write)
        await windows.write(recent, real_now)
        older = [now - 60 * k for k in range(60, MINUTES)]
        rows = [(t, {CPU: Agg(1, cpu(t), cpu(t), cpu(t), cpu(t))}) for t in older]
        await windows.write_rollups("h1", MINUTE, rows)
        await alerts.apply_alert(alert(now), events.encode(alert(now)), real_now)
        return RedisAnalyticsStore(windows, alerts)

    return fill


@pytest.fixture
def now() -> float:
    return now_minute()


@pytest.fixture(params=["memory", "redis"])
async def store(
    request: pytest.FixtureRequest, redis_url: str, h100_fixtures: Path, now: float
) -> AsyncIterator[WindowStore]:
    if request.param == "memory":
        yield await memory(h100_fixtures, now)
        return
    client = Redis.from_url(redis_url)
    yield await redis_store(client)(h100_fixtures, now)
    await client.aclose()


async def test_hosts_and_heads(store: WindowStore, now: float) -> None:
    assert await store.hosts() == ["h1"]
    head, unknown = await store.heads(["h1", "nope"])
    assert unknown is None
    assert head is not None
    assert head.sample is not None
    assert (head.sample.host, head.sample.ts, head.sample.cpu.count) == ("h1", now, 16)
    assert CPU in head.names
    assert [(c.check, c.group, c.ok) for c in head.checks] == [("api", "web", True)]
    assert await store.heads([]) == []


async def test_points_per_read_in_time_order(store: WindowStore, now: float) -> None:
    recent, older, nothing = await store.points(
        "h1",
        [
            Read([CPU, "cpu.nope"], now - 3000, now),
            Read([CPU], now - 3 * 3600 + 60, now - 2 * 3600),
            Read([], now - 60, now),
        ],
    )
    assert recent[CPU] == [(now - 60 * k, cpu(now - 60 * k)) for k in reversed(range(51))]
    assert recent["cpu.nope"] == []
    assert older[CPU] == [(now - 60 * k, cpu(now - 60 * k)) for k in reversed(range(120, 180))]
    assert nothing == {}


async def test_active_alerts(store: WindowStore) -> None:
    (a,) = await store.active_alerts()
    assert (a.alert_id, a.host, a.severity) == ("a-1", "h1", "critical")


async def test_history_written_at_explicit_times(redis: Redis, now: float) -> None:
    windows = Windows(redis, max_series_per_host=2)
    await windows.load()
    days = [now - 86400 * d for d in (6, 5, 4)]
    rows = [(t, {"a": Agg(6, 1.0, 3.0, 2.0, 3.0), "b": Agg(1, 5.0, 5.0, 5.0, 5.0)}) for t in days]
    assert await windows.write_rollups("h1", HOUR, rows) == 6
    # Beyond the host's series cap a new series is refused, and counted out.
    assert await windows.write_rollups("h1", HOUR, [(days[0], {"c": Agg(1, 1, 1, 1, 1)})]) == 0
    assert await windows.series_names("h1") == ["a", "b"]
    (read,) = await windows.query_batch("h1", [StoreRead(["a", "c"], now - 8 * 86400, now)])
    assert read["a"].resolution is HOUR
    assert read["a"].points.t == [int(HOUR.bucket(t)) for t in days]
    assert (read["a"].points.mean, read["a"].points.count) == ([2.0] * 3, [6] * 3)
    assert len(read["c"].points) == 0
    with pytest.raises(WindowError, match="raw points are written as events"):
        await windows.write_rollups("h1", RAW, rows)
