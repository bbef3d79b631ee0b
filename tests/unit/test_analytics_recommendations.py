from __future__ import annotations

import math
import random
from collections.abc import Callable

import pytest

from vitals_core.analytics.capacity import Target, capacity
from vitals_core.analytics.recommendations import (
    Evidence,
    HostEvidence,
    Recommendation,
    needed,
    recommend,
)

NOW = 1_764_000_000.0
HOUR = 3600.0
DAY = 24 * HOUR
CORES = 16
APP = "whisper"

Shape = Callable[[float], float]  # seconds before NOW -> value


def sampled(
    length: float, step: float, shape: Shape, noise: float, seed: int
) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    n = int(length / step)
    return [
        (NOW - ago, max(0.0, shape(ago) + rng.gauss(0.0, noise)))
        for ago in (step * (n - i) for i in range(n + 1))
    ]


def flat(v: float) -> Shape:
    return lambda ago: v


HEALTHY: dict[str, tuple[Shape, float]] = {
    # series: (shape, noise)
    "cpu.load1": (flat(4.0), 0.5),
    "swap.in_per_s": (flat(0.0), 0.0),
    "memory.percent": (flat(50.0), 0.5),
    "gpu.utilization{gpu=0}": (flat(80.0), 5.0),
    f"app.queue_size{{app={APP}}}": (flat(5.0), 1.0),
    "check.up{check=api}": (flat(1.0), 0.0),
    f"app.error_rate{{app={APP}}}": (flat(0.005), 0.001),
    f"app.response_ms.p95{{app={APP}}}": (flat(300.0), 10.0),
    f"app.throughput_per_s{{app={APP}}}": (flat(2.0), 0.1),
    "disk.percent{mount=/}": (flat(60.0), 0.1),
}
DAY_SERIES = {"app.error_rate", "app.response_ms.p95", "app.throughput_per_s", "disk.percent"}


def evidence(**changes: tuple[Shape, float]) -> HostEvidence:
    shapes = dict(HEALTHY)
    shapes.update({k.replace("__", "."): v for k, v in changes.items()})
    hour, day = {}, {}
    for i, (name, (shape, noise)) in enumerate(sorted(shapes.items())):
        if name.split("{")[0] in DAY_SERIES:
            day[name] = sampled(DAY, 60.0, shape, noise, seed=i)
        else:
            hour[name] = sampled(HOUR, 5.0, shape, noise, seed=i)
    disk = Target("disk", "disk.percent{mount=/}", 95.0)
    forecasts = [capacity(disk, {"24h": day["disk.percent{mount=/}"]}, NOW)]
    return HostEvidence(host="h1", now=NOW, cpu_count=CORES, hour=hour, day=day, capacity=forecasts)


def flapping(ago: float) -> float:
    return 0.0 if 600 <= ago % 1200 < 700 else 1.0  # down for 100 s every 20 min


def step_at(ago_threshold: float, before: float, after: float) -> Shape:
    return lambda ago: after if ago < ago_threshold else before


SCENARIOS: dict[str, dict[str, tuple[Shape, float]]] = {
    "cpu_saturation": {"cpu__load1": (flat(22.0), 1.0)},
    "memory_pressure": {"swap__in_per_s": (flat(2 * 2**20), 2**18)},
    "capacity_exhaustion": {"disk__percent{mount=/}": (lambda ago: 85.0 - ago / HOUR, 0.1)},
    "gpu_idle_queue_growing": {
        "gpu__utilization{gpu=0}": (flat(3.0), 1.0),
        f"app__queue_size{{app={APP}}}": (lambda ago: 200.0 - 60.0 * ago / HOUR, 2.0),
    },
    "error_rate_step": {f"app__error_rate{{app={APP}}}": (step_at(3 * HOUR, 0.004, 0.06), 0.002)},
    "latency_bottleneck": {
        f"app__response_ms.p95{{app={APP}}}": (lambda ago: 600.0 - 250.0 * ago / DAY, 10.0)
    },
    "check_flapping": {"check__up{check=api}": (flapping, 0.0)},
}


def test_a_healthy_host_gets_no_recommendation() -> None:
    assert recommend(evidence()) == []


@pytest.mark.parametrize("rule", sorted(SCENARIOS))
def test_each_rule_fires_on_its_scenario_and_no_other(rule: str) -> None:
    found = recommend(evidence(**SCENARIOS[rule]))
    assert [r.rule for r in found] == [rule]
    r = found[0]
    assert r.evidence
    assert r.action
    assert r.title
    for e in r.evidence:
        assert math.isfinite(e.value)
        assert e.window
        assert NOW - 7 * DAY <= e.start <= e.end <= NOW


def test_saturation_evidence_and_severity() -> None:
    (r,) = recommend(evidence(cpu__load1=(flat(30.0), 1.0)))
    assert r.severity == "critical"  # load ≈ 1.9 × cores
    stats = {e.statistic: e.value for e in r.evidence}
    assert stats["p50"] == pytest.approx(30.0, abs=0.2)
    assert stats["cores"] == CORES
    assert stats[f"share of samples above {CORES}"] == 1.0


def test_a_brief_load_burst_is_not_saturation() -> None:
    burst = evidence(cpu__load1=(lambda ago: 30.0 if ago < 600 else 4.0, 0.5))
    assert recommend(burst) == []


def test_error_rate_step_names_when_it_changed() -> None:
    (r,) = recommend(evidence(**SCENARIOS["error_rate_step"]))
    assert r.since == pytest.approx(NOW - 3 * HOUR, abs=120.0)
    before, after = r.evidence
    assert before.value == pytest.approx(0.004, abs=0.001)
    assert after.value == pytest.approx(0.06, abs=0.002)
    assert before.end <= after.start


def test_an_error_burst_that_ended_is_quiet() -> None:
    burst: Shape = lambda ago: 0.08 if 3 * HOUR < ago < 5 * HOUR else 0.004  # noqa: E731
    assert recommend(evidence(**{f"app__error_rate{{app={APP}}}": (burst, 0.002)})) == []


def test_latency_rising_with_throughput_rising_too_is_load_not_a_bottleneck() -> None:
    load = {
        f"app__response_ms.p95{{app={APP}}}": (lambda ago: 600.0 - 250.0 * ago / DAY, 10.0),
        f"app__throughput_per_s{{app={APP}}}": (lambda ago: 4.0 - 2.0 * ago / DAY, 0.1),
    }
    assert recommend(evidence(**load)) == []


def test_capacity_severity_follows_the_time_left() -> None:
    soon = {"disk__percent{mount=/}": (lambda ago: 90.0 - ago / HOUR, 0.1)}  # 5 h left
    (r,) = recommend(evidence(**soon))
    assert r.severity == "critical"
    hours = next(e.value for e in r.evidence if e.statistic == "hours until the limit")
    assert hours == pytest.approx(5.0, rel=0.05)
    (later,) = recommend(evidence(**SCENARIOS["capacity_exhaustion"]))  # 10 h left
    assert later.severity == "critical"
    slow = {"disk__percent{mount=/}": (lambda ago: 85.0 - 0.1 * ago / HOUR, 0.05)}  # 100 h
    (r,) = recommend(evidence(**slow))
    assert r.severity == "warning"


def test_no_recommendation_without_evidence() -> None:
    with pytest.raises(ValueError, match="no evidence"):
        Recommendation(rule="x", host="h", severity="info", title="t", action="a", evidence=[])
    ok = Evidence(series="s", statistic="p50", value=1.0, window="1h", start=0.0, end=1.0)
    assert Recommendation(rule="x", host="h", severity="info", title="t", action="a", evidence=[ok])


def test_needed_series() -> None:
    names = [*HEALTHY, "cpu.percent", "net.rx_bytes_per_s{interface=eth0}"]
    hour, day = needed(names)
    assert "cpu.load1" in hour
    assert "check.up{check=api}" in hour
    assert f"app.error_rate{{app={APP}}}" in day
    assert "cpu.percent" not in hour + day
