"""The Prometheus text format."""

from __future__ import annotations

import pytest

from vitals_gateway.counters import Counters
from vitals_gateway.exposition import fleet_lines, metric_name, own_lines, render

NAMES = [
    ("cpu.percent", "vitals_cpu_percent"),
    ("app.gauge.gpu-mem", "vitals_app_gauge_gpu_mem"),
    ("app.response_ms.p99", "vitals_app_response_ms_p99"),
]


@pytest.mark.parametrize(("series", "metric"), NAMES)
def test_metric_names(series: str, metric: str) -> None:
    assert metric_name(series) == metric


def test_fleet_lines_group_each_metric_and_label_the_host() -> None:
    lines = fleet_lines([
        ("b", "cpu.percent", 12.5, 0.0),
        ("a", "disk.percent{mount=/}", 91.0, 0.0),
        ("a", "cpu.percent", 3.0, 0.0),
        ("a", 'temp.celsius{label=Core "0",sensor=coretemp}', 41.0, 0.0),
    ])  # fmt: skip
    assert lines == [
        "# TYPE vitals_cpu_percent gauge",
        'vitals_cpu_percent{host="b"} 12.5',
        'vitals_cpu_percent{host="a"} 3',
        "# TYPE vitals_disk_percent gauge",
        'vitals_disk_percent{host="a",mount="/"} 91',
        "# TYPE vitals_temp_celsius gauge",
        'vitals_temp_celsius{host="a",label="Core \\"0\\"",sensor="coretemp"} 41',
    ]


def test_own_counters_gauges_and_latency_histogram() -> None:
    c = Counters()
    c.inc("events_ingested", 7)
    c.set("ws_clients", 3)
    c.observe("/admin/system/metrics", "GET", 200, 0.003)
    c.observe("/admin/system/metrics", "GET", 200, 0.2)
    text = render(own_lines(c))
    assert "vitals_gateway_events_ingested_total 7\n" in text
    assert "vitals_gateway_events_invalid_total 0\n" in text
    assert "# TYPE vitals_gateway_ws_clients gauge\nvitals_gateway_ws_clients 3\n" in text
    bucket = 'vitals_gateway_request_duration_seconds_bucket{route="/admin/system/metrics",'
    assert f'{bucket}method="GET",code="2xx",le="0.0025"}} 0\n' in text
    assert f'{bucket}method="GET",code="2xx",le="0.005"}} 1\n' in text
    assert f'{bucket}method="GET",code="2xx",le="+Inf"}} 2\n' in text
    assert 'vitals_gateway_request_duration_seconds_count{route="/admin/system/metrics",' in text
