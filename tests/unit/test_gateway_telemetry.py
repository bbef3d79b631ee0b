"""What telemetry messages become, on values recorded from a real H100 host."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from vitals_core import events, keys
from vitals_gateway.ingest.telemetry import Rejected, convert, summarize

NOW = 1_750_000_000.0


def loaded_sample(fixtures: Path, host: str = "gpu-1", ts: float = NOW) -> events.MetricSample:
    d = json.loads((fixtures / "nvml-psutil-loaded.json").read_text())
    p, g = d["psutil"], d["gpus"][0]
    return events.MetricSample(
        ts=ts,
        host=host,
        seq=1,
        interval=5.0,
        cpu=events.Cpu(
            percent=6.4,
            cores=[events.CpuCore(percent=v) for v in p["cpu_percent_percpu"]],
            load1=p["loadavg"][0],
        ),
        memory=events.Memory(
            total=p["vm"]["total"],
            used=p["vm"]["used"],
            available=p["vm"]["available"],
            percent=p["vm"]["percent"],
        ),
        disks=[
            events.DiskUsage(mount="/", total=100, used=91, free=9, percent=91.0),
            events.DiskUsage(mount="/usr/local/nvidia", total=10, used=10, free=0, percent=100.0),
        ],
        net=[
            events.NetIO(interface=n, rx_bytes_per_s=10.0, tx_bytes_per_s=1.0)
            for n in p["net_pernic_keys"]
        ],
        gpus=[
            events.Gpu(
                index=0,
                name=g["name"],
                utilization=g["utilization"]["gpu"],
                memory_used=g["memory"]["used"],
                memory_total=g["memory"]["total"],
                memory_percent=8.85,
                temperature=g["temperature"],
                power_w=g["power_mw"] / 1000,
            )
        ],
    )


def test_a_sample_becomes_latest_summary_and_points(h100_fixtures: Path) -> None:
    sample = loaded_sample(h100_fixtures)
    data = events.encode(sample)
    converted = convert("vitals.metrics.gpu-1", data, NOW)
    w = converted.write
    assert (w.host, w.ts, w.ts_field, w.latest_key, w.doc) == (
        "gpu-1",
        NOW,
        "metrics",
        keys.latest("gpu-1"),
        data,
    )
    points = dict(zip(w.names, w.values, strict=True))
    assert points["cpu.percent"] == 6.4
    assert points["cpu.core.percent{core=15}"] == 100.0  # the recorded busy core
    assert points["gpu.utilization{gpu=0}"] == 99.0
    assert points["gpu.power_w{gpu=0}"] == pytest.approx(690.968)
    assert points["disk.percent{mount=/usr/local/nvidia}"] == 100.0
    summary = msgspec.json.decode(w.summary)
    assert summary["cpu"] == {"percent": 6.4, "load1": 0.15380859375}
    assert summary["disks"] == [
        {"mount": "/", "percent": 91.0},
        {"mount": "/usr/local/nvidia", "percent": 100.0},
    ]
    assert summary["net"] == {"rx_bytes_per_s": 40.0, "tx_bytes_per_s": 4.0}  # 4 interfaces
    assert summary["gpus"] == [
        {"index": 0, "utilization": 99.0, "memory_percent": 8.85, "temperature": 65.0}
    ]
    assert "temperature" not in summary  # the recorded host has no sensors


def test_summary_of_the_recorded_host(h100_fixtures: Path) -> None:
    full = loaded_sample(h100_fixtures)
    s = summarize(full)
    assert (s.cpu.percent, s.memory.percent, s.memory.total) == (6.4, 0.8, 135148564480)
    assert (s.gpus[0].utilization, s.gpus[0].temperature) == (99.0, 65.0)
    assert len(msgspec.json.encode(s)) < len(events.encode(full)) / 2


def test_checks_and_apps_are_keyed_by_their_name() -> None:
    check = events.CheckResult(
        ts=NOW, host="h", check="api", check_kind="http", ok=False, latency_ms=12.5
    )
    w = convert("vitals.health.h.api", events.encode(check), NOW).write
    assert (w.latest_key, w.latest_field, w.ts_field) == (
        keys.checks_latest("h"),
        "api",
        "check:api",
    )
    assert dict(zip(w.names, w.values, strict=True)) == {
        "check.up{check=api}": 0.0,
        "check.latency_ms{check=api}": 12.5,
    }
    app = events.AppMetrics(ts=NOW, host="h", app="asr", window=5.0, queue_size=7.0)
    w = convert("vitals.app.h.asr", events.encode(app), NOW).write
    assert (w.latest_key, w.latest_field) == (keys.app_latest("h"), "asr")
    assert dict(zip(w.names, w.values, strict=True))["app.queue_size{app=asr}"] == 7.0


def test_a_sample_older_than_the_raw_window_keeps_only_its_latest_value(
    h100_fixtures: Path,
) -> None:
    old = loaded_sample(h100_fixtures, ts=NOW - 7200)
    converted = convert("vitals.metrics.gpu-1", events.encode(old), NOW)
    assert converted.write.names == []
    assert converted.dropped_points > 50


REJECTED = [
    ("vitals.metrics.other", "gpu-1", NOW, "does not match the subject"),
    ("vitals.alerts.gpu-1", "gpu-1", NOW, "does not belong on"),
    ("vitals.metrics.gpu-1", "gpu-1", NOW + 3600, "in the future"),
    ("elsewhere", "gpu-1", NOW, "not a telemetry subject"),
]


@pytest.mark.parametrize(("subject", "host", "ts", "message"), REJECTED)
def test_rejected_messages_say_why(
    h100_fixtures: Path, subject: str, host: str, ts: float, message: str
) -> None:
    data = events.encode(loaded_sample(h100_fixtures, host=host, ts=ts))
    with pytest.raises(Rejected, match=message):
        convert(subject, data, NOW)


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"{not json", "malformed"), (b'{"kind":"metrics","ts":1}', "missing required field")],
)
def test_malformed_messages_say_why(data: bytes, message: str) -> None:
    with pytest.raises(Rejected, match=message):
        convert("vitals.metrics.x", data, NOW)


def test_an_app_event_on_another_apps_subject_is_refused() -> None:
    app = events.AppMetrics(ts=NOW, host="h", app="asr", window=5.0)
    with pytest.raises(Rejected, match="app 'asr' does not match"):
        convert("vitals.app.h.other", events.encode(app), NOW)
