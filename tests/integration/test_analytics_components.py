"""`GET /admin/system/components` through the gateway over real NATS and Redis: CPU and
memory per process group, per host and for the fleet, from the agent's process lists."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.integration.test_analytics_harness import admin, get, h100_sample, publish
from tests.integration.test_gateway_harness import gateway
from vitals_core.events import TopProcess
from vitals_gateway.service import Gateway

__all__ = ["admin", "gateway"]

MiB = 2**20
GiB = 2**30


def proc(pid: int, name: str, cpu: float, rss: int, cmdline: str = "") -> TopProcess:
    return TopProcess(pid=pid, name=name, cpu_percent=cpu, rss=rss, cmdline=cmdline)


GPU_HOST = [
    proc(101, "python3", 95.0, 7 * GiB, "python3 -m celery worker -Q asr"),
    proc(102, "python3", 93.0, 7 * GiB, "python3 -m celery worker -Q asr"),
    proc(201, "redis-server", 3.0, 300 * MiB),
    proc(301, "nats-server", 1.5, 80 * MiB),
    proc(401, "python3", 0.5, 90 * MiB, "python3 -m vitals_agent"),
    proc(501, "sshd", 0.0, 8 * MiB),
]
API_HOST = [
    proc(11, "uvicorn", 40.0, 400 * MiB, "uvicorn asr.api:app"),
    proc(12, "uvicorn", 35.0, 380 * MiB, "uvicorn asr.api:app"),
    proc(21, "postgres", 12.0, 2 * GiB),
    proc(22, "postgres", 3.0, GiB),
    proc(31, "python3", 0.4, 85 * MiB, "python3 -m vitals_agent"),
]


@pytest.fixture
async def hosts(gateway: Gateway, nats_url: str, h100_fixtures: Path) -> None:
    now = time.time()
    await publish(
        gateway,
        nats_url,
        h100_sample(h100_fixtures, "gpu-1", now - 1, 1, cpu=25.0, processes=GPU_HOST),
        h100_sample(h100_fixtures, "api-1", now - 1, 1, cpu=8.0, processes=API_HOST),
    )


def usage(components: list[dict[str, object]]) -> dict[str, tuple[object, object, object]]:
    return {
        str(u["component"]): (u["processes"], u["cpu_percent"], u["rss"])
        for u in components
        if u["processes"]
    }


async def test_groups_per_host_and_for_the_fleet(gateway: Gateway, admin: str, hosts: None) -> None:
    body = await get(gateway, admin, "components")
    per_host = {h["host"]: h for h in body["hosts"]}
    assert usage(per_host["gpu-1"]["components"]) == {
        "workers": (2, 188.0, 14 * GiB),
        "redis": (1, 3.0, 300 * MiB),
        "nats": (1, 1.5, 80 * MiB),
        "vitals": (1, 0.5, 90 * MiB),
        "other": (1, 0.0, 8 * MiB),
    }
    assert usage(per_host["api-1"]["components"]) == {
        "api": (2, 75.0, 780 * MiB),
        "database": (2, 15.0, 3 * GiB),
        "vitals": (1, 0.4, 85 * MiB),
    }
    workers = next(u for u in per_host["gpu-1"]["components"] if u["component"] == "workers")
    assert workers["host_cpu_share"] == pytest.approx(188.0 / 16, abs=0.01)  # 16 cores
    coverage = per_host["gpu-1"]["coverage"]
    assert (coverage["processes_seen"], coverage["processes_total"]) == (6, 181)

    fleet = usage(body["fleet"])
    assert fleet["vitals"] == (2, 0.9, 175 * MiB)
    assert fleet["workers"] == (2, 188.0, 14 * GiB)
    assert fleet["api"] == (2, 75.0, 780 * MiB)


async def test_one_host_and_bad_requests(gateway: Gateway, admin: str, hosts: None) -> None:
    body = await get(gateway, admin, "components", params={"host": "api-1"})
    assert [h["host"] for h in body["hosts"]] == ["api-1"]
    assert "workers" not in usage(body["fleet"])
    body = await get(gateway, admin, "components", 404, {"host": "nope"})
    assert body["detail"] == "unknown host 'nope'"
    await get(gateway, admin, "components", 422, {"host": "../etc"})
