from __future__ import annotations

import json
from pathlib import Path

import pytest

from vitals_core.analytics.health import (
    GroupHealth,
    HostHealth,
    fleet_health,
    group_health,
    host_health,
)
from vitals_core.events import (
    AlertEvent,
    CheckResult,
    Cpu,
    DiskUsage,
    Gpu,
    Memory,
    MetricSample,
    Severity,
    Swap,
)

NOW = 1_764_000_000.0
STALE_AFTER = 30.0
DOWN_AFTER = 300.0


def sample(
    *,
    cpu: float = 10.0,
    memory: float = 30.0,
    disk: float = 40.0,
    load1: float = 1.0,
    cores: int = 16,
    swap_in: float = 0.0,
    age: float = 5.0,
    gpu_memory: float | None = None,
    gpu_temp: float | None = None,
) -> MetricSample:
    gpus = []
    if gpu_memory is not None:
        gpus.append(Gpu(index=0, name="H100", memory_percent=gpu_memory, temperature=gpu_temp))
    return MetricSample(
        ts=NOW - age,
        host="h1",
        seq=1,
        interval=5.0,
        cpu=Cpu(percent=cpu, count=cores, load1=load1),
        memory=Memory(total=100, used=int(memory), available=100 - int(memory), percent=memory),
        swap=Swap(total=100, in_per_s=swap_in),
        disks=[DiskUsage(mount="/", fstype="ext4", total=100, used=1, free=99, percent=disk)],
        gpus=gpus,
    )


def alert(severity: Severity, host: str = "h1", event: str = "firing", **labels: str) -> AlertEvent:
    return AlertEvent(
        ts=NOW - 60,
        id=f"e-{severity}-{host}-{event}",
        alert_id=f"a-{severity}-{host}",
        event=event,  # type: ignore[arg-type]
        rule=f"rule_{severity}",
        host=host,
        severity=severity,
        labels=labels,
        started_at=NOW - 600,
    )


def score(
    s: MetricSample | None, alerts: list[AlertEvent] | None = None, **recent: float
) -> HostHealth:
    points = {name.replace("_", "."): [(NOW - 10, v)] for name, v in recent.items()}
    return host_health("h1", s, points, alerts or [], NOW, STALE_AFTER, DOWN_AFTER)


@pytest.mark.parametrize(
    ("case", "host", "expected", "status"),
    [
        ("idle", sample(), 100.0, "healthy"),
        ("memory 89 %: 9/18 of 20 points", sample(memory=89.0), 90.0, "healthy"),
        ("cpu 90 %: 10/20 of 15 points", sample(cpu=90.0), 92.5, "healthy"),
        ("disk 98 %: all 20 points", sample(disk=98.0), 80.0, "degraded"),
        ("load 24 on 16 cores: 0.5 of 10 points", sample(load1=24.0), 95.0, "healthy"),
        ("swap-in 5 MiB/s: half of 10 points", sample(swap_in=5 * 2**20), 95.0, "healthy"),
        ("gpu memory 97.5 %: half of 5", sample(gpu_memory=97.5), 97.5, "healthy"),
        ("gpu 85 °C: half of 5", sample(gpu_memory=50.0, gpu_temp=85.0), 97.5, "healthy"),
        (
            "cpu 96 + disk 89 + memory 85",
            sample(cpu=96.0, disk=89.0, memory=85.0),
            100.0 - 12.0 - 10.0 - 20.0 * 5 / 18,
            "degraded",
        ),
        ("half-way to down", sample(age=STALE_AFTER + DOWN_AFTER / 2), 50.0, "critical"),
        ("silent past down", sample(age=STALE_AFTER + DOWN_AFTER + 1), 0.0, "unknown"),
        ("never reported", None, 0.0, "unknown"),
    ],
)
def test_host_score(case: str, host: MetricSample | None, expected: float, status: str) -> None:
    health = score(host)
    assert health.score == pytest.approx(expected, abs=0.1), case
    assert health.status == status
    # The parts explain the whole score.
    assert 100.0 - sum(p.penalty for p in health.parts) == pytest.approx(expected, abs=0.2)


def test_alert_penalties_count_only_active_alerts_of_the_host() -> None:
    alerts = [
        alert("critical"),
        alert("warning"),
        alert("warning", event="resolved"),
        alert("critical", host="other"),
    ]
    health = score(sample(), alerts)
    assert health.score == 100.0 - 25.0 - 10.0
    assert sorted(p.penalty for p in health.parts if p.kind == "alert") == [10.0, 25.0]


def test_a_score_of_72_explained() -> None:
    health = score(sample(cpu=96.0, memory=80.0, disk=85.4), [alert("warning")])
    assert health.score == pytest.approx(72.0)
    lost = {p.name: p.penalty for p in health.parts if p.penalty}
    assert lost == {"cpu.percent": 12.0, "disk.percent{mount=/}": 6.0, "rule_warning": 10.0}
    assert all(p.detail for p in health.parts)


def test_recent_mean_is_scored_instead_of_one_busy_sample() -> None:
    health = score(sample(cpu=100.0), cpu_percent=50.0)
    assert health.score == 100.0


def test_the_worst_disk_counts_and_read_only_images_are_ignored() -> None:
    s = sample(disk=50.0)
    s.disks.append(DiskUsage(mount="/data", fstype="xfs", total=1, used=1, free=0, percent=89.0))
    s.disks.append(
        DiskUsage(mount="/snap/core", fstype="squashfs", total=1, used=1, free=0, percent=100.0)
    )
    health = score(s)
    disk_parts = [p for p in health.parts if p.name.startswith("disk.")]
    assert [(p.name, p.penalty) for p in disk_parts] == [("disk.percent{mount=/data}", 10.0)]


def h100_sample(fixtures: Path) -> MetricSample:
    raw = json.loads((fixtures / "nvml-psutil-loaded.json").read_text())
    ps, gpu = raw["psutil"], raw["gpus"][0]
    vm, swap = ps["vm"], ps["swap"]
    cores = ps["cpu_percent_percpu"]
    return MetricSample(
        ts=NOW - 2,
        host="gpu-h100",
        seq=1,
        interval=5.0,
        cpu=Cpu(percent=sum(cores) / len(cores), count=raw["nproc"], load1=ps["loadavg"][0]),
        memory=Memory(
            total=vm["total"], used=vm["used"], available=vm["available"], percent=vm["percent"]
        ),
        swap=Swap(total=swap["total"], used=swap["used"], percent=swap["percent"]),
        # Usage figures are not in the recording; a squashfs image always reads full.
        disks=[
            DiskUsage(
                mount=p["mountpoint"],
                device=p["device"],
                fstype=p["fstype"],
                total=1,
                used=1,
                free=0,
                percent=100.0 if p["fstype"] == "squashfs" else 40.0,
            )
            for p in ps["partitions"]
        ],
        gpus=[
            Gpu(
                index=0,
                name=gpu["name"],
                utilization=gpu["utilization"]["gpu"],
                memory_used=gpu["memory"]["used"],
                memory_total=gpu["memory"]["total"],
                memory_percent=100.0 * gpu["memory"]["used"] / gpu["memory"]["total"],
                temperature=gpu["temperature"],
                power_w=gpu["power_mw"] / 1000.0,
            )
        ],
    )


def test_recorded_h100_host_under_load_is_healthy(h100_fixtures: Path) -> None:
    s = h100_sample(h100_fixtures)
    health = host_health(s.host, s, {}, [], NOW, STALE_AFTER, DOWN_AFTER)
    assert health.score == 100.0
    names = {p.name for p in health.parts}
    assert "disk.percent{mount=/}" in names
    assert "gpu.memory_percent{gpu=0}" in names
    assert "gpu.temperature{gpu=0}" in names
    assert not any("nvidia" in n for n in names)  # the driver's squashfs image is not a disk


def check(
    name: str, ok: bool, group: str = "api", host: str = "h1", age: float = 10.0
) -> CheckResult:
    return CheckResult(
        ts=NOW - age,
        host=host,
        check=name,
        check_kind="http",
        ok=ok,
        group=group,
        reason="" if ok else "HTTP 502",
    )


def up_points(pattern: str) -> list[tuple[float, float]]:
    return [(NOW - 30.0 * (len(pattern) - i), float(c == "1")) for i, c in enumerate(pattern)]


@pytest.mark.parametrize(
    ("case", "checks", "up", "expected"),
    [
        ("all up", [check("a", True), check("b", True)], {}, 100.0),
        ("one of two failing", [check("a", True), check("b", False)], {}, 50.0),
        (
            "up now, 3 of 4 recent results up",
            [check("a", True)],
            {("h1", "a"): up_points("1101")},
            75.0,
        ),
        ("no result for too long", [check("a", True, age=DOWN_AFTER + 1)], {}, 0.0),
    ],
)
def test_group_score(
    case: str,
    checks: list[CheckResult],
    up: dict[tuple[str, str], list[tuple[float, float]]],
    expected: float,
) -> None:
    g = group_health("api", checks, up, [], NOW, DOWN_AFTER)
    assert g.score == pytest.approx(expected), case
    assert 100.0 - sum(p.penalty for p in g.parts) == pytest.approx(expected)


def test_group_alerts_by_group_or_check_label() -> None:
    alerts = [alert("warning", check="a"), alert("critical", host="h2", group="api")]
    alerts.append(alert("critical", host="h3", group="db"))
    g = group_health("api", [check("a", True)], {}, alerts, NOW, DOWN_AFTER)
    assert g.score == 100.0 - 10.0 - 25.0


def test_fleet_is_the_mean_of_hosts_and_groups_and_names_the_worst() -> None:
    def host(name: str, s: float) -> HostHealth:
        return HostHealth(host=name, score=s, status="healthy", parts=[], last_seen=NOW)

    groups = [GroupHealth(group="api", score=70.0, status="degraded", parts=[], checks=[])]
    fleet = fleet_health([host("a", 100.0), host("b", 50.0)], groups)
    assert fleet.score == pytest.approx(220.0 / 3, abs=0.05)
    assert fleet.worst == "host:b"
    assert 100.0 - sum(p.penalty for p in fleet.parts) == pytest.approx(fleet.score, abs=0.05)
    assert fleet_health([], []).status == "unknown"
