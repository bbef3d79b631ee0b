"""`make bench-analytics`: the analytics endpoints of a real gateway process over real Redis,
for one host with 7 days of data at the store's resolutions; p50/p99 per endpoint, beside a
baseline measured in the same run: the bare Redis reads and decoding of the same points.

The host is the recorded 16-core H100 (about 115 series: the agent's full sample, an
application, a service check). The last hour goes through the ingest conversion (a sample, an
application report every BENCH_INTERVAL s, the agent's default 5; checks every 30 s); the
1-minute (24 h), 10-minute (7 d) and hourly (7 d) rollups are written through the store.
Two gateway processes answer: one with the cache off (every answer computed: the figure
the target is about), one with the default CACHE_METRICS_TIMEOUT (what users get).

    python -m bench.analytics        # BENCH_RUNS (100 per endpoint), BENCH_INTERVAL (5)
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec
import psutil
from redis.asyncio import Redis

from bench.gateway import PASSWORD, Http, _login, _wait_http, template
from vitals_core import events, keys, series, subjects
from vitals_core.settings import Settings
from vitals_gateway.analytics import api as analytics_api
from vitals_gateway.analytics.api import AnalyticsContext, HostHead, PointList, Read
from vitals_gateway.analytics.store import RedisAnalyticsStore
from vitals_gateway.ingest.alertstore import AlertStore
from vitals_gateway.ingest.telemetry import convert
from vitals_gateway.storage import windows
from vitals_gateway.storage.store import WindowStore, Write
from vitals_servers import NatsServer, RedisServer, free_port

HOST = "gpu-h100"
TARGET_P99_MS = 100.0
H = 3600.0
DAY = 24 * H
WEEK = 7 * DAY
GiB = 2**30
ROLLUPS = ((windows.MINUTE, DAY), (windows.TEN_MINUTES, WEEK), (windows.HOUR, WEEK))
ENDPOINTS: list[tuple[str, str, dict[str, str]]] = [
    ("health", "health", {}),
    ("analytics 1h", "analytics", {"range": "1h"}),
    ("analytics 24h", "analytics", {"range": "24h"}),
    ("analytics 7d", "analytics", {"range": "7d"}),
    ("optimization", "optimization", {}),
    ("components", "components", {}),
]


# --- the host and its week ------------------------------------------------------------------


def shape(name: str, t: float, now: float) -> float | None:
    """The value of the series that move (a daily cycle, noise, rare spikes), else None."""
    rng = random.Random(f"{name}@{int(t)}")
    daily = math.sin(2 * math.pi * t / DAY)
    spike = 35.0 if rng.random() < 0.0005 else 0.0
    base = series.parse_series(name)[0]
    if base == "cpu.percent":
        return min(100.0, 45.0 + 20.0 * daily + rng.gauss(0, 3) + spike)
    if base == "cpu.load1":
        return max(0.0, 7.0 + 3.0 * daily + rng.gauss(0, 0.5))
    if base == "memory.percent":
        return 55.0 + 5.0 * daily + rng.gauss(0, 0.3)
    if name == "disk.percent{mount=/}":
        return 70.0 + 0.02 * (t - now) / H + rng.gauss(0, 0.01)
    if base == "gpu.utilization":
        return min(100.0, 80.0 + 15.0 * daily + rng.gauss(0, 4) + spike)
    if base == "app.queue_size":
        return max(0.0, 6.0 + 4.0 * daily + rng.gauss(0, 1))
    if base == "app.error_rate":
        return max(0.0, 0.004 + rng.gauss(0, 0.001))
    if base == "app.throughput_per_s":
        return max(0.0, 1.5 + 0.5 * daily + rng.gauss(0, 0.05))
    if base == "app.response_ms.p95":
        return 800.0 + 100.0 * daily + rng.gauss(0, 20)
    return None


def host_events(t: float, seq: int, now: float) -> list[events.Event]:
    """What the host reports at `t`: its sample and its application's report."""
    s = template(HOST)
    workers = [
        events.TopProcess(
            pid=100 + i, name="python3", cpu_percent=90.0, rss=7 * GiB, cmdline="celery worker"
        )
        for i in range(4)
    ]

    def at(name: str) -> float:
        value = shape(name, t, now)
        assert value is not None
        return value

    sample = msgspec.structs.replace(
        s,
        ts=t,
        seq=seq,
        interval=5.0,
        cpu=msgspec.structs.replace(s.cpu, percent=at("cpu.percent"), load1=at("cpu.load1")),
        memory=msgspec.structs.replace(s.memory, percent=at("memory.percent")),
        disks=[
            msgspec.structs.replace(d, percent=at("disk.percent{mount=/}"))
            if d.mount == "/"
            else msgspec.structs.replace(d, fstype="squashfs", percent=100.0)
            for d in s.disks
        ],
        gpus=[msgspec.structs.replace(s.gpus[0], utilization=at("gpu.utilization{gpu=0}"))],
        processes=events.Processes(total=181, top_cpu=workers, top_memory=workers),
    )
    app = events.AppMetrics(
        ts=t,
        host=HOST,
        app="whisper",
        window=5.0,
        queue_size=at("app.queue_size{app=whisper}"),
        jobs_active=4.0,
        error_rate=at("app.error_rate{app=whisper}"),
        throughput_per_s=at("app.throughput_per_s{app=whisper}"),
        response_ms=events.Percentiles(
            count=8, p50=420.0, p95=at("app.response_ms.p95{app=whisper}"), p99=1500.0
        ),
    )
    return [sample, app]


async def seed(redis: Redis, now: float, interval: float) -> tuple[int, int, int]:
    """Store the host's week; returns (series, events, rollup slots written)."""
    store = WindowStore(redis)
    await store.load()
    writes: list[Write] = []
    constant: dict[str, float] = {}
    steps = int(H / interval)
    for k in range(steps):
        t = now - H + interval * (k + 1)
        reports: list[events.Event] = list(host_events(t, k, now))
        if k % max(1, int(30 / interval)) == 0:
            reports.append(
                events.CheckResult(
                    ts=t, host=HOST, check="api", check_kind="http", ok=True, latency_ms=9.0
                )
            )
        for e in reports:
            subject = _subject(e)
            converted = convert(subject, events.encode(e), now)
            writes.append(converted.write)
            constant.update(series.points(e))
    for i in range(0, len(writes), 200):
        await store.write(writes[i : i + 200], now)
    slots = 0
    names = sorted(constant)
    for res, span in ROLLUPS:
        rows = []
        for bucket in range(res.bucket(now - span), int(now), res.step):
            aggs = {}
            for name in names:
                v = shape(name, bucket, now)
                v = constant[name] if v is None else v
                aggs[name] = windows.Agg(res.step // 5, v, v, v, v)
            rows.append((float(bucket), aggs))
        for i in range(0, len(rows), 100):
            slots += await store.write_rollups(HOST, res, rows[i : i + 100])
    alerts = AlertStore(redis, Settings().gateway)
    await alerts.load()
    firing = events.AlertEvent(
        ts=now - 600,
        id="bench-1",
        alert_id="bench-a1",
        event="firing",
        rule="gpu_temperature",
        host=HOST,
        severity="warning",
        started_at=now - 600,
    )
    await alerts.apply_alert(firing, events.encode(firing), now)
    return len(names), len(writes), slots


def _subject(e: events.Event) -> str:
    if isinstance(e, events.MetricSample):
        return subjects.metrics(e.host)
    if isinstance(e, events.AppMetrics):
        return subjects.app(e.host, e.app)
    assert isinstance(e, events.CheckResult)
    return subjects.health(e.host, e.check)


# --- the baseline: the same reads, bare ----------------------------------------------------


class Recording:
    """The Redis analytics store, noting what each answer reads (relative to `now`)."""

    def __init__(self, inner: RedisAnalyticsStore, now: float) -> None:
        self.inner = inner
        self.now = now
        self.reads: list[tuple[str, float, float]] = []

    async def hosts(self) -> list[str]:
        return await self.inner.hosts()

    async def heads(self, hosts: Sequence[str]) -> list[HostHead | None]:
        return await self.inner.heads(hosts)

    async def points(self, host: str, reads: Sequence[Read]) -> list[dict[str, PointList]]:
        self.reads += [(n, r.start - self.now, r.end - self.now) for r in reads for n in r.names]
        return await self.inner.points(host, reads)

    async def active_alerts(self) -> list[Any]:
        return await self.inner.active_alerts()


async def bare(redis: Redis, reads: Sequence[tuple[str, float, float]]) -> int:
    """The host's head and the points, in two round trips, decoded; nothing else."""
    now = time.time()
    pipe = redis.pipeline(transaction=False)
    pipe.hget(keys.hosts(keys.partition(HOST)), HOST)
    pipe.get(keys.latest(HOST))
    pipe.zrange(keys.series_names(HOST), 0, -1)
    pipe.hgetall(keys.checks_latest(HOST))
    _, latest, _, _ = await pipe.execute()
    msgspec.json.decode(latest, type=events.MetricSample)
    pipe = redis.pipeline(transaction=False)
    planned = []
    for name, start, end in reads:
        res = windows.pick(now + start, now + end, now)
        spans = windows.spans(res, now + start, now + end)
        for span in spans:
            key = keys.series_chunk(HOST, res.name, name, span.chunk)
            pipe.getrange(key, span.offset, span.offset + span.length - 1)
        planned.append((res, spans, now + start, now + end))
    answers = iter(await pipe.execute())
    n = 0
    for res, spans, start, end in planned:
        points = windows.Points()
        for span in spans:
            windows.decode_span(res, span, next(answers), start, end, points)
        n += len(points)
    return n


async def record(redis: Redis) -> dict[str, list[tuple[str, float, float]]]:
    """What each endpoint reads, from the same code the gateway runs."""
    now = time.time()
    store = WindowStore(redis)
    await store.load()
    recording = Recording(RedisAnalyticsStore(store, AlertStore(redis, Settings().gateway)), now)

    class Sink:
        def inc(self, name: str, by: int = 1) -> None:
            pass

    ctx = AnalyticsContext(store=recording, settings=Settings(), counters=Sink(), clock=lambda: now)
    builds: dict[str, Callable[[], Awaitable[object]]] = {
        "health": lambda: analytics_api.health_answer(ctx, HOST),
        "analytics 1h": lambda: analytics_api.analytics_answer(ctx, HOST, "1h", None),
        "analytics 24h": lambda: analytics_api.analytics_answer(ctx, HOST, "24h", None),
        "analytics 7d": lambda: analytics_api.analytics_answer(ctx, HOST, "7d", None),
        "optimization": lambda: analytics_api.optimization_answer(ctx, HOST),
        "components": lambda: analytics_api.components_answer(ctx, HOST),
    }
    out = {}
    for label, build in builds.items():
        recording.reads = []
        await build()
        out[label] = list(recording.reads)
    return out


# --- the run ----------------------------------------------------------------------------------


def pct(xs: list[float], q: float) -> float:
    ordered = sorted(xs)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


async def measure(
    uncached: Http, cached: Http, computing: psutil.Process, redis: Redis, runs: int
) -> list[dict[str, Any]]:
    reads = await record(redis)
    out = []
    for label, path, params in ENDPOINTS:
        query = "&".join(f"{k}={v}" for k, v in {"host": HOST, **params}.items())
        url = f"/admin/system/{path}?{query}"
        for http in (uncached, cached):  # warm-up; the cached gateway computes it once
            await http_get(http, url)
        times: dict[str, list[float]] = {"uncached": [], "cached": [], "base": []}
        points = 0
        cpu0 = cpu_s(computing)
        for _ in range(runs):
            t0 = time.perf_counter()
            _, body = await http_get(uncached, url)
            times["uncached"].append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            points = await bare(redis, reads[label])
            times["base"].append((time.perf_counter() - t0) * 1000)
        cpu_ms = (cpu_s(computing) - cpu0) * 1000 / runs
        # Apart: a cached answer past its TTL is rebuilt in the background, which would
        # compete with the computed ones for the CPU.
        for _ in range(runs):
            t0 = time.perf_counter()
            await http_get(cached, url)
            times["cached"].append((time.perf_counter() - t0) * 1000)
        out.append(
            {"label": label, **times, "points": points, "bytes": len(body), "cpu_ms": cpu_ms}
        )
    return out


async def http_get(http: Http, url: str) -> tuple[int, bytes]:
    try:
        status, body = await http.get(url)
    except (asyncio.IncompleteReadError, ConnectionError):
        http.writer = None  # the server closed an idle keep-alive connection: reconnect
        status, body = await http.get(url)
    assert status == 200, body[:200]
    return status, body


async def gateway(env: dict[str, str], port: int, **settings: str) -> asyncio.subprocess.Process:
    extra = {f"VITALS_GATEWAY_{k.upper()}": v for k, v in settings.items()}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "vitals_gateway", env=env | extra | {"VITALS_HTTP_PORT": str(port)}
    )


def report(results: list[dict[str, Any]], seeded: tuple[int, int, int], runs: int) -> None:
    names, sent, slots = seeded
    print(
        f"analytics endpoints, one host ({HOST}): {names} series over 7 days: the last hour "
        f"as {sent:,} events, then {slots:,} rollup slots (1 min for 24 h, 10 min and 1 h "
        f"for 7 d); {runs} requests each, one at a time"
    )
    print(
        "computed: a gateway with the cache off (every answer built); cached: a second one "
        "with the default CACHE_METRICS_TIMEOUT;\nCPU ms: the computing gateway's CPU time per "
        "answer; baseline: the same points read bare from Redis (head + GETRANGEs, two round "
        f"trips) and decoded; target p99 {TARGET_P99_MS:.0f} ms\n"
    )
    print(
        f"{'endpoint':<16}{'points':>8}{'answer':>9}{'CPU ms':>8}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'base p50':>10}{'base p99':>10}{'ratio p50':>11}{'cached p50':>12}{'p99':>7}  target"
    )
    for r in results:
        p50, p99 = statistics.median(r["uncached"]), pct(r["uncached"], 0.99)
        b50, b99 = statistics.median(r["base"]), pct(r["base"], 0.99)
        c50, c99 = statistics.median(r["cached"]), pct(r["cached"], 0.99)
        verdict = "ok" if p99 <= TARGET_P99_MS else "OVER"
        print(
            f"{r['label']:<16}{r['points']:>8}{r['bytes'] / 1024:>7.0f}KB{r['cpu_ms']:>8.1f}"
            f"{p50:>9.1f}{p99:>9.1f}"
            f"{b50:>10.2f}{b99:>10.2f}{p50 / max(b50, 1e-6):>10.1f}x{c50:>12.2f}{c99:>7.2f}"
            f"  {verdict}"
        )


async def main() -> None:
    runs = int(os.environ.get("BENCH_RUNS", "100"))
    interval = float(os.environ.get("BENCH_INTERVAL", "5"))
    with (
        tempfile.TemporaryDirectory() as tmp,
        NatsServer(Path(tmp) / "nats") as nats_srv,
        RedisServer(Path(tmp) / "redis") as redis_srv,
    ):
        redis = Redis.from_url(redis_srv.url)
        seeded = await seed(redis, time.time(), interval)
        env = {k: v for k, v in os.environ.items() if not k.startswith("VITALS_")} | {
            "VITALS_NATS_URL": nats_srv.url,
            "VITALS_REDIS_URL": redis_srv.url,
            "VITALS_ADMIN_PASSWORD": PASSWORD,
            "VITALS_CONFIG": str(Path(tmp) / "none.toml"),
            "VITALS_LOG_LEVEL": "warning",
            "VITALS_AUTH_API_RATE": "100000",
            "VITALS_AUTH_API_BURST": "100000",
        }
        (Path(tmp) / "none.toml").write_text("")
        ports = free_port(), free_port()
        gateways = [
            await gateway(env, ports[0], cache_ttl="0"),
            await gateway(env, ports[1]),
        ]
        try:
            for port in ports:
                await _wait_http(port)
            uncached, cached = [Http(port, await _login(port)) for port in ports]
            await asyncio.sleep(2)  # the roller catches up with the hour just ingested
            computing = psutil.Process(gateways[0].pid)
            results = await measure(uncached, cached, computing, redis, runs)
        finally:
            for g in gateways:
                g.send_signal(signal.SIGTERM)
            for g in gateways:
                await asyncio.wait_for(g.wait(), 30)
            await redis.aclose()
    print(f"the host reports every {interval:g} s (BENCH_INTERVAL)")
    report(results, seeded, runs)


if __name__ == "__main__":
    asyncio.run(main())
