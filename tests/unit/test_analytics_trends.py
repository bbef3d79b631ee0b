from __future__ import annotations

import random

import pytest

from vitals_core.analytics.trends import app_summary, apps_of, trend

NOW = 1_764_000_000.0
HOUR = 3600.0


def line(
    start: float, end: float, step: float, at_start: float, per_hour: float, noise: float = 0.0
) -> list[tuple[float, float]]:
    rng = random.Random(11)
    n = int((end - start) / step) + 1
    return [
        (start + i * step, at_start + per_hour * i * step / HOUR + rng.gauss(0.0, noise))
        for i in range(n)
    ]


@pytest.mark.parametrize(
    ("per_hour", "noise", "tolerance"),
    [(2.0, 0.0, 1e-6), (-0.5, 0.0, 1e-6), (0.5, 1.5, 0.05), (0.0, 1.0, 0.05)],
)
def test_slope_per_hour(per_hour: float, noise: float, tolerance: float) -> None:
    pts = line(NOW - 24 * HOUR, NOW, 60.0, 50.0, per_hour, noise)
    t = trend("memory.percent", pts, [], NOW - 24 * HOUR, NOW)
    assert t.slope_per_hour == pytest.approx(per_hour, abs=tolerance)
    assert t.slope_low_per_hour is not None
    assert t.slope_high_per_hour is not None
    assert t.slope_low_per_hour <= per_hour + tolerance
    assert t.slope_high_per_hour >= per_hour - tolerance
    if noise == 0.0:
        assert t.r2 == pytest.approx(1.0)


def test_percentiles_of_a_known_set() -> None:
    pts = [
        (NOW - 100 + i, float(v)) for i, v in enumerate(random.Random(3).sample(range(1, 101), 100))
    ]
    t = trend("cpu.percent", pts, [], NOW - 100, NOW)
    assert (t.p50, t.p95, t.p99) == (50.5, 95.05, 99.01)
    assert (t.min, t.max, t.mean, t.n) == (1.0, 100.0, 50.5, 100)


def test_change_against_the_previous_period() -> None:
    current = [(NOW - 60 * i, 50.0) for i in range(60, 0, -1)]
    previous = [(NOW - HOUR - 60 * i, 40.0) for i in range(60, 0, -1)]
    t = trend("cpu.percent", current, previous, NOW - HOUR, NOW)
    assert (t.previous_mean, t.change, t.change_percent) == (40.0, 10.0, 25.0)
    assert trend("cpu.percent", current, [], NOW - HOUR, NOW).change is None


def test_empty_and_non_finite_points() -> None:
    t = trend("cpu.percent", [(NOW, float("nan"))], [], NOW - HOUR, NOW)
    assert t.n == 0
    assert t.slope_per_hour is None


def test_application_summary() -> None:
    start = NOW - HOUR
    app = "whisper"
    current = {
        f"app.throughput_per_s{{app={app}}}": line(start, NOW, 15.0, 0.5, 0.0),
        f"app.error_rate{{app={app}}}": line(start, NOW, 15.0, 0.02, 0.0),
        f"app.queue_size{{app={app}}}": line(start, NOW, 15.0, 10.0, 30.0),
        f"app.response_ms.p50{{app={app}}}": line(start, NOW, 15.0, 120.0, 0.0),
        f"app.response_ms.p95{{app={app}}}": line(start, NOW, 15.0, 300.0, 0.0),
        f"app.response_ms.p99{{app={app}}}": [(start, 500.0), (start + 15, 900.0), (NOW, 600.0)],
    }
    previous = {
        f"app.throughput_per_s{{app={app}}}": line(start - HOUR, start, 15.0, 0.4, 0.0),
        f"app.error_rate{{app={app}}}": line(start - HOUR, start, 15.0, 0.01, 0.0),
    }
    s = app_summary(app, current, previous)
    assert s.throughput_jobs_per_hour == pytest.approx(1800.0)
    assert s.throughput_change_percent == pytest.approx(25.0)
    assert s.error_rate == pytest.approx(0.02)
    assert s.error_rate_previous == pytest.approx(0.01)
    assert (s.response_ms_p50, s.response_ms_p95, s.response_ms_p99) == (120.0, 300.0, 600.0)
    assert s.response_ms_p99_max == 900.0
    assert s.queue_growth_per_hour == pytest.approx(30.0)
    assert s.queue_size == pytest.approx(40.0)


def test_apps_of_series_names() -> None:
    names = ["cpu.percent", "app.queue_size{app=b}", "app.error_rate{app=a}", "check.up{check=x}"]
    assert apps_of(names) == ["a", "b"]
