from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from vitals import tools
from vitals_core import events, series, subjects
from vitals_core.events import Cpu, DiskUsage, Memory, MetricSample, NetIO

REPO = Path(__file__).resolve().parents[2]


def sample() -> MetricSample:
    return MetricSample(
        ts=1764191690.5,
        host="gpu-1",
        seq=7,
        interval=5.0,
        cpu=Cpu(percent=12.5, count=16),
        memory=Memory(total=135148564480, used=552017920, available=134596546560, percent=0.4),
        disks=[DiskUsage(mount="/", total=100, used=40, free=60, percent=40.0)],
        net=[NetIO(interface="eth0", rx_bytes_per_s=10.0, tx_bytes_per_s=20.0)],
    )


def test_round_trip_carries_kind_and_version() -> None:
    data = events.encode(sample())
    raw = msgspec.json.decode(data)
    assert raw["kind"] == "metrics"
    assert raw["v"] == events.SCHEMA_VERSION
    assert events.decode(data) == sample()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"not json", "malformed"),
        (b'{"kind": "metrics", "ts": 1}', "missing required field"),
        (b'{"kind": "nope", "ts": 1}', "Invalid value 'nope'"),
        (b'{"ts": 1}', "missing required field `kind`"),
        (
            b'{"kind":"metrics","ts":"yesterday","host":"h","seq":1,"interval":5,'
            b'"cpu":{"percent":1},"memory":{"total":1,"used":1,"available":1,"percent":1}}',
            "Expected `float`, got `str` - at `$.ts`",
        ),
    ],
)
def test_malformed_events_say_what_is_wrong(payload: bytes, message: str) -> None:
    with pytest.raises(events.InvalidEvent) as err:
        events.decode(payload)
    assert message in str(err.value)


def test_series_names() -> None:
    points = dict(series.points(sample()))
    assert points["cpu.percent"] == 12.5
    assert points["memory.percent"] == 0.4
    assert points["disk.percent{mount=/}"] == 40.0
    assert points["net.tx_bytes_per_s{interface=eth0}"] == 20.0
    assert series.parse_series("disk.percent{mount=/}") == ("disk.percent", {"mount": "/"})
    assert series.parse_series("cpu.percent") == ("cpu.percent", {})


def test_subjects_reject_unsafe_names() -> None:
    assert subjects.metrics("gpu-1") == "vitals.metrics.gpu-1"
    assert subjects.app("gpu-1", "whisper") == "vitals.app.gpu-1.whisper"
    for bad in ("a.b", "a b", "*", ">", ""):
        with pytest.raises(subjects.InvalidName):
            subjects.metrics(bad)
    assert subjects.safe_token("web-1.example.com") == "web-1_example_com"
    assert subjects.host_of("vitals.metrics.gpu-1") == "gpu-1"


def test_published_schema_is_current() -> None:
    published = (REPO / tools.SCHEMA_PATH).read_text()
    assert published == tools.schema_text(), "run `make schema` and commit docs/"
