"""`GET /admin/system/analytics` through the gateway over real NATS and Redis: trends, change,
capacity forecasts, anomaly flags and application summaries on series with known answers."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_analytics_harness import (
    admin,
    get,
    h100_sample,
    now_minute,
    publish,
    write_history,
)
from tests.integration.test_gateway_harness import gateway
from vitals_core import events
from vitals_gateway.service import Gateway

__all__ = ["admin", "gateway"]

H = 3600.0
DISK = "disk.percent{mount=/}"
# The root disk fills 0.25 %/h and is at 80 % now: it reaches 95 % in 60 h.
DISK_NOW, DISK_PER_HOUR, DISK_LIMIT = 80.0, 0.25, 95.0
SPIKE_AGO = 6 * H
WEEK = 7 * 24 * H


class Host:
    """gpu-1 over the last week: the disk filling, CPU at 30 % with noise and one spike."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.spike = now - SPIKE_AGO

    def disk(self, t: float) -> float:
        return DISK_NOW + DISK_PER_HOUR * (t - self.now) / H

    def cpu(self, t: float) -> float:
        if t == self.spike:
            return 95.0
        return 30.0 + random.Random(int(t)).gauss(0.0, 2.0)


@pytest.fixture
async def host(gateway: Gateway, nats_url: str, h100_fixtures: Path) -> Host:
    h = Host(now_minute())
    # A week less an hour: no hourly bucket reaches into the week before.
    start = h.now - WEEK + H
    await write_history(gateway, "gpu-1", {DISK: h.disk, "cpu.percent": h.cpu}, start, h.now)
    # The last hour through the bus: a sample and an application report every minute.
    recent: list[events.Event] = []
    for i in range(60):
        t = h.now - 59 * 60 + i * 60
        recent.append(h100_sample(h100_fixtures, "gpu-1", t, i, cpu=h.cpu(t), disk=h.disk(t)))
        recent.append(
            events.AppMetrics(
                ts=t,
                host="gpu-1",
                app="asr",
                window=60.0,
                queue_size=4.0,
                error_rate=0.005,
                throughput_per_s=1.5,
                response_ms=events.Percentiles(count=90, p50=420.0, p95=800.0, p99=1200.0),
            )
        )
    await publish(gateway, nats_url, *recent)
    return h


def by_series(answer: dict[str, Any], key: str = "metrics") -> dict[str, Any]:
    return {m["series"]: m for m in answer[key]}


async def test_a_day_trend_change_forecast_and_spike(
    gateway: Gateway, admin: str, host: Host
) -> None:
    body = await get(gateway, admin, "analytics", params={"host": "gpu-1", "range": "24h"})
    assert body["range"] == "24h"
    (answer,) = body["hosts"]
    metrics = by_series(answer)
    disk = metrics[DISK]["trend"]
    assert disk["slope_per_hour"] == pytest.approx(DISK_PER_HOUR, rel=0.01)
    assert disk["r2"] > 0.99
    assert disk["last"] == pytest.approx(DISK_NOW, abs=0.01)
    # The day's mean against the day before (read at 10 minutes): 24 h x 0.25 %/h higher.
    assert disk["change"] == pytest.approx(24 * DISK_PER_HOUR, abs=0.05)
    assert "disk.percent{mount=/usr/local/nvidia}" not in metrics  # a read-only image

    forecast = by_series(answer, "capacity")[DISK]
    assert forecast["status"] == "exhausting"
    crossing = host.now + (DISK_LIMIT - DISK_NOW) / DISK_PER_HOUR * H
    assert forecast["at"] == pytest.approx(crossing, abs=0.02 * 60 * H)  # within 2 %
    windows = {w["window"]: w for w in forecast["windows"]}
    assert {w["status"] for w in windows.values()} == {"exhausting"}
    assert windows["7d"]["slope_per_hour"] == pytest.approx(DISK_PER_HOUR, rel=0.01)

    cpu = metrics["cpu.percent"]
    flags = cpu["anomalies"]["flags"]
    assert [(f["ts"], f["value"]) for f in flags] == [(host.spike, 95.0)]
    assert flags[0]["expected"] == pytest.approx(30.0, abs=1.0)
    assert cpu["trend"]["p50"] == pytest.approx(30.0, abs=0.5)
    assert cpu["trend"]["max"] == 95.0


async def test_a_week_and_an_hour(gateway: Gateway, admin: str, host: Host) -> None:
    week = await get(gateway, admin, "analytics", params={"host": "gpu-1", "range": "7d"})
    (answer,) = week["hosts"]
    disk = by_series(answer)[DISK]["trend"]
    assert disk["slope_per_hour"] == pytest.approx(DISK_PER_HOUR, rel=0.01)
    assert disk["min"] == pytest.approx(host.disk(host.now - WEEK + H), abs=0.2)
    assert disk["change"] is None  # nothing is stored from the week before

    hour = await get(gateway, admin, "analytics", params={"host": "gpu-1", "range": "1h"})
    (answer,) = hour["hosts"]
    assert by_series(answer)[DISK]["trend"]["n"] == 60  # one raw sample a minute
    (app,) = answer["apps"]
    assert app["app"] == "asr"
    assert app["throughput_jobs_per_hour"] == pytest.approx(1.5 * 3600)
    assert app["error_rate"] == pytest.approx(0.005)
    assert (app["response_ms_p95"], app["response_ms_p99_max"]) == (800.0, 1200.0)
    assert (app["queue_size"], app["queue_growth_per_hour"]) == (4.0, 0.0)


async def test_one_metric_and_bad_requests(gateway: Gateway, admin: str, host: Host) -> None:
    body = await get(gateway, admin, "analytics", params={"metric": "disk.percent"})
    (answer,) = body["hosts"]
    assert list(by_series(answer)) == [DISK]
    assert list(by_series(answer, "capacity")) == [DISK]
    assert answer["apps"] == []
    exact = "disk.percent{mount=/usr/local/nvidia}"
    body = await get(gateway, admin, "analytics", params={"host": "gpu-1", "metric": exact})
    assert list(by_series(body["hosts"][0])) == [exact]  # asked for by name, it is shown

    body = await get(gateway, admin, "analytics", 404, {"host": "gpu-1", "metric": "gpu.nope"})
    assert body["detail"] == "no series named 'gpu.nope' on this host 'gpu-1'"
    body = await get(gateway, admin, "analytics", 404, {"metric": "gpu.nope"})
    assert body["detail"] == "no host has a series 'gpu.nope'"
    await get(gateway, admin, "analytics", 404, {"host": "nope"})
    body = await get(gateway, admin, "analytics", 422, {"host": "gpu-1", "range": "2d"})
    assert body["detail"][0]["loc"] == ["query", "range"]
    body = await get(gateway, admin, "analytics", 422, {"metric": "x" * 201})
    assert body["detail"][0]["loc"] == ["query", "metric"]
