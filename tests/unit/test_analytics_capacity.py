from __future__ import annotations

import random

import pytest

from vitals_core.analytics.capacity import Limits, Target, capacity, targets

NOW = 1_764_000_000.0
HOUR = 3600.0
DAY = 24 * HOUR


def series(
    length: float, step: float, now_value: float, per_hour: float, noise: float = 0.0, seed: int = 5
) -> list[tuple[float, float]]:
    """Points over the last `length` seconds of a line that is at `now_value` at NOW."""
    rng = random.Random(seed)
    n = int(length / step)
    return [
        (NOW - (n - i) * step, now_value - per_hour * (n - i) * step / HOUR + rng.gauss(0, noise))
        for i in range(n + 1)
    ]


DISK = Target("disk", "disk.percent{mount=/}", 95.0)


@pytest.mark.parametrize(
    ("case", "per_hour", "now_value", "status", "eta_hours"),
    [
        ("1 %/h from 80 %: 15 h to 95 %", 1.0, 80.0, "exhausting", 15.0),
        ("0.1 %/h from 83 %: 120 h", 0.1, 83.0, "exhausting", 120.0),
        ("flat", 0.0, 80.0, "not_exhausting", None),
        ("shrinking", -0.5, 80.0, "not_exhausting", None),
        ("already above the limit", 0.2, 96.0, "reached", 0.0),
    ],
)
def test_disk_crossing_time(
    case: str, per_hour: float, now_value: float, status: str, eta_hours: float | None
) -> None:
    windows = {
        "24h": series(DAY, 60.0, now_value, per_hour, noise=0.3),
        "7d": series(7 * DAY, 600.0, now_value, per_hour, noise=0.3),
    }
    c = capacity(DISK, windows, NOW)
    assert c.status == status, case
    if eta_hours is None:
        assert c.eta_s is None
        return
    assert c.eta_s is not None
    # Within 5 % of the true crossing (or 10 minutes near zero), and inside the band.
    assert c.eta_s / HOUR == pytest.approx(eta_hours, rel=0.05, abs=1 / 6)
    assert c.eta_low_s is not None
    assert c.eta_low_s <= eta_hours * HOUR * 1.05
    assert c.eta_high_s is None or c.eta_high_s >= eta_hours * HOUR * 0.95
    assert c.at == pytest.approx(NOW + c.eta_s)


def test_a_recent_change_of_pace_is_not_hidden_by_a_calm_week() -> None:
    week = series(7 * DAY, 600.0, 60.0, 0.0, noise=0.2)
    day = series(DAY, 60.0, 80.0, 1.0, noise=0.2)  # filling up since yesterday
    c = capacity(DISK, {"24h": day, "7d": week}, NOW)
    assert (c.status, c.window) == ("exhausting", "24h")
    assert c.eta_s is not None
    assert c.eta_s / HOUR == pytest.approx(15.0, rel=0.05)
    assert {w.window: w.status for w in c.windows} == {"24h": "exhausting", "7d": "not_exhausting"}


def test_too_little_history_is_not_extrapolated() -> None:
    ten_minutes = series(600.0, 5.0, 80.0, 10.0)
    c = capacity(DISK, {"24h": ten_minutes, "7d": ten_minutes}, NOW)
    assert c.status == "insufficient_data"
    assert c.window is None


def test_queue_limit() -> None:
    queue = Target("queue", "app.queue_size{app=whisper}", 1000.0)
    c = capacity(queue, {"24h": series(DAY, 60.0, 400.0, 50.0)}, NOW)
    assert c.status == "exhausting"
    assert c.eta_s is not None
    assert c.eta_s / HOUR == pytest.approx(12.0, rel=0.01)


def test_targets_from_series_names() -> None:
    names = [
        "disk.percent{mount=/}",
        "disk.percent{mount=/usr/local/nvidia}",
        "disk.used{mount=/}",
        "memory.percent",
        "gpu.memory_percent{gpu=0}",
        "app.queue_size{app=whisper}",
        "cpu.percent",
    ]
    found = targets(names, Limits(queue=500.0), ignored_mounts=["/usr/local/nvidia"])
    assert [(t.resource, t.series, t.limit) for t in found] == [
        ("queue", "app.queue_size{app=whisper}", 500.0),
        ("disk", "disk.percent{mount=/}", 95.0),
        ("gpu_memory", "gpu.memory_percent{gpu=0}", 98.0),
        ("memory", "memory.percent", 95.0),
    ]


@pytest.mark.parametrize("seed", range(6))
def test_noise_around_a_flat_level_is_not_a_trend(seed: int) -> None:
    windows = {
        "24h": series(DAY, 60.0, 80.0, 0.0, noise=1.0, seed=seed),
        "7d": series(7 * DAY, 600.0, 80.0, 0.0, noise=1.0, seed=seed + 100),
    }
    c = capacity(DISK, windows, NOW)
    assert c.status == "not_exhausting"
    assert c.eta_s is None
