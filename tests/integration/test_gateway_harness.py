"""Shared parts of the gateway's integration tests (no tests here).

The gateway runs in-process on the session's real NATS and Redis: `open_gateway` with the
consumers running, served by httpx's ASGI transport, or by a real uvicorn on a free port
when a test needs websockets or an outside client (Prometheus).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from vitals_core import events
from vitals_core.settings import (
    AuthSettings,
    GatewaySettings,
    HttpSettings,
    NatsSettings,
    RedisSettings,
    Settings,
)
from vitals_core.settings.gateway import UserSettings
from vitals_gateway.auth.authenticator import hash_password
from vitals_gateway.service import Gateway, open_gateway, server
from vitals_servers import free_port

ADMIN_PASSWORD = "correct horse battery staple"
VIEWER_PASSWORD = "viewer password 1234"
SECRET = "k" * 48
_VIEWER_HASH = hash_password(VIEWER_PASSWORD)


def gateway_settings(nats_url: str, redis_url: str, **gateway: Any) -> Settings:
    auth = gateway.pop("auth", {})
    return Settings(
        admin_password=ADMIN_PASSWORD,
        nats=NatsSettings(url=nats_url),
        redis=RedisSettings(url=redis_url),
        http=HttpSettings(port=free_port()),
        auth=AuthSettings(
            jwt_secret=SECRET,
            users=[UserSettings(name="viewer", password_hash=_VIEWER_HASH, role="viewer")],
            **auth,
        ),
        gateway=GatewaySettings(**{"cache_ttl": 0.0, "fetch_batch": 64, **gateway}),
    )


@contextlib.asynccontextmanager
async def running(settings: Settings, *, consume: bool = True) -> AsyncIterator[Gateway]:
    async with open_gateway(settings, consume=consume) as gw:
        yield gw


@contextlib.asynccontextmanager
async def serving(gw: Gateway) -> AsyncIterator[str]:
    """A real HTTP server (uvicorn) for the gateway; yields its base URL."""
    http = server(gw.app, gw.state.settings)
    task = asyncio.create_task(http.serve())
    while not http.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{gw.state.settings.http.port}"
    finally:
        http.should_exit = True
        await task


def client(gw: Gateway, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gw.app), base_url="http://gateway", headers=headers
    )


async def login(gw: Gateway, username: str = "admin", password: str = ADMIN_PASSWORD) -> str:
    async with client(gw) as c:
        r = await c.post("/auth/token", data={"username": username, "password": password})
        assert r.status_code == 200, r.text
        token: str = r.json()["access_token"]
        return token


@pytest.fixture
async def gateway(nats_url: str, redis_url: str) -> AsyncIterator[Gateway]:
    async with running(gateway_settings(nats_url, redis_url)) as gw:
        yield gw


def h100_metric_sample(
    fixtures: Path,
    host: str,
    ts: float,
    seq: int = 0,
    *,
    cpu: float = 50.0,
    interval: float = 1.0,
    disks: list[events.DiskUsage] | None = None,
    load1: float | None = None,
    processes: list[events.TopProcess] | None = None,
) -> events.MetricSample:
    """A full metrics sample of the recorded H100 host, with the values a test sets.

    Without `disks`, every recorded mount is 40 % of 100 GiB.
    """
    d = json.loads((fixtures / "nvml-psutil-loaded.json").read_text())
    p = d["psutil"]
    g = d["gpus"][0]
    vm = p["vm"]
    if disks is None:
        disks = [
            events.DiskUsage(
                mount=part["mountpoint"],
                device=part["device"],
                total=100 * 2**30,
                used=40 * 2**30,
                free=60 * 2**30,
                percent=40.0,
            )
            for part in p["partitions"]
        ]
    top = processes or []
    return events.MetricSample(
        ts=ts,
        host=host,
        seq=seq,
        interval=interval,
        cpu=events.Cpu(
            percent=cpu,
            cores=[events.CpuCore(percent=v) for v in p["cpu_percent_percpu"]],
            load1=p["loadavg"][0] if load1 is None else load1,
            load5=p["loadavg"][1],
            load15=p["loadavg"][2],
            count=p["cpu_count"][0],
        ),
        memory=events.Memory(
            total=vm["total"], used=vm["used"], available=vm["available"], percent=vm["percent"]
        ),
        swap=events.Swap(total=p["swap"]["total"], used=p["swap"]["used"]),
        disks=disks,
        disk_io=[
            events.DiskIO(device=dev, read_bytes_per_s=1000.0, write_bytes_per_s=2000.0)
            for dev in p["diskio_perdisk_keys"]
        ],
        net=[
            events.NetIO(interface=nic, rx_bytes_per_s=5e5, tx_bytes_per_s=2e5)
            for nic in p["net_pernic_keys"]
        ],
        connections={"established": p["connections"]},
        processes=events.Processes(total=p["process_count"], top_cpu=top, top_memory=top),
        gpus=[
            events.Gpu(
                index=0,
                name=g["name"],
                uuid=g["uuid"],
                utilization=g["utilization"]["gpu"],
                memory_used=g["memory"]["used"],
                memory_total=g["memory"]["total"],
                memory_percent=round(100 * g["memory"]["used"] / g["memory"]["total"], 2),
                temperature=g["temperature"],
                power_w=g["power_mw"] / 1000,
            )
        ],
    )


def h100_sample(fixtures: Path, host: str, ts: float, seq: int = 0, cpu: float = 50.0) -> bytes:
    """A full metrics sample built from the recorded H100 host, `cpu.percent` set to `cpu`."""
    return events.encode(h100_metric_sample(fixtures, host, ts, seq, cpu=cpu))


def check_result(host: str, check: str, ts: float, ok: bool, latency_ms: float) -> bytes:
    return events.encode(
        events.CheckResult(
            ts=ts, host=host, check=check, check_kind="http", ok=ok, latency_ms=latency_ms
        )
    )


def app_metrics(host: str, app: str, ts: float, queue: float) -> bytes:
    return events.encode(
        events.AppMetrics(ts=ts, host=host, app=app, window=5.0, queue_size=queue, jobs_active=2)
    )


def alert(alert_id: str, kind: str, ts: float, host: str = "web-1", **fields: Any) -> bytes:
    return events.encode(
        events.AlertEvent(
            ts=ts,
            id=f"{alert_id}-{kind}-{ts}",
            alert_id=alert_id,
            event=kind,  # type: ignore[arg-type]
            rule=fields.pop("rule", "cpu_high"),
            host=host,
            severity=fields.pop("severity", "warning"),
            started_at=fields.pop("started_at", ts),
            **fields,
        )
    )
