"""`GET /admin/system/health` through the gateway over real NATS and Redis."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.integration.test_analytics_harness import (
    admin,
    check,
    get,
    h100_sample,
    publish,
)
from tests.integration.test_gateway_harness import (
    VIEWER_PASSWORD,
    client,
    gateway,
    gateway_settings,
    login,
    running,
)
from vitals_core import events
from vitals_gateway.service import Gateway

__all__ = ["admin", "gateway"]


async def scenario(gw: Gateway, nats_url: str, fixtures: Path) -> float:
    """gpu-1: CPU at 96 % for the last 5 min, the root disk at 85.4 %, a warning alert;
    api-1: quiet. Checks of group `web`: api-1/http always up, gpu-1/asr down once of 4."""
    now = time.time()  # the latest samples are fresh: no staleness penalty
    busy = [
        h100_sample(fixtures, "gpu-1", now - 280 + 20 * i, i, cpu=96.0, disk=85.4)
        for i in range(15)
    ]
    quiet = [h100_sample(fixtures, "api-1", now - 40 + 20 * i, i, cpu=20.0) for i in range(3)]
    checks = [check("api-1", "http", now - ago, True, "web") for ago in (2400, 1200, 5)]
    checks += [
        check("gpu-1", "asr", now - ago, ok, "web")
        for ago, ok in ((2400, True), (1800, False), (1200, True), (5, True))
    ]
    warning = events.AlertEvent(
        ts=now - 100,
        id="e-1",
        alert_id="a-1",
        event="firing",
        rule="gpu_queue_wait",
        host="gpu-1",
        severity="warning",
        started_at=now - 100,
        summary="jobs wait more than 30 s",
    )
    await publish(gw, nats_url, *busy, *quiet, *checks, warning)
    return now


async def test_a_host_score_is_explained_by_its_parts(
    gateway: Gateway, admin: str, nats_url: str, h100_fixtures: Path
) -> None:
    await scenario(gateway, nats_url, h100_fixtures)
    body = await get(gateway, admin, "health", params={"host": "gpu-1"})
    assert body["fleet"] is None
    (host,) = body["hosts"]
    parts = {p["name"]: p for p in host["parts"]}
    # 100 - CPU 15 x 16/20 - disk 20 x 5.4/18 - one warning alert 10 (docs/analytics.md).
    assert (parts["cpu.percent"]["value"], parts["cpu.percent"]["penalty"]) == (96.0, 12.0)
    assert parts["disk.percent{mount=/}"]["penalty"] == pytest.approx(6.0)
    assert "disk.percent{mount=/usr/local/nvidia}" not in parts  # read-only image
    assert parts["gpu_queue_wait"]["kind"] == "alert"
    assert parts["gpu_queue_wait"]["penalty"] == 10.0
    assert parts["last_sample_age_s"]["penalty"] == 0.0
    assert sum(p["penalty"] for p in host["parts"]) == pytest.approx(28.0)
    assert (host["score"], host["status"]) == (72.0, "degraded")


async def test_fleet_and_check_groups(
    gateway: Gateway, admin: str, nats_url: str, h100_fixtures: Path
) -> None:
    await scenario(gateway, nats_url, h100_fixtures)
    body = await get(gateway, admin, "health")
    assert {h["host"]: h["score"] for h in body["hosts"]} == {"gpu-1": 72.0, "api-1": 100.0}
    (web,) = body["groups"]
    assert (web["group"], web["checks"]) == ("web", ["api-1/http", "gpu-1/asr"])
    parts = {p["name"]: p for p in web["parts"]}
    # gpu-1/asr was up for 3 of its 4 results in the last hour: it loses 25 of 100, half
    # of which counts for a group of two checks.
    assert (parts["gpu-1/asr"]["value"], parts["gpu-1/asr"]["penalty"]) == (75.0, 12.5)
    assert parts["api-1/http"]["penalty"] == 0.0
    assert web["score"] == 87.5
    fleet = body["fleet"]
    assert fleet["score"] == pytest.approx((72.0 + 100.0 + 87.5) / 3, abs=0.05)
    assert fleet["worst"] == "host:gpu-1"
    assert [p["name"] for p in fleet["parts"]] == ["gpu-1", "web"]


async def test_roles_and_bad_requests(
    gateway: Gateway, admin: str, nats_url: str, h100_fixtures: Path
) -> None:
    await scenario(gateway, nats_url, h100_fixtures)
    viewer = await login(gateway, "viewer", VIEWER_PASSWORD)
    assert (await get(gateway, viewer, "health", params={"host": "api-1"}))["hosts"]
    async with client(gateway) as anonymous:
        for path in ("health", "analytics", "optimization", "components"):
            r = await anonymous.get(f"/admin/system/{path}")
            assert r.status_code == 401, path
            assert r.headers["www-authenticate"] == "Bearer"
    body = await get(gateway, admin, "health", 404, {"host": "nope"})
    assert body["detail"] == "unknown host 'nope'"
    body = await get(gateway, admin, "health", 422, {"host": "bad host!"})
    assert body["detail"][0]["loc"] == ["query", "host"]
    assert gateway.state.counters.get("analytics_bad_requests") == 1


async def test_openapi_documents_the_four_endpoints(gateway: Gateway) -> None:
    async with client(gateway) as c:
        doc = (await c.get("/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    for path, answer in [
        ("/admin/system/health", "HealthAnswer"),
        ("/admin/system/analytics", "AnalyticsListAnswer"),
        ("/admin/system/optimization", "OptimizationAnswer"),
        ("/admin/system/components", "ComponentsAnswer"),
    ]:
        responses = doc["paths"][path]["get"]["responses"]
        ok = responses["200"]["content"]["application/json"]["schema"]
        assert ok["$ref"] == f"#/components/schemas/{answer}"
        assert {"401", "404", "422", "503"} <= set(responses)
        assert answer in schemas
    assert "Recommendation" in schemas
    assert "ScorePart" in schemas
    # The dashboard's catch-all is still mounted after them: an unknown API path is JSON.
    async with client(gateway) as c:
        r = await c.get("/admin/system/nope")
    assert (r.status_code, r.json()) == (404, {"detail": "not found"})


async def test_answers_are_cached_for_cache_metrics_timeout(
    nats_url: str, redis_url: str, h100_fixtures: Path
) -> None:
    async with running(gateway_settings(nats_url, redis_url, cache_ttl=30.0)) as gw:
        token = await login(gw)
        now = time.time()
        await publish(gw, nats_url, h100_sample(h100_fixtures, "gpu-1", now - 5))
        first = await get(gw, token, "health", params={"host": "gpu-1"})
        await publish(gw, nats_url, h100_sample(h100_fixtures, "gpu-1", now, 1, disk=97.0))
        assert await get(gw, token, "health", params={"host": "gpu-1"}) == first
        # Another question is another answer, computed now: it sees the newer sample.
        fleet = await get(gw, token, "health")
        assert fleet["hosts"][0]["score"] < first["hosts"][0]["score"]
        await get(gw, token, "health", 404, {"host": "nope"})
