"""Stream settings at start: raises applied, higher limits kept, the telemetry cap sized."""

from __future__ import annotations

import pytest
from nats.js.api import StreamConfig

from vitals_core import streams
from vitals_core.reconcile import plan
from vitals_core.settings import NatsSettings

GiB = 1 << 30


def stream(**fields: object) -> StreamConfig:
    base: dict[str, object] = {"name": "S", "subjects": ["a.>"], "num_replicas": 1}
    return StreamConfig(**(base | fields))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("current", "wanted", "changes", "kept"),
    [
        # Configuration raised: applied.
        (stream(), stream(num_replicas=3), {"num_replicas": 3}, 0),
        # Raised by hand, configuration lower: kept and reported.
        (stream(num_replicas=3), stream(num_replicas=1), {}, 1),
        (stream(max_bytes=8 * GiB), stream(max_bytes=2 * GiB), {}, 1),
        (stream(max_bytes=-1), stream(max_bytes=2 * GiB), {}, 1),  # unlimited is the most
        (stream(max_age=0), stream(max_age=3600.0), {}, 1),
        (stream(max_bytes=2 * GiB), stream(max_bytes=4 * GiB), {"max_bytes": 4 * GiB}, 0),
        # Unset replicas read as 1.
        (stream(num_replicas=None), stream(num_replicas=1), {}, 0),
        # Same: nothing to do.
        (stream(max_bytes=GiB), stream(max_bytes=GiB), {}, 0),
        # Not limits: applied as configured.
        (stream(), stream(compression="s2"), {"compression": "s2"}, 0),
        (stream(subjects=["a.>"]), stream(subjects=["b.>"]), {"subjects": ["a.>", "b.>"]}, 0),
    ],
)
def test_plan_raises_and_never_lowers(
    current: StreamConfig, wanted: StreamConfig, changes: dict[str, object], kept: int
) -> None:
    result = plan(current, wanted)
    assert result.changes == changes
    assert len(result.kept) == kept


def test_a_kept_limit_is_reported_with_both_values() -> None:
    result = plan(stream(num_replicas=3), stream(num_replicas=1))
    assert result.kept == ["num_replicas is 3, configuration says 1"]


@pytest.mark.parametrize(
    ("nats", "cap"),
    [
        # 100 hosts at 1 s for 1 h: 360,000 samples of 7.5 KB.
        (NatsSettings(), 2_700_000_000),
        (NatsSettings(fleet_hosts=1000), 27_000_000_000),
        (NatsSettings(fleet_hosts=1000, fleet_interval=5.0), 5_400_000_000),
        # A small fleet never gets less than the old fixed cap ...
        (NatsSettings(fleet_hosts=3), 2 * GiB),
        # ... a huge one no more than a node's disk can spare ...
        (NatsSettings(fleet_hosts=100_000, telemetry_hold_hours=6.0), 1024 * GiB),
        # ... and an explicit cap wins.
        (NatsSettings(fleet_hosts=1000, telemetry_max_bytes=5 * GiB), 5 * GiB),
    ],
)
def test_the_telemetry_cap_follows_the_fleet(nats: NatsSettings, cap: int) -> None:
    assert streams.telemetry_max_bytes(nats) == cap


def test_every_stream_takes_replicas_and_compression_from_the_settings() -> None:
    defs = streams.definitions(NatsSettings(replicas=3, compression="none"))
    assert [(d["num_replicas"], d["compression"]) for d in defs] == [(3, "none"), (3, "none")]
    assert [d["num_replicas"] for d in streams.definitions()] == [1, 1]


@pytest.mark.parametrize(
    "bad",
    [{"replicas": 0}, {"replicas": 7}, {"compression": "zstd"}, {"fleet_interval": 0}],
)
def test_bad_nats_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        NatsSettings(**bad)  # type: ignore[arg-type]
