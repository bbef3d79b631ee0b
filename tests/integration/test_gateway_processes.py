"""Real gateway processes: a restart leaves no gap, two replicas never double-count."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.js import JetStreamContext

from tests.helpers import Processes, eventually, token, wait_http
from tests.integration.test_gateway_harness import ADMIN_PASSWORD, h100_sample
from vitals_gateway.storage.windows import MINUTE
from vitals_servers import free_port


class Replica:
    def __init__(self, processes: Processes, env: dict[str, str], name: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = processes.service("gateway", env | {"VITALS_HTTP_PORT": str(self.port)})
        self.name = name

    async def ready(self) -> str:
        await wait_http(f"{self.url}/healthz")
        return await token(self.url, "admin", ADMIN_PASSWORD)

    async def ingested(self, access: str) -> int:
        async with httpx.AsyncClient(base_url=self.url) as c:
            text = (await c.get("/metrics", headers={"Authorization": f"Bearer {access}"})).text
        for line in text.splitlines():
            if line.startswith("vitals_gateway_events_ingested_total "):
                return int(line.split()[1])
        return 0


@pytest.fixture
def env(service_env: dict[str, str]) -> dict[str, str]:
    # A killed replica's messages come back after 2 s rather than 30.
    return service_env | {
        "VITALS_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "VITALS_GATEWAY_ACK_WAIT": "2",
        "VITALS_GATEWAY_FETCH_BATCH": "5",
        "CACHE_METRICS_TIMEOUT": "0",
    }


async def publish(js: JetStreamContext, fixtures: Path, host: str, ts: list[int]) -> None:
    """One sample per second in `ts`, its cpu.percent the second's offset in its minute."""
    for t in ts:
        await js.publish(f"vitals.metrics.{host}", h100_sample(fixtures, host, t, t, t % 60))


async def history(
    url: str, access: str, host: str, start: int, end: int, step: int | None = None
) -> dict[str, Any]:
    params: dict[str, Any] = {"host": host, "metric": "cpu.percent", "start": start, "end": end}
    if step:
        params["step"] = step
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {access}"}) as c:
        r = await c.get("/admin/system/metrics/historical", params=params)
    if r.status_code != 200:
        return {}
    points: dict[str, Any] = r.json()["series"][0]["points"]
    return points


async def test_restarts_leave_no_gap_and_count_nothing_twice(
    processes: Processes, env: dict[str, str], nats_url: str, h100_fixtures: Path
) -> None:
    base = MINUTE.bucket(time.time() - 900)
    seconds = list(range(base, base + 180))  # three whole minutes
    nc = await nats.connect(nats_url)
    js = nc.jetstream()

    first = Replica(processes, env, "first")
    access = await first.ready()
    await publish(js, h100_fixtures, "r1", seconds[:60])
    await eventually(lambda: _at_least(first.ingested(access), 20), timeout=20)
    first.proc.send_signal(signal.SIGTERM)  # graceful: finishes and acknowledges its batch
    assert first.proc.wait(20) == 0
    await publish(js, h100_fixtures, "r1", seconds[60:120])  # while no gateway runs

    second = Replica(processes, env, "second")
    access = await second.ready()
    await eventually(lambda: _at_least(second.ingested(access), 10), timeout=20)
    second.proc.kill()  # no chance to acknowledge what it holds: redelivered
    second.proc.wait(10)
    await publish(js, h100_fixtures, "r1", seconds[120:])
    await publish(js, h100_fixtures, "r1", seconds[:30])  # duplicates, as a resending agent

    third = Replica(processes, env, "third")
    access = await third.ready()

    async def complete() -> dict[str, Any] | None:
        points = await history(third.url, access, "r1", base, base + 179)
        return points if _present(points) == 180 else None

    raw: Any = await eventually(complete, timeout=30)
    assert raw["t"] == seconds
    assert raw["mean"] == [float(t % 60) for t in seconds]

    async def rolled() -> dict[str, Any] | None:
        points = await history(third.url, access, "r1", base, base + 179, step=60)
        return points if _present(points) == 3 else None

    minutes: Any = await eventually(rolled, timeout=30)
    # 60 samples a minute of 0..59: mean 29.5, min 0, max 59, last 59; each exactly once.
    assert minutes["count"] == [60, 60, 60]
    assert minutes["mean"] == [29.5, 29.5, 29.5]
    assert (minutes["min"], minutes["max"], minutes["last"]) == ([0.0] * 3, [59.0] * 3, [59.0] * 3)
    await nc.close()


async def test_two_replicas_share_the_stream_without_double_counting(
    processes: Processes, env: dict[str, str], nats_url: str, h100_fixtures: Path
) -> None:
    a, b = Replica(processes, env, "a"), Replica(processes, env, "b")
    access_a, access_b = await a.ready(), await b.ready()
    base = MINUTE.bucket(time.time() - 900)
    seconds = list(range(base, base + 120))
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    for host in ("r1", "r2"):
        await publish(js, h100_fixtures, host, seconds)

    async def shared() -> tuple[int, int] | None:
        counts = (await a.ingested(access_a), await b.ingested(access_b))
        return counts if sum(counts) >= 240 else None

    counts: Any = await eventually(shared, timeout=30)
    assert sum(counts) == 240  # each message handled once
    assert min(counts) > 0, f"one replica did all the work: {counts}"

    for host in ("r1", "r2"):

        async def rolled(host: str = host) -> dict[str, Any] | None:
            points = await history(a.url, access_a, host, base, base + 119, step=60)
            return points if _present(points) == 2 else None

        minutes: Any = await eventually(rolled, timeout=30)
        assert minutes["count"] == [60, 60], host
        assert minutes["mean"] == [29.5, 29.5], host
    await nc.close()


def _present(points: dict[str, Any]) -> int:
    """Points holding a value (a null row marks a gap)."""
    return sum(v is not None for v in points.get("mean", []))


async def _at_least(count: Any, n: int) -> bool:
    return bool(await count >= n)
