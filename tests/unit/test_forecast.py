from __future__ import annotations

import math
import random

import pytest

from vitals_core.forecast import theil_sen, time_to_level

HOUR = 3600.0


def line(
    n: int, slope_per_hour: float, start: float, step: float = 60.0
) -> tuple[list[float], list[float]]:
    ts = [i * step for i in range(n)]
    return ts, [start + slope_per_hour * t / HOUR for t in ts]


def test_exact_line() -> None:
    ts, vs = line(120, slope_per_hour=2.0, start=50.0)
    fit = theil_sen(ts, vs)
    assert fit is not None
    assert fit.slope_per_hour == pytest.approx(2.0)
    assert fit.at(0.0) == pytest.approx(50.0)
    assert fit.r2 == pytest.approx(1.0)


def test_spikes_do_not_tilt_the_fit() -> None:
    ts, vs = line(200, slope_per_hour=1.0, start=40.0)
    for i in range(0, 200, 17):
        vs[i] += 45.0  # 12 wild spikes
    fit = theil_sen(ts, vs)
    assert fit is not None
    assert fit.slope_per_hour == pytest.approx(1.0, rel=0.02)


def test_too_few_points() -> None:
    assert theil_sen([0.0, 1.0], [1.0, 2.0]) is None
    assert time_to_level([0.0], [1.0], 10.0, now=1.0).status == "insufficient_data"


@pytest.mark.parametrize(
    ("slope_per_hour", "start", "level", "direction", "status", "eta_hours"),
    [
        (2.0, 80.0, 95.0, "rising", "exhausting", 7.5 - 2.0),  # 2 h of data already elapsed
        (-1.0, 80.0, 95.0, "rising", "not_exhausting", None),
        (0.0, 80.0, 95.0, "rising", "not_exhausting", None),
        (5.0, 96.0, 95.0, "rising", "reached", 0.0),
        (-3.0, 30.0, 0.0, "falling", "exhausting", 10.0 - 2.0),
    ],
)
def test_time_to_level(
    slope_per_hour: float,
    start: float,
    level: float,
    direction: str,
    status: str,
    eta_hours: float | None,
) -> None:
    ts, vs = line(121, slope_per_hour, start)  # two hours of minutes
    now = ts[-1]
    forecast = time_to_level(ts, vs, level, now, direction)  # type: ignore[arg-type]
    assert forecast.status == status
    if eta_hours is None:
        assert forecast.eta is None
    else:
        assert forecast.eta is not None
        assert forecast.eta / HOUR == pytest.approx(eta_hours, abs=0.01)


def test_noisy_series_band_contains_the_truth() -> None:
    rng = random.Random(7)
    ts, vs = line(24 * 60, slope_per_hour=0.5, start=60.0)  # a day of minutes
    noisy = [v + rng.gauss(0.0, 1.5) for v in vs]
    forecast = time_to_level(ts, noisy, 90.0, now=ts[-1])
    true_eta = (90.0 - 72.0) / 0.5 * HOUR
    assert forecast.status == "exhausting"
    assert forecast.eta is not None
    assert forecast.eta_low is not None
    assert forecast.eta == pytest.approx(true_eta, rel=0.1)
    assert forecast.eta_low <= true_eta
    assert forecast.eta_high is None or forecast.eta_high >= true_eta
    assert not math.isnan(forecast.eta)
