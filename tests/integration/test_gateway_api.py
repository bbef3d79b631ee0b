"""The REST API over real NATS and Redis: each endpoint's answer, bad parameters, unknown hosts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from tests.helpers import eventually
from tests.integration.test_gateway_harness import (
    alert,
    app_metrics,
    check_result,
    client,
    gateway,
    gateway_settings,
    h100_sample,
    login,
    running,
)
from vitals_core import events, subjects
from vitals_gateway.service import Gateway
from vitals_gateway.storage.windows import MINUTE

__all__ = ["gateway"]

LEAKS = ("Traceback", "redis://", "nats://", "127.0.0.1", 'File "')


def no_leak(r: httpx.Response) -> httpx.Response:
    for leak in LEAKS:
        assert leak not in r.text, f"{r.request.url} answered {r.status_code} with {leak!r}"
    return r


async def publish(nats_url: str, *messages: tuple[str, bytes]) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    for subject, data in messages:
        await js.publish(subject, data)
    await nc.close()


async def ingested(gw: Gateway, n: int) -> None:
    await eventually(lambda: gw.state.counters.get("events_ingested") >= n, timeout=15)


@pytest.fixture
async def admin(gateway: Gateway) -> str:
    return await login(gateway)


async def test_current_metrics_for_a_host_and_the_fleet(
    gateway: Gateway, admin: str, nats_url: str, h100_fixtures: Path
) -> None:
    now = time.time()
    await publish(
        nats_url,
        ("vitals.metrics.gpu-1", h100_sample(h100_fixtures, "gpu-1", now - 2, 1, cpu=20.0)),
        ("vitals.metrics.gpu-1", h100_sample(h100_fixtures, "gpu-1", now - 1, 2, cpu=30.0)),
        ("vitals.metrics.gpu-2", h100_sample(h100_fixtures, "gpu-2", now - 1, 1, cpu=70.0)),
        ("vitals.app.gpu-1.asr", app_metrics("gpu-1", "asr", now - 1, queue=4.0)),
        ("vitals.health.gpu-1.api", check_result("gpu-1", "api", now - 1, True, 8.0)),
        (
            "vitals.info.gpu-1",
            events.encode(events.HostInfo(ts=now, host="gpu-1", os="Linux", cpu_count=16)),
        ),
    )
    await ingested(gateway, 6)
    async with client(gateway, admin) as c:
        one = no_leak(await c.get("/admin/system/metrics", params={"host": "gpu-1"})).json()
        assert one["host"] == "gpu-1"
        assert one["status"] == "up"
        assert one["metrics"]["cpu"]["percent"] == 30.0
        assert one["metrics"]["gpus"][0]["name"] == "NVIDIA H100 80GB HBM3"
        assert one["apps"]["asr"]["queue_size"] == 4.0
        assert one["checks"]["api"]["ok"] is True
        fleet = no_leak(await c.get("/admin/system/metrics")).json()["hosts"]
        assert {h: s["cpu"]["percent"] for h, s in fleet.items()} == {"gpu-1": 30.0, "gpu-2": 70.0}
        assert fleet["gpu-1"]["gpus"][0]["utilization"] == 99.0
        assert fleet["gpu-1"]["disks"][0] == {"mount": "/", "percent": 40.0}

        r = no_leak(await c.get("/admin/system/metrics", params={"host": "nope"}))
        assert (r.status_code, r.json()["detail"]) == (404, "unknown host 'nope'")
        r = no_leak(await c.get("/admin/system/metrics", params={"host": "bad host!"}))
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["query", "host"]

        hosts = no_leak(await c.get("/admin/system/hosts")).json()["hosts"]
        assert [(h["host"], h["status"]) for h in hosts] == [("gpu-1", "up"), ("gpu-2", "up")]
        assert (hosts[0]["info"]["os"], hosts[0]["info"]["cpu_count"]) == ("Linux", 16)
        assert hosts[1]["info"] is None

        names = no_leak(await c.get("/admin/system/series", params={"host": "gpu-1"})).json()
        assert "cpu.percent" in names["series"]
        assert "app.queue_size{app=asr}" in names["series"]
        assert "gpu.utilization{gpu=0}" in names["series"]
        r = no_leak(await c.get("/admin/system/series", params={"host": "nope"}))
        assert r.status_code == 404


async def test_history_picks_the_resolution_by_range_and_reads_the_points(
    gateway: Gateway, admin: str, nats_url: str, h100_fixtures: Path
) -> None:
    now = time.time()
    minute = MINUTE.bucket(now - 1200)
    # Three samples in one minute 20 minutes ago: cpu 10, 20, 60 -> mean 30, min 10, max 60.
    await publish(
        nats_url,
        *[
            ("vitals.metrics.gpu-1", h100_sample(h100_fixtures, "gpu-1", minute + i * 15, i, cpu))
            for i, cpu in enumerate((10.0, 20.0, 60.0))
        ],
    )
    await ingested(gateway, 3)
    async with client(gateway, admin) as c:

        async def history(**params: Any) -> httpx.Response:
            query = {"host": "gpu-1", "metric": "cpu.percent", **params}
            return no_leak(await c.get("/admin/system/metrics/historical", params=query))

        raw = (await history(range="1h")).json()
        assert (raw["resolution"], raw["step"]) == ("raw", 1)
        points = raw["series"][0]["points"]
        # The series ends 20 minutes before the range does: a null (a gap) after it.
        assert points["t"] == [minute, minute + 15, minute + 30, minute + 45]
        assert points["mean"] == [10.0, 20.0, 60.0, None]

        expected = {"6h": "1m", "24h": "1m", "7d": "10m", "30d": "1h"}
        for range_, resolution in expected.items():
            assert (await history(range=range_)).json()["resolution"] == resolution, range_

        async def rolled() -> dict[str, Any] | None:
            body = (await history(range="6h")).json()
            p = body["series"][0]["points"]
            return p if p["t"] else None

        p: Any = await eventually(rolled, timeout=20)
        assert (p["t"], p["count"], p["mean"], p["min"], p["max"], p["last"]) == (
            [minute],
            [3],
            [30.0],
            [10.0],
            [60.0],
            [60.0],
        )

        merged = (await history(range="1h", step=60)).json()
        assert (merged["resolution"], merged["step"]) == ("1m", 60)
        coarse = (await history(start=str(minute), end=str(minute + 59), step=30)).json()
        assert (coarse["resolution"], coarse["step"]) == ("raw", 30)
        assert coarse["series"][0]["points"]["mean"] == [15.0, 60.0]

        # Without labels, every labelled series of the name.
        cores = (await history(metric="cpu.core.percent", range="1h")).json()["series"]
        assert len(cores) == 16
        assert cores[15]["labels"] == {"core": "15"}
        # Without a host, every host that has it.
        fleet = no_leak(
            await c.get("/admin/system/metrics/historical", params={"metric": "cpu.percent"})
        ).json()
        assert [s["host"] for s in fleet["series"]] == ["gpu-1"]

        bad = [
            ({"range": "2w"}, "range"),
            ({"range": "1h", "start": str(minute)}, "range"),
            ({"start": str(minute), "end": str(minute - 10)}, "end"),
            ({"start": "yesterday"}, "start"),
            ({"start": str(now - 100 * 86400)}, "start"),
            ({"step": "0"}, "step"),
            ({"metric": ""}, "metric"),
        ]
        for params, field in bad:
            r = await history(**params)
            assert r.status_code == 422, params
            assert r.json()["detail"][0]["loc"][-1] == field, (params, r.json())
        r = no_leak(await c.get("/admin/system/metrics/historical", params={"range": "1h"}))
        assert r.status_code == 422  # metric is required
        r = await history(host="nope")
        assert (r.status_code, r.json()["detail"]) == (404, "unknown host 'nope'")
        r = await history(metric="no.such.metric")
        assert r.status_code == 404
        assert r.json()["detail"] == "host 'gpu-1' has no series 'no.such.metric'"


async def test_services_show_latest_result_uptime_and_response_times(
    gateway: Gateway, admin: str, nats_url: str
) -> None:
    now = time.time()
    results = [(True, 10.0), (True, 20.0), (False, 0.0), (True, 30.0)]
    await publish(
        nats_url,
        *[
            ("vitals.health.web-1.api", check_result("web-1", "api", now - 40 + 10 * i, ok, ms))
            for i, (ok, ms) in enumerate(results)
        ],
    )
    await ingested(gateway, 4)
    async with client(gateway, admin) as c:
        body = no_leak(await c.get("/admin/system/services", params={"range": "1h"})).json()
        [svc] = body["services"]
        assert (svc["host"], svc["check"], svc["ok"], svc["latency_ms"]) == (
            "web-1",
            "api",
            True,
            30.0,
        )
        assert svc["uptime_percent"] == 75.0
        assert svc["latency_mean_ms"] == 15.0
        assert svc["latency_max_ms"] == 30.0
        r = no_leak(await c.get("/admin/system/services", params={"host": "nope"}))
        assert r.status_code == 404
        r = no_leak(await c.get("/admin/system/services", params={"range": "5m"}))
        assert r.status_code == 422


async def test_alerts_are_materialised_from_the_bus(
    gateway: Gateway, admin: str, nats_url: str
) -> None:
    now = time.time()
    await publish(
        nats_url,
        ("vitals.alerts.web-1", alert("a1", "firing", now - 50)),
        ("vitals.alerts.web-1", alert("a2", "firing", now - 40, severity="critical")),
        ("vitals.alerts.web-1", alert("a2", "acknowledged", now - 30, severity="critical")),
        ("vitals.alerts.web-2", alert("a3", "firing", now - 20, host="web-2")),
        ("vitals.alerts.web-2", alert("a3", "resolved", now - 10, host="web-2")),
        # An older event arriving late does not undo the resolution.
        ("vitals.alerts.web-2", alert("a3", "escalated", now - 15, host="web-2")),
    )
    await eventually(lambda: gateway.state.counters.get("alert_events") >= 6)
    async with client(gateway, admin) as c:

        async def ids(**params: Any) -> list[tuple[str, str]]:
            r = no_leak(await c.get("/admin/system/alerts", params=params))
            assert r.status_code == 200, r.text
            return [(a["alert_id"], a["event"]) for a in r.json()["alerts"]]

        assert await ids() == [("a1", "firing"), ("a2", "acknowledged")]
        assert await ids(state="firing") == [("a1", "firing")]
        assert await ids(state="acknowledged") == [("a2", "acknowledged")]
        assert await ids(severity="critical") == [("a2", "acknowledged")]
        assert await ids(host="web-2") == []
        history = await ids(since="1h")
        assert len(history) == 6
        assert await ids(since="1h", state="resolved") == [("a3", "resolved")]
        assert await ids(since=str(now - 25), host="web-2") == [
            ("a3", "firing"),
            ("a3", "escalated"),
            ("a3", "resolved"),
        ]
        r = no_leak(await c.get("/admin/system/alerts", params={"state": "resolved"}))
        assert r.status_code == 422
        r = no_leak(await c.get("/admin/system/alerts", params={"since": "last week"}))
        assert r.status_code == 422
        r = no_leak(await c.get("/admin/system/alerts", params={"state": "on fire"}))
        assert r.status_code == 422


async def test_annotations_are_recorded_published_and_listed(
    gateway: Gateway, admin: str, nats_url: str
) -> None:
    nc = await nats.connect(nats_url)
    heard = await nc.subscribe(subjects.ANNOTATIONS)
    async with client(gateway, admin) as c:
        r = no_leak(
            await c.post(
                "/admin/system/annotations",
                json={"text": "deployed v2.3", "host": "web-1", "tags": ["deploy"]},
            )
        )
        assert r.status_code == 201, r.text
        [created] = r.json()["annotations"]
        assert (created["kind"], created["author"], created["tags"]) == (
            "annotation",
            "admin",
            ["deploy"],
        )
        msg = await heard.next_msg(timeout=5)
        assert b"deployed v2.3" in msg.data
        await c.post("/admin/system/annotations", json={"text": "fleet maintenance"})
        listed = no_leak(await c.get("/admin/system/annotations")).json()["annotations"]
        assert [a["text"] for a in listed] == ["deployed v2.3", "fleet maintenance"]
        only = no_leak(await c.get("/admin/system/annotations", params={"tag": "deploy"}))
        assert [a["text"] for a in only.json()["annotations"]] == ["deployed v2.3"]
        r = no_leak(await c.post("/admin/system/annotations", json={"text": ""}))
        assert r.status_code == 422
        r = no_leak(await c.post("/admin/system/annotations", json={"text": "x", "host": "a b"}))
        assert r.status_code == 422
    await nc.close()


async def test_openapi_documents_every_shape(gateway: Gateway) -> None:
    async with client(gateway) as c:
        doc = (await c.get("/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    for name in (
        "HostSummary",
        "AlertEvent",
        "Annotation",
        "MetricSample",
        "History",
        "PointColumns",
        "HostMetrics",
        "FleetMetrics",
        "Services",
        "AuditLog",
    ):
        assert name in schemas, name
    historical = doc["paths"]["/admin/system/metrics/historical"]["get"]
    ok = historical["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/History"}
    assert {p["name"] for p in historical["parameters"]} >= {"metric", "host", "range", "step"}
    alerts = doc["paths"]["/admin/system/alerts"]["get"]["responses"]["200"]
    assert alerts["content"]["application/json"]["schema"]["$ref"].endswith("/Alerts")
    assert schemas["Alerts"]["properties"]["alerts"]["items"]["$ref"].endswith("/AlertEvent")
    for path in (
        "/admin/system/alerts/{alert_id}/acknowledge",
        "/admin/system/silences",
        "/admin/system/annotations",
        "/auth/api-tokens",
    ):
        assert "post" in doc["paths"][path], path


async def test_the_dashboard_is_served_with_client_routes_falling_back_to_index(
    nats_url: str, redis_url: str, tmp_path: Path
) -> None:
    web = tmp_path / "dist"
    (web / "assets").mkdir(parents=True)
    (web / "index.html").write_text("<!doctype html><title>Vitals</title>")
    (web / "assets" / "app.js").write_text("console.log('vitals')")
    (tmp_path / "secret.txt").write_text("not for you")
    settings = gateway_settings(nats_url, redis_url, web_dir=str(web))
    async with running(settings, consume=False) as gw, client(gw) as c:
        assert "<title>Vitals</title>" in (await c.get("/")).text
        assert "<title>Vitals</title>" in (await c.get("/hosts/gpu-1/history")).text
        r = await c.get("/assets/app.js")
        assert (r.status_code, r.text) == (200, "console.log('vitals')")
        assert "not for you" not in (await c.get("/../secret.txt")).text
        assert "not for you" not in (await c.get("/assets/%2e%2e/%2e%2e/secret.txt")).text
        r = await c.get("/admin/system/no-such-thing")
        assert (r.status_code, r.json()) == (404, {"detail": "not found"})
        assert (await c.get("/openapi.json")).status_code == 200
        health = await c.get("/healthz")
        assert health.status_code == 200
        assert health.json()["status"] in ("ok", "degraded")  # no alerter runs here


async def test_a_cached_fleet_answer_takes_in_a_new_host_at_once(
    nats_url: str, redis_url: str, h100_fixtures: Path
) -> None:
    settings = gateway_settings(nats_url, redis_url, cache_ttl=30.0)
    async with running(settings) as gw:
        token = await login(gw)
        async with client(gw, token) as c:
            assert (await c.get("/admin/system/metrics")).json() == {"hosts": {}}
            assert (await c.get("/admin/system/hosts")).json()["hosts"] == []
            nc = await nats.connect(nats_url)
            # As an agent does: its facts first, and a fleet answer built in between.
            facts = events.HostInfo(ts=time.time(), host="fresh-1", os="Linux", cpu_count=16)
            await nc.publish(subjects.host_info("fresh-1"), events.encode(facts))
            await nc.flush()

            async def stored(counter: str, at_least: int) -> bool:
                text = (await c.get("/metrics")).text
                line = next(x for x in text.splitlines() if x.startswith(counter))
                return float(line.split()[-1]) >= at_least

            await eventually(lambda: stored("vitals_gateway_events_ingested_total", 1), 10)
            assert (await c.get("/admin/system/metrics")).json() == {"hosts": {}}
            sample = h100_sample(h100_fixtures, "fresh-1", time.time())
            await nc.publish(subjects.metrics("fresh-1"), sample)
            await nc.close()

            async def fleet() -> bool:
                hosts = (await c.get("/admin/system/metrics")).json()["hosts"]
                return "fresh-1" in hosts

            # Well inside the 30 s the empty answer would otherwise be kept.
            assert await eventually(fleet, timeout=10) is True
            listed = (await c.get("/admin/system/hosts")).json()["hosts"]
            assert [h["host"] for h in listed] == ["fresh-1"]
