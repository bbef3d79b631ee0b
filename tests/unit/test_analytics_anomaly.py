from __future__ import annotations

import random

import pytest

from vitals_core.analytics.anomaly import MAX_FLAGS, check_point, detect

NOW = 1_764_000_000.0


def noise(n: int, seed: int, center: float = 50.0, sigma: float = 3.0) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    return [(NOW + 5.0 * i, center + rng.gauss(0.0, sigma)) for i in range(n)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_flags_on_clean_noise(seed: int) -> None:
    assert detect("cpu.percent", noise(2000, seed)).flags == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_injected_spikes_are_flagged_and_nothing_else(seed: int) -> None:
    pts = noise(2000, seed)
    spikes = {150: 40.0, 700: -30.0, 701: 35.0, 1500: 45.0}  # a dip too, and two in a row
    for i, jump in spikes.items():
        pts[i] = (pts[i][0], pts[i][1] + jump)
    flags = detect("cpu.percent", pts).flags
    assert [f.ts for f in flags] == [pts[i][0] for i in sorted(spikes)]
    for f in flags:
        assert not f.low <= f.value <= f.high
        assert f.expected == pytest.approx(50.0, abs=2.0)


def test_a_flat_series_does_not_flag_tiny_steps() -> None:
    pts = [(NOW + 60.0 * i, 41.0 + (0.01 if i > 500 else 0.0)) for i in range(1000)]
    assert detect("disk.percent{mount=/}", pts).flags == []


def test_a_level_shift_is_flagged_until_the_band_catches_up() -> None:
    pts = noise(600, 4)
    shifted = [(t, v + (60.0 if i >= 300 else 0.0)) for i, (t, v) in enumerate(pts)]
    flags = detect("cpu.percent", shifted).flags
    assert flags
    assert flags[0].ts == shifted[300][0]
    assert all(f.ts >= shifted[300][0] for f in flags)
    assert flags[-1].ts < shifted[300 + 120][0]  # within one window the band has moved


def test_flags_are_bounded_and_the_rest_counted() -> None:
    pts = [(NOW + i, 10.0 if i < 100 or i % 2 else 10.0 + 1000.0) for i in range(100 + 2 * 500)]
    found = detect("app.queue_size{app=a}", pts, window=100_000)
    assert len(found.flags) == MAX_FLAGS
    assert found.dropped == 500 - MAX_FLAGS


def test_check_point_for_rules_that_see_one_value_at_a_time() -> None:
    history = [v for _, v in noise(120, 9)]
    assert check_point(history, 52.0) is None
    flag = check_point(history, 90.0)
    assert flag is not None
    assert flag.score > 5.5
    assert check_point(history[:5], 90.0) is None  # too little history to judge
