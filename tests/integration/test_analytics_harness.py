"""Shared parts of the analytics integration tests (no tests here).

The gateway runs in-process on the session's real NATS and Redis (the gateway harness).
Recent data goes through the real ingest path: events published on the bus. History older
than the raw window (an hour) is written with the window store's `write_rollups` at explicit
times, from the same functions of time, so the roller recomputing a bucket from the raw
points that ingest stored finds the values already there.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from tests.helpers import eventually
from tests.integration.test_gateway_harness import client, h100_metric_sample, login
from vitals_core import events, subjects
from vitals_gateway.service import Gateway
from vitals_gateway.storage import windows
from vitals_gateway.storage.windows import HOUR, MINUTE, TEN_MINUTES, Agg

GiB = 2**30
Series = Mapping[str, Callable[[float], float]]
LEAKS = ("Traceback", "redis://", "nats://", "127.0.0.1", 'File "')


def now_minute() -> float:
    """Now, on a minute boundary: samples at whole minutes keep every resolution aligned."""
    return float(MINUTE.bucket(time.time()))


def h100_sample(
    fixtures: Path,
    host: str,
    ts: float,
    seq: int = 0,
    *,
    cpu: float = 20.0,
    load1: float | None = None,
    disk: float = 40.0,
    processes: list[events.TopProcess] | None = None,
) -> events.MetricSample:
    """A sample of the recorded 16-core H100 host, with the values a scenario sets."""
    partitions = json.loads((fixtures / "nvml-psutil-loaded.json").read_text())["psutil"][
        "partitions"
    ]
    total = 500 * GiB
    disks = []
    for part in partitions:
        percent = 100.0 if part["fstype"] == "squashfs" else disk
        used = int(total * percent / 100)
        disks.append(
            events.DiskUsage(
                mount=part["mountpoint"],
                device=part["device"],
                fstype=part["fstype"],
                total=total,
                used=used,
                free=total - used,
                percent=percent,
            )
        )
    return h100_metric_sample(
        fixtures,
        host,
        ts,
        seq,
        cpu=cpu,
        interval=5.0,
        disks=disks,
        load1=load1,
        processes=processes,
    )


def check(host: str, name: str, ts: float, ok: bool, group: str = "") -> events.CheckResult:
    return events.CheckResult(
        ts=ts,
        host=host,
        check=name,
        check_kind="http",
        ok=ok,
        latency_ms=12.0,
        reason="" if ok else "HTTP 502",
        group=group,
    )


def subject(event: events.Event) -> str:
    if isinstance(event, events.MetricSample):
        return subjects.metrics(event.host)
    if isinstance(event, events.AppMetrics):
        return subjects.app(event.host, event.app)
    if isinstance(event, events.CheckResult):
        return subjects.health(event.host, event.check)
    if isinstance(event, events.AlertEvent):
        return subjects.alerts(event.host)
    raise AssertionError(f"no subject for {event!r}")


async def publish(gw: Gateway, nats_url: str, *items: events.Event) -> None:
    """Publish on the bus and wait until the gateway has stored every one."""
    telemetry = sum(not isinstance(e, events.AlertEvent) for e in items)
    alerts = len(items) - telemetry
    before = gw.state.counters.get("events_ingested")
    alerts_before = gw.state.counters.get("alert_events")
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    for e in items:
        await js.publish(subject(e), events.encode(e))
    await nc.close()
    counters = gw.state.counters
    await eventually(
        lambda: (
            counters.get("events_ingested") >= before + telemetry
            and counters.get("alert_events") >= alerts_before + alerts
        ),
        timeout=20,
    )


async def write_history(
    gw: Gateway, host: str, series: Series, start: float, end: float, every: float = 60.0
) -> None:
    """Every series' value at each `every` s in [start, end], rolled up at 1m, 10m and 1h
    (each over its retention), written through the store at those times."""
    now = time.time()
    for res in (MINUTE, TEN_MINUTES, HOUR):
        first = res.bucket(max(start, now - res.retention))
        rows = []
        for bucket in range(first, int(end) + 1, res.step):
            lo = max(float(bucket), start)
            hi = min(float(bucket + res.step) - 1e-6, end)
            times = [lo + i * every for i in range(int((hi - lo) // every) + 1)]
            aggs = {name: windows.rollup(fn(t) for t in times) for name, fn in series.items()}
            rows.append((float(bucket), {n: a for n, a in aggs.items() if isinstance(a, Agg)}))
        await gw.state.store.write_rollups(host, res, rows)


def no_leak(r: httpx.Response) -> httpx.Response:
    for leak in LEAKS:
        assert leak not in r.text, f"{r.request.url} answered {r.status_code} with {leak!r}"
    return r


async def get(
    gw: Gateway, token: str, path: str, status: int = 200, params: dict[str, str] | None = None
) -> Any:
    async with client(gw, token) as c:
        r = no_leak(await c.get(f"/admin/system/{path}", params=params or {}))
    assert r.status_code == status, r.text
    return r.json()


@pytest.fixture
async def admin(gateway: Gateway) -> str:
    return await login(gateway)
