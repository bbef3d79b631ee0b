"""Analytics endpoints on one host with 7 days of data: p50/p99 per endpoint, beside a baseline.

The store keeps every series at the gateway's resolutions (raw for 1 h at 5 s, 1-minute
for 24 h, 10-minute for 7 d) as encoded JSON, and answers from the finest one covering the
request, decoding as a Redis-backed store would. Each endpoint runs through the ASGI app
(routing, building, encoding). The baseline replays the same store reads, decode only: the
ratio is what the analytics cost on top of fetching their points.

    python -m bench.analytics [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import time
from collections.abc import Sequence

import httpx
import msgspec
from fastapi import FastAPI

from vitals_core import series
from vitals_core.events import (
    AlertEvent,
    CheckResult,
    Cpu,
    DiskIO,
    DiskUsage,
    Gpu,
    Memory,
    MetricSample,
    NetIO,
    Processes,
    Swap,
    TopProcess,
)
from vitals_core.settings import Settings
from vitals_gateway.analytics_api import AnalyticsContext, create_router

HOST = "gpu-h100"
NOW = 1_764_000_000.0
HOUR = 3600.0
RESOLUTIONS = (("raw", 5.0, HOUR), ("1m", 60.0, 24 * HOUR), ("10m", 600.0, 7 * 24 * HOUR))
TARGET_P99_MS = 100.0
GiB = 2**30


def latest_sample() -> MetricSample:
    """A 16-core H100 host as the agent reports it (the recorded host's shape)."""
    procs = [
        TopProcess(pid=1000 + i, name="python3", cpu_percent=90.0, rss=7 * GiB, cmdline="worker")
        for i in range(4)
    ]
    return MetricSample(
        ts=NOW - 2,
        host=HOST,
        seq=1,
        interval=5.0,
        cpu=Cpu(percent=40.0, count=16, load1=7.0, load5=6.5, load15=6.0, freq_mhz=2100.0),
        memory=Memory(total=128 * GiB, used=60 * GiB, available=68 * GiB, percent=47.0),
        swap=Swap(total=8 * GiB),
        disks=[
            DiskUsage(
                mount="/",
                fstype="ext4",
                total=500 * GiB,
                used=300 * GiB,
                free=200 * GiB,
                percent=60.0,
            ),
            DiskUsage(
                mount="/usr/local/nvidia",
                fstype="squashfs",
                total=GiB,
                used=GiB,
                free=0,
                percent=100.0,
            ),
        ],
        disk_io=[DiskIO(device="vda", read_bytes_per_s=1e6, write_bytes_per_s=2e6)],
        net=[NetIO(interface="eth0", rx_bytes_per_s=1e6, tx_bytes_per_s=1e6)],
        connections={"ESTABLISHED": 40},
        processes=Processes(total=181, top_cpu=procs, top_memory=procs),
        uptime_s=1e6,
        gpus=[
            Gpu(
                index=0,
                name="NVIDIA H100 80GB HBM3",
                utilization=85.0,
                memory_percent=9.0,
                temperature=65.0,
                power_w=690.0,
            )
        ],
    )


def series_names(sample: MetricSample) -> list[str]:
    names = [name for name, _ in series.points(sample)]
    names += [f"cpu.core.percent{{core={i}}}" for i in range(16)]
    for metric in ("queue_size", "error_rate", "throughput_per_s", "jobs_active"):
        names.append(f"app.{metric}{{app=whisper}}")
    names += [f"app.response_ms.{q}{{app=whisper}}" for q in ("p50", "p95", "p99")]
    names += ["check.up{check=api}", "check.latency_ms{check=api}"]
    return sorted(set(names))


def value(name: str, ago: float, rng: random.Random) -> float:
    daily = math.sin(2 * math.pi * ago / 86400.0)
    base = series.parse_series(name)[0]
    if base == "disk.percent":
        return 60.0 - 0.05 * ago / HOUR + rng.gauss(0, 0.02)
    if base == "app.error_rate":
        return max(0.0, 0.005 + rng.gauss(0, 0.001))
    if base == "check.up":
        return 1.0
    level = 50.0 + 20.0 * daily + rng.gauss(0, 3.0)
    return level + (40.0 if rng.random() < 0.001 else 0.0)


class BenchStore:
    """Every series at three resolutions, encoded; reads decode like a real store would."""

    def __init__(self) -> None:
        self.sample = latest_sample()
        self.names = series_names(self.sample)
        self.data: dict[str, dict[str, bytes]] = {}
        self.reads: list[tuple[str, float, float]] = []
        rng = random.Random(42)
        for res, step, length in RESOLUTIONS:
            n = int(length / step)
            self.data[res] = {
                name: msgspec.json.encode(
                    [(NOW - step * (n - i), value(name, step * (n - i), rng)) for i in range(n + 1)]
                )
                for name in self.names
            }

    def resolution(self, start: float) -> str:
        for res, _, length in RESOLUTIONS:
            if start >= NOW - length:
                return res
        return RESOLUTIONS[-1][0]

    def read(self, name: str, start: float, end: float) -> list[tuple[float, float]]:
        raw = self.data[self.resolution(start)].get(name)
        if raw is None:
            return []
        pts = msgspec.json.decode(raw, type=list[tuple[float, float]])
        return [(t, v) for t, v in pts if start <= t <= end]

    async def hosts(self) -> list[str]:
        return [HOST]

    async def series_names(self, host: str) -> list[str]:
        return list(self.names)

    async def latest(self, host: str) -> MetricSample | None:
        return self.sample

    async def points(
        self, host: str, names: Sequence[str], start: float, end: float
    ) -> dict[str, list[tuple[float, float]]]:
        self.reads += [(n, start, end) for n in names]
        return {n: self.read(n, start, end) for n in names}

    async def checks(self, host: str) -> list[CheckResult]:
        return [CheckResult(ts=NOW - 5, host=HOST, check="api", check_kind="http", ok=True)]

    async def active_alerts(self) -> list[AlertEvent]:
        return []


class Sink:
    def inc(self, name: str, by: int = 1) -> None:
        pass


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


async def main(runs: int) -> None:
    store = BenchStore()
    ctx = AnalyticsContext(store=store, settings=Settings(), counters=Sink(), clock=lambda: NOW)

    async def allow() -> None:
        return None

    app = FastAPI()
    app.include_router(create_router(lambda: ctx, allow))
    endpoints = [
        ("health", {}),
        ("analytics", {"range": "1h"}),
        ("analytics", {"range": "24h"}),
        ("analytics", {"range": "7d"}),
        ("optimization", {}),
        ("components", {}),
    ]
    total_points = sum(len(msgspec.json.decode(b)) for d in store.data.values() for b in d.values())
    print(
        f"analytics endpoints, one host, {len(store.names)} series, {total_points} points "
        "(raw 1 h at 5 s, 1 min for 24 h, 10 min for 7 d)"
    )
    print(
        f"{runs} runs each; baseline: the same store reads, decoding only; "
        f"target p99 {TARGET_P99_MS:.0f} ms\n"
    )
    print(
        f"{'endpoint':<28}{'points':>8}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'base p50':>10}{'base p99':>10}{'ratio':>8}  target"
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for path, params in endpoints:
            url = f"/admin/system/{path}"
            query = {"host": HOST, **params}
            store.reads = []
            r = await client.get(url, params=query)  # warm-up, and the reads to replay
            r.raise_for_status()
            reads = list(store.reads)
            timings, base = [], []
            for _ in range(runs):
                t0 = time.perf_counter()
                r = await client.get(url, params=query)
                timings.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                n = sum(len(store.read(name, s, e)) for name, s, e in reads)
                base.append((time.perf_counter() - t0) * 1000)
            p50, p99 = statistics.median(timings), pct(timings, 0.99)
            b50, b99 = statistics.median(base), pct(base, 0.99)
            label = path + (f" range={params['range']}" if params else "")
            verdict = "ok" if p99 <= TARGET_P99_MS else "OVER"
            print(
                f"{label:<28}{n:>8}{p50:>9.1f}{p99:>9.1f}{b50:>10.2f}{b99:>10.2f}"
                f"{p50 / max(b50, 1e-6):>7.1f}x  {verdict}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    asyncio.run(main(parser.parse_args().runs))
