"""Application metrics: percentiles, window aggregation, Prometheus pages to AppMetrics."""

from __future__ import annotations

import random

import pytest

from vitals_agent.appmetrics import (
    Reservoir,
    Window,
    error_rate,
    nearest_rank,
    throughput,
)
from vitals_agent.scrape import Scraper, Selector, bucket_quantile, parse_selector
from vitals_core.settings import ScrapeSettings


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([1.0], 0.5, 1.0),
        ([1.0, 2.0, 3.0, 4.0], 0.5, 2.0),
        ([float(i) for i in range(1, 101)], 0.95, 95.0),
        ([float(i) for i in range(1, 101)], 0.99, 99.0),
        ([float(i) for i in range(1, 11)], 0.99, 10.0),
        ([], 0.5, 0.0),
    ],
)
def test_nearest_rank(values: list[float], q: float, expected: float) -> None:
    assert nearest_rank(values, q) == expected


def test_reservoir_is_bounded_and_keeps_exact_count_mean_max() -> None:
    r = Reservoir(size=100, rng=random.Random(7))
    for v in range(1, 10_001):
        r.add(float(v))
    assert len(r.values) == 100
    summary = r.summary()
    assert summary is not None
    assert (summary.count, summary.mean, summary.max) == (10_000, 5000.5, 10_000.0)
    # A uniform sample: the median lands near the middle.
    assert 3500 < summary.p50 < 6500
    assert Reservoir().summary() is None


@pytest.mark.parametrize(
    ("requests", "errors", "completed", "failed", "expected"),
    [(0, 0, 0, 0, 0.0), (100, 5, 0, 0, 0.05), (0, 0, 9, 1, 0.1), (10, 1, 8, 2, 0.15)],
)
def test_error_rate(
    requests: int, errors: int, completed: int, failed: int, expected: float
) -> None:
    assert error_rate(requests, errors, completed, failed) == expected


@pytest.mark.parametrize(
    ("requests", "completed", "failed", "seconds", "expected"),
    [(50, 0, 0, 10.0, 5.0), (50, 20, 0, 10.0, 2.0), (0, 0, 3, 10.0, 0.0), (5, 5, 0, 0.0, 0.0)],
)
def test_throughput(
    requests: int, completed: int, failed: int, seconds: float, expected: float
) -> None:
    assert throughput(requests, completed, failed, seconds) == expected


def test_window_flush() -> None:
    w = Window(rng=random.Random(1))
    for _ in range(3):
        w.job_started()
    w.job_ended(True, 100.0)
    w.job_ended(False, 300.0)
    for ms in (10.0, 20.0, 30.0, 40.0):
        w.request(ms, error=ms == 40.0)
    w.gauge("queue_size", 12)
    w.gauge("gpu_batch", 4)
    w.count("retries", 2)
    event = w.flush("gpu-1", "transcriber", now=1000.0, seconds=10.0)
    assert event.jobs_active == 1.0  # one of three still running
    assert (event.jobs_completed, event.jobs_failed) == (1, 1)
    assert (event.requests, event.errors) == (4, 1)
    assert event.error_rate == pytest.approx(2 / 6, abs=1e-4)
    assert event.throughput_per_s == 0.1
    assert event.queue_size == 12.0
    assert event.gauges == {"gpu_batch": 4.0}
    assert event.counters == {"retries": 2.0}
    assert event.response_ms is not None
    assert (event.response_ms.p50, event.response_ms.max) == (20.0, 40.0)
    assert event.job_ms is not None
    assert event.job_ms.mean == 200.0
    after = w.flush("gpu-1", "transcriber", now=1010.0, seconds=10.0)
    assert (after.jobs_completed, after.requests, after.response_ms) == (0, 0, None)
    assert after.jobs_active == 1.0  # still running
    assert after.queue_size == 12.0  # gauges hold their last value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jobs_total", Selector("jobs_total", ())),
        ('jobs_total{status="failed"}', Selector("jobs_total", (("status", "failed"),))),
        ('x{a="1", b="two words"}', Selector("x", (("a", "1"), ("b", "two words")))),
    ],
)
def test_parse_selector(text: str, expected: Selector) -> None:
    assert parse_selector(text) == expected


def test_parse_selector_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="not a series name"):
        parse_selector("not a name!")


@pytest.mark.parametrize(
    ("q", "buckets", "expected"),
    [
        (0.5, [(0.1, 50.0), (0.5, 100.0), (float("inf"), 100.0)], 0.1),
        (0.75, [(0.1, 50.0), (0.5, 100.0), (float("inf"), 100.0)], 0.3),
        (0.99, [(1.0, 10.0), (float("inf"), 20.0)], 1.0),  # in +Inf: the highest finite bound
        (0.5, [(1.0, 0.0), (float("inf"), 0.0)], 0.0),
    ],
)
def test_bucket_quantile(q: float, buckets: list[tuple[float, float]], expected: float) -> None:
    assert bucket_quantile(q, buckets) == pytest.approx(expected)


def page(done: float, failed: float, queue: float, le: tuple[float, float, float, float]) -> str:
    b1, b2, b3, count = le
    return f"""\
# HELP jobs_total Jobs by outcome.
# TYPE jobs_total counter
jobs_total{{status="done"}} {done}
jobs_total{{status="failed"}} {failed}
# HELP queue_depth Jobs waiting.
# TYPE queue_depth gauge
queue_depth {queue}
# HELP request_seconds Request latency.
# TYPE request_seconds histogram
request_seconds_bucket{{le="0.1"}} {b1}
request_seconds_bucket{{le="0.5"}} {b2}
request_seconds_bucket{{le="1.0"}} {b3}
request_seconds_bucket{{le="+Inf"}} {count}
request_seconds_sum {count * 0.2}
request_seconds_count {count}
# TYPE build_info gauge
build_info{{version="1.2"}} 1
"""


def settings() -> ScrapeSettings:
    return ScrapeSettings(
        app="web",
        url="http://127.0.0.1:9000/metrics",
        series={
            'jobs_total{status="done"}': "jobs_completed",
            'jobs_total{status="failed"}': "jobs_failed",
            "queue_depth": "queue_size",
            "request_seconds": "response_ms",
            "build_info": "build",
            "jobs_total": "jobs_all",
            "not_there": "nothing",
        },
    )


def test_scrape_counters_gauges_histograms() -> None:
    scraper = Scraper(settings(), "web-1")
    first = scraper.convert(page(100, 5, 7, (10, 20, 30, 30)), wall=1.0, mono=10.0)
    assert (first.jobs_completed, first.jobs_failed) == (0, 0)  # no window yet: no spike
    assert first.queue_size == 7.0
    assert first.response_ms is None
    assert first.gauges == {"build": 1.0}
    assert scraper.missing == {"not_there"}

    second = scraper.convert(page(130, 6, 3, (60, 120, 130, 130)), wall=16.0, mono=25.0)
    assert second.window == 15.0
    assert (second.jobs_completed, second.jobs_failed) == (30, 1)
    assert second.counters == {"jobs_all": 31.0}
    assert second.throughput_per_s == 2.0
    assert second.error_rate == pytest.approx(1 / 31, abs=1e-4)
    assert second.queue_size == 3.0
    latency = second.response_ms
    assert latency is not None
    # 100 new requests: 50 under 0.1 s, 50 more under 0.5 s; seconds become milliseconds.
    assert latency.count == 100
    assert latency.p50 == pytest.approx(100.0)
    assert latency.p95 == pytest.approx(460.0)
    assert latency.mean == pytest.approx(200.0)
    assert latency.max == 500.0

    # The application restarted: its counters began again from zero.
    third = scraper.convert(page(4, 0, 0, (1, 1, 1, 1)), wall=31.0, mono=40.0)
    assert third.jobs_completed == 4


def test_scrape_summary_quantiles() -> None:
    text = """\
# TYPE rpc_seconds summary
rpc_seconds{quantile="0.5"} 0.05
rpc_seconds{quantile="0.99"} 0.4
rpc_seconds_sum 10
rpc_seconds_count 100
"""
    s = ScrapeSettings(app="rpc", url="http://h/metrics", series={"rpc_seconds": "response_ms"})
    scraper = Scraper(s, "h")
    scraper.convert(text, 0.0, 0.0)
    event = scraper.convert(text.replace("_count 100", "_count 160"), 10.0, 10.0)
    assert event.response_ms is not None
    assert (event.response_ms.count, event.response_ms.p50, event.response_ms.p99) == (
        60,
        50.0,
        400.0,
    )
