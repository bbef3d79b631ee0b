"""`GET /admin/system/optimization` through the gateway over real NATS and Redis: each rule's
scenario gives its recommendation with the evidence, a healthy host gives none."""

from __future__ import annotations

from pathlib import Path

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
DAY = 24 * H
ERRORS = "app.error_rate{app=asr}"
DISK = "disk.percent{mount=/}"


def report(host: str, t: float, error_rate: float) -> events.AppMetrics:
    return events.AppMetrics(
        ts=t, host=host, app="asr", window=60.0, error_rate=error_rate, throughput_per_s=1.5
    )


@pytest.fixture
async def scenario(gateway: Gateway, nats_url: str, h100_fixtures: Path) -> float:
    """gpu-1: load 40 on 16 cores all hour; the disk filling 1 %/h, at 90 % now; errors
    from 0.4 % to 8 % three hours ago. api-1: the same host at rest."""
    now = now_minute()
    step = now - 3 * H

    def disk(t: float) -> float:
        return 90.0 + (t - now) / H

    def errors(t: float) -> float:
        return 0.08 if t >= step else 0.004

    await write_history(gateway, "gpu-1", {DISK: disk, ERRORS: errors}, now - DAY, now)
    flat = {DISK: lambda t: 40.0, ERRORS: lambda t: 0.004}
    await write_history(gateway, "api-1", flat, now - DAY, now)
    recent: list[events.Event] = []
    for i in range(60):
        t = now - 59 * 60 + i * 60
        recent += [
            h100_sample(h100_fixtures, "gpu-1", t, i, cpu=99.0, load1=40.0, disk=disk(t)),
            report("gpu-1", t, errors(t)),
            h100_sample(h100_fixtures, "api-1", t, i, cpu=10.0, disk=40.0),
            report("api-1", t, 0.004),
        ]
    await publish(gateway, nats_url, *recent)
    return now


async def test_each_rule_with_its_evidence(gateway: Gateway, admin: str, scenario: float) -> None:
    now = scenario
    body = await get(gateway, admin, "optimization")
    assert body["hosts"] == ["api-1", "gpu-1"]
    found = {r["rule"]: r for r in body["recommendations"]}
    assert {(r["host"], r["rule"]) for r in body["recommendations"]} == {
        ("gpu-1", "cpu_saturation"),
        ("gpu-1", "capacity_exhaustion"),
        ("gpu-1", "error_rate_step"),
    }
    for r in body["recommendations"]:
        assert r["evidence"], r
        assert r["action"], r

    cpu = found["cpu_saturation"]
    assert cpu["severity"] == "critical"  # the median load is 2.5 x the 16 cores
    load = {e["statistic"]: e for e in cpu["evidence"] if e["series"] == "cpu.load1"}
    assert load["p50"]["value"] == pytest.approx(40.0)
    assert load["share of samples above 16"]["value"] == 1.0
    assert load["p50"]["window"] == "1h"
    assert load["p50"]["end"] - load["p50"]["start"] == pytest.approx(59 * 60)

    disk = found["capacity_exhaustion"]
    assert disk["severity"] == "critical"  # full in 5 h
    facts = {e["statistic"]: e for e in disk["evidence"]}
    assert facts["hours until the limit"]["value"] == pytest.approx(5.0, rel=0.05)
    assert facts["slope per hour"]["value"] == pytest.approx(1.0, rel=0.02)
    assert facts["limit"]["value"] == 95.0
    assert {e["series"] for e in disk["evidence"]} == {DISK}

    errors = found["error_rate_step"]
    assert errors["severity"] == "warning"  # 8 % after the step: critical from 10 %
    assert errors["since"] == pytest.approx(now - 3 * H, abs=60)
    rates = {e["statistic"]: e for e in errors["evidence"]}
    assert rates["mean before the step"]["value"] == pytest.approx(0.004, abs=1e-4)
    assert rates["mean since the step"]["value"] == pytest.approx(0.08, abs=1e-4)
    assert rates["mean since the step"]["window"] == "24h"
    # The most severe come first.
    order = [r["severity"] for r in body["recommendations"]]
    assert order == sorted(order, key=["critical", "warning", "info"].index)


async def test_a_healthy_host_gets_none(gateway: Gateway, admin: str, scenario: float) -> None:
    body = await get(gateway, admin, "optimization", params={"host": "api-1"})
    assert (body["hosts"], body["recommendations"]) == (["api-1"], [])
    await get(gateway, admin, "optimization", 404, {"host": "nope"})
    await get(gateway, admin, "optimization", 422, {"host": "x" * 129})
