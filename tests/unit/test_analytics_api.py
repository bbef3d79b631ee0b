"""The analytics routes over an in-memory `WindowStore` filled with synthetic data."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Annotated, Any

import httpx
import pytest
from fastapi import FastAPI, Header, HTTPException

from vitals_core.events import (
    AlertEvent,
    CheckResult,
    Cpu,
    DiskUsage,
    Gpu,
    Memory,
    MetricSample,
    Processes,
    Swap,
    TopProcess,
)
from vitals_core.settings import Settings
from vitals_gateway.analytics.api import (
    AnalyticsContext,
    HostHead,
    PointList,
    Read,
    create_router,
    register_openapi,
)

NOW = 1_764_000_000.0
HOUR = 3600.0
STEP = 300.0  # synthetic points every 5 minutes over two days
TOKEN = "test-token"
GiB = 2**30


class MemoryStore:
    def __init__(self) -> None:
        self.samples: dict[str, MetricSample] = {}
        self.series: dict[str, dict[str, list[tuple[float, float]]]] = {}
        self.check_results: dict[str, list[CheckResult]] = {}
        self.alerts: list[AlertEvent] = []
        self.fail = False
        self.point_calls: list[str] = []  # the host of each `points` call

    def _guard(self) -> None:
        if self.fail:
            raise ConnectionError("redis://10.0.0.5:6379 refused")

    async def hosts(self) -> list[str]:
        self._guard()
        return list(self.samples)

    async def heads(self, hosts: Sequence[str]) -> list[HostHead | None]:
        self._guard()
        return [
            HostHead(
                sample=self.samples[h],
                names=list(self.series.get(h, {})),
                checks=self.check_results.get(h, []),
            )
            if h in self.samples
            else None
            for h in hosts
        ]

    async def points(self, host: str, reads: Sequence[Read]) -> list[dict[str, PointList]]:
        self._guard()
        have = self.series.get(host, {})
        self.point_calls.append(host)
        return [
            {n: [(t, v) for t, v in have.get(n, []) if r.start <= t <= r.end] for n in r.names}
            for r in reads
        ]

    async def active_alerts(self) -> list[AlertEvent]:
        self._guard()
        return self.alerts


def shape(fn: Callable[[float], float], noise: float, seed: int) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    n = int(2 * 24 * HOUR / STEP)
    return [(NOW - STEP * (n - i), fn(STEP * (n - i)) + rng.gauss(0, noise)) for i in range(n + 1)]


def flat(v: float) -> Callable[[float], float]:
    return lambda ago: v


def host_series(disk: Callable[[float], float], errors: Callable[[float], float]) -> dict[str, Any]:
    return {
        "cpu.percent": shape(flat(35.0), 3.0, 1),
        "cpu.load1": shape(flat(6.0), 0.5, 2),
        "memory.percent": shape(flat(40.0), 0.5, 3),
        "swap.in_per_s": shape(flat(0.0), 0.0, 4),
        "disk.percent{mount=/}": shape(disk, 0.05, 5),
        "gpu.utilization{gpu=0}": shape(flat(85.0), 4.0, 6),
        "gpu.memory_percent{gpu=0}": shape(flat(9.0), 0.1, 7),
        "app.queue_size{app=whisper}": shape(flat(4.0), 1.0, 8),
        "app.error_rate{app=whisper}": shape(errors, 0.001, 9),
        "app.throughput_per_s{app=whisper}": shape(flat(1.5), 0.05, 10),
        "app.response_ms.p95{app=whisper}": shape(flat(800.0), 20.0, 11),
        "check.up{check=api}": shape(flat(1.0), 0.0, 12),
        "disk.percent{mount=/usr/local/nvidia}": shape(flat(100.0), 0.0, 13),  # squashfs
    }


def sample(host: str, disk: float) -> MetricSample:
    workers = [
        TopProcess(
            pid=100 + i, name="python3", cpu_percent=95.0, rss=7 * GiB, cmdline="celery worker"
        )
        for i in range(2)
    ]
    return MetricSample(
        ts=NOW - 3,
        host=host,
        seq=9,
        interval=5.0,
        cpu=Cpu(percent=35.0, count=16, load1=6.0),
        memory=Memory(total=128 * GiB, used=50 * GiB, available=78 * GiB, percent=40.0),
        swap=Swap(),
        disks=[
            DiskUsage(
                mount="/",
                fstype="ext4",
                total=100,
                used=int(disk),
                free=100 - int(disk),
                percent=disk,
            ),
            DiskUsage(
                mount="/usr/local/nvidia", fstype="squashfs", total=1, used=1, free=0, percent=100.0
            ),
        ],
        gpus=[Gpu(index=0, name="NVIDIA H100 80GB HBM3", utilization=85.0, memory_percent=9.0)],
        processes=Processes(total=181, top_cpu=workers, top_memory=workers),
    )


@pytest.fixture
def store() -> MemoryStore:
    s = MemoryStore()
    # gpu-1: the disk fills 0.5 %/h (85 % now: 20 h to 95 %); errors jumped 3 h ago.
    s.series["gpu-1"] = host_series(
        lambda ago: 85.0 - 0.5 * ago / HOUR, lambda ago: 0.08 if ago < 3 * HOUR else 0.004
    )
    s.samples["gpu-1"] = sample("gpu-1", 85.0)
    s.series["api-1"] = host_series(flat(50.0), flat(0.004))
    s.samples["api-1"] = sample("api-1", 50.0)
    for host in ("gpu-1", "api-1"):
        s.check_results[host] = [
            CheckResult(
                ts=NOW - 10, host=host, check="api", check_kind="http", ok=True, group="web"
            )
        ]
    s.alerts = [
        AlertEvent(
            ts=NOW - 100,
            id="e1",
            alert_id="a1",
            event="firing",
            rule="disk_forecast",
            host="gpu-1",
            severity="critical",
            started_at=NOW - 100,
            summary="disk full in 20 h",
        )
    ]
    return s


@pytest.fixture
async def client(store: MemoryStore) -> AsyncIterator[tuple[httpx.AsyncClient, Counter[str]]]:
    counters: Counter[str] = Counter()

    class Sink:
        def inc(self, name: str, by: int = 1) -> None:
            counters[name] += by

    ctx = AnalyticsContext(store=store, settings=Settings(), counters=Sink(), clock=lambda: NOW)

    async def authorize(authorization: Annotated[str, Header()] = "") -> None:
        if authorization != f"Bearer {TOKEN}":
            raise HTTPException(401, detail="missing or invalid bearer token")

    app = FastAPI()
    app.include_router(create_router(lambda: ctx, authorize))
    register_openapi(app)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:
        yield c, counters


async def get(client: httpx.AsyncClient, path: str, status: int = 200, **params: str) -> Any:
    r = await client.get(path, params=params)
    assert r.status_code == status, r.text
    return r.json()


async def test_health_of_the_fleet(client: tuple[httpx.AsyncClient, Counter[str]]) -> None:
    body = await get(client[0], "/admin/system/health")
    hosts = {h["host"]: h for h in body["hosts"]}
    assert set(hosts) == {"gpu-1", "api-1"}
    gpu = hosts["gpu-1"]
    assert gpu["score"] == pytest.approx(100.0 - 25.0 - 20.0 * 5 / 18, abs=0.1)
    alert_parts = [p for p in gpu["parts"] if p["kind"] == "alert"]
    assert alert_parts[0]["penalty"] == 25.0
    assert hosts["api-1"]["score"] == 100.0
    assert [g["group"] for g in body["groups"]] == ["web"]
    assert body["groups"][0]["checks"] == ["api-1/api", "gpu-1/api"]
    assert body["fleet"]["worst"] == "host:gpu-1"


async def test_health_of_one_host(client: tuple[httpx.AsyncClient, Counter[str]]) -> None:
    body = await get(client[0], "/admin/system/health", host="api-1")
    assert [h["host"] for h in body["hosts"]] == ["api-1"]
    assert body["fleet"] is None


async def test_each_host_is_read_in_one_batch(
    client: tuple[httpx.AsyncClient, Counter[str]], store: MemoryStore
) -> None:
    cases: list[tuple[str, dict[str, str], list[str]]] = [
        ("analytics", {"host": "gpu-1", "range": "1h"}, ["gpu-1"]),
        ("optimization", {"host": "gpu-1"}, ["gpu-1"]),
        ("health", {}, ["api-1", "gpu-1"]),
        ("components", {}, []),
    ]
    for path, params, calls in cases:
        store.point_calls = []
        r = await client[0].get(f"/admin/system/{path}", params=params)
        assert r.status_code == 200, r.text
        assert sorted(store.point_calls) == calls, path


async def test_bad_requests_say_what_is_wrong(
    client: tuple[httpx.AsyncClient, Counter[str]],
) -> None:
    c, counters = client
    body = await get(c, "/admin/system/health", 404, host="nope")
    assert body["detail"] == "unknown host 'nope'"
    body = await get(c, "/admin/system/analytics", 404, host="gpu-1", metric="gpu.nope")
    assert "gpu.nope" in body["detail"]
    await get(c, "/admin/system/analytics", 422, range="2d")
    body = await get(c, "/admin/system/components", 422, host="bad host!")
    assert body["detail"][0]["loc"] == ["query", "host"]
    assert counters["analytics_bad_requests"] == 2


async def test_every_route_needs_the_token(client: tuple[httpx.AsyncClient, Counter[str]]) -> None:
    c = client[0]
    for path in ("health", "analytics", "optimization", "components"):
        r = await c.get(f"/admin/system/{path}", headers={"Authorization": ""})
        assert r.status_code == 401


async def test_analytics_of_a_host(client: tuple[httpx.AsyncClient, Counter[str]]) -> None:
    body = await get(client[0], "/admin/system/analytics", host="gpu-1", range="24h")
    (answer,) = body["hosts"]
    metrics = {m["series"]: m for m in answer["metrics"]}
    assert "cpu.percent" in metrics
    assert "check.up{check=api}" not in metrics  # not among the default metrics
    assert "disk.percent{mount=/usr/local/nvidia}" not in metrics  # a read-only image
    disk = metrics["disk.percent{mount=/}"]["trend"]
    assert disk["slope_per_hour"] == pytest.approx(0.5, abs=0.01)
    assert disk["change"] == pytest.approx(12.0, abs=0.2)  # the mean moved 24 h × 0.5 %/h
    (app,) = answer["apps"]
    assert app["throughput_jobs_per_hour"] == pytest.approx(5400.0, rel=0.02)
    forecasts = {f["series"]: f for f in answer["capacity"]}
    assert "disk.percent{mount=/usr/local/nvidia}" not in forecasts
    assert forecasts["disk.percent{mount=/}"]["status"] == "exhausting"
    assert forecasts["disk.percent{mount=/}"]["eta_s"] / HOUR == pytest.approx(20.0, rel=0.05)
    assert forecasts["memory.percent"]["status"] == "not_exhausting"
    errors = metrics["app.error_rate{app=whisper}"]["anomalies"]["flags"]
    assert errors[0]["ts"] == pytest.approx(NOW - 3 * HOUR, abs=STEP)


async def test_analytics_narrowed_to_one_metric(
    client: tuple[httpx.AsyncClient, Counter[str]],
) -> None:
    body = await get(client[0], "/admin/system/analytics", metric="disk.percent", range="1h")
    assert [h["host"] for h in body["hosts"]] == ["api-1", "gpu-1"]
    for h in body["hosts"]:
        assert [m["series"] for m in h["metrics"]] == ["disk.percent{mount=/}"]
        assert h["apps"] == []
        assert [f["series"] for f in h["capacity"]] == ["disk.percent{mount=/}"]


async def test_optimization(client: tuple[httpx.AsyncClient, Counter[str]]) -> None:
    body = await get(client[0], "/admin/system/optimization")
    found = {(r["host"], r["rule"]) for r in body["recommendations"]}
    assert found == {("gpu-1", "capacity_exhaustion"), ("gpu-1", "error_rate_step")}
    assert all(r["evidence"] for r in body["recommendations"])
    assert body["recommendations"][0]["severity"] == "critical"


async def test_components(client: tuple[httpx.AsyncClient, Counter[str]]) -> None:
    body = await get(client[0], "/admin/system/components", host="gpu-1")
    (host,) = body["hosts"]
    workers = next(u for u in host["components"] if u["component"] == "workers")
    assert (workers["processes"], workers["cpu_percent"], workers["rss"]) == (2, 190.0, 14 * GiB)
    fleet = {u["component"]: u for u in body["fleet"]}
    assert fleet["workers"]["processes"] == 2


async def test_a_failing_store_answers_503_without_internals(
    client: tuple[httpx.AsyncClient, Counter[str]], store: MemoryStore
) -> None:
    c, counters = client
    store.fail = True
    for path in ("health", "analytics", "optimization", "components"):
        r = await c.get(f"/admin/system/{path}")
        assert r.status_code == 503
        assert r.json() == {"detail": "the metrics store did not answer"}
        assert "10.0.0.5" not in r.text
    assert counters["analytics_store_errors"] == 4


async def test_openapi_documents_every_answer(
    client: tuple[httpx.AsyncClient, Counter[str]],
) -> None:
    doc = await get(client[0], "/openapi.json")
    schemas = doc["components"]["schemas"]
    for path, answer in [
        ("/admin/system/health", "HealthAnswer"),
        ("/admin/system/analytics", "AnalyticsListAnswer"),
        ("/admin/system/optimization", "OptimizationAnswer"),
        ("/admin/system/components", "ComponentsAnswer"),
    ]:
        ok = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        assert ok["schema"]["$ref"] == f"#/components/schemas/{answer}"
    refs = {ref.rsplit("/", 1)[-1] for ref in _refs(doc) if ref.startswith("#/components/schemas/")}
    assert refs <= set(schemas)
    assert "Recommendation" in schemas


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []
