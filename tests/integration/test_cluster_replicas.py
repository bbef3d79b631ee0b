"""Replicas from the settings on a 3-node cluster; a count raised by hand survives a restart."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator

import nats
import pytest
from nats.aio.client import Client
from nats.js.api import StreamConfig

from vitals_alerter.store import Store as AlerterStore
from vitals_core import bus, subjects
from vitals_core.config import ConfigError
from vitals_core.leases import open_bucket
from vitals_core.settings import NatsSettings
from vitals_core.settings.notifier import NotifierSettings
from vitals_notifier.store import Store as NotifierStore

ALERTER_BUCKETS = [
    subjects.KV_ALERT_STATES,
    subjects.KV_SILENCES,
    subjects.KV_ACKS,
    subjects.KV_ALERTER_POSITIONS,
    subjects.KV_ALERTER_LEASES,
]
NOTIFIER_BUCKETS = [
    subjects.BUCKET_NOTIFY_OUTBOX,
    subjects.BUCKET_NOTIFY_DEAD,
    subjects.BUCKET_NOTIFY_STATE,
    subjects.KV_NOTIFIER_LEASES,
]


@pytest.fixture
async def cluster_nc(cluster_url: str) -> AsyncIterator[Client]:
    nc = await nats.connect(cluster_url.split(","))
    yield nc
    await nc.close()


async def start_services(nc: Client, replicas: int) -> None:
    """What the gateway, alerter and notifier do with the bus at start."""
    js = nc.jetstream(timeout=10.0)
    settings = NatsSettings(replicas=replicas)
    await bus.ensure_streams(js, settings)
    await AlerterStore.open(js, replicas)
    await NotifierStore(js, NotifierSettings(), replicas=replicas).open()
    for bucket in (subjects.KV_ALERTER_LEASES, subjects.KV_NOTIFIER_LEASES):
        await open_bucket(js, bucket, 5.0, replicas)


EVERY_STREAM = [subjects.STREAM_TELEMETRY, subjects.STREAM_EVENTS, subjects.STREAM_NOTIFY_ATTEMPTS]
EVERY_STREAM += [f"KV_{b}" for b in ALERTER_BUCKETS + NOTIFIER_BUCKETS]


async def replicas_of_every_stream(nc: Client) -> dict[str, int]:
    js = nc.jetstream(timeout=10.0)
    # One by one: a listing may leave out a stream that is changing its peers.
    return {n: (await js.stream_info(n)).config.num_replicas or 1 for n in EVERY_STREAM}


async def test_every_stream_and_bucket_gets_the_configured_replicas(cluster_nc: Client) -> None:
    await start_services(cluster_nc, 3)
    listed = {info.config.name for info in await cluster_nc.jetstream().streams_info()}
    assert listed == set(EVERY_STREAM)  # every stream the services use, and no other
    assert await replicas_of_every_stream(cluster_nc) == dict.fromkeys(EVERY_STREAM, 3)
    # Placed for real: a leader and two followers each.
    for name in EVERY_STREAM:
        info = await cluster_nc.jetstream().stream_info(name)
        assert info.cluster is not None
        assert len(info.cluster.replicas or []) == 2


async def test_a_raised_count_is_applied_at_start(cluster_nc: Client) -> None:
    await start_services(cluster_nc, 1)
    await start_services(cluster_nc, 3)
    assert set((await replicas_of_every_stream(cluster_nc)).values()) == {3}


async def test_a_count_raised_by_hand_is_not_put_back_down(
    cluster_nc: Client, caplog: pytest.LogCaptureFixture
) -> None:
    await start_services(cluster_nc, 1)
    js = cluster_nc.jetstream(timeout=10.0)
    # The operator raises the telemetry stream and the alert-state bucket to 3.
    for name in (subjects.STREAM_TELEMETRY, f"KV_{subjects.KV_ALERT_STATES}"):
        config = (await js.stream_info(name)).config
        await js.update_stream(dataclasses.replace(config, num_replicas=3))

    caplog.set_level(logging.WARNING, logger="vitals.streams")
    await start_services(cluster_nc, 1)  # a restart with replicas = 1

    got = await replicas_of_every_stream(cluster_nc)
    assert got[subjects.STREAM_TELEMETRY] == 3
    assert got[f"KV_{subjects.KV_ALERT_STATES}"] == 3
    assert got[subjects.STREAM_EVENTS] == 1
    kept = [r.getMessage() for r in caplog.records if "kept" in r.getMessage()]
    assert sorted(kept) == sorted(
        f"stream {name}: num_replicas is 3, configuration says 1; kept "
        "(lower it by hand if you mean it)"
        for name in (subjects.STREAM_TELEMETRY, f"KV_{subjects.KV_ALERT_STATES}")
    )


async def test_an_old_uncompressed_stream_is_brought_to_s2(cluster_nc: Client) -> None:
    js = cluster_nc.jetstream(timeout=10.0)
    old = bus.stream_configs(NatsSettings(compression="none"))[0]
    await js.add_stream(old)
    await bus.ensure_streams(js, NatsSettings())
    info = await js.stream_info(subjects.STREAM_TELEMETRY)
    assert info.config.compression == "s2"


async def test_more_replicas_than_servers_is_a_clear_config_error(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        with pytest.raises(ConfigError, match=r"'nats.replicas' is 3"):
            await bus.ensure_streams(nc.jetstream(), NatsSettings(replicas=3))
    finally:
        await nc.close()


def test_stream_configs_are_nats_py_configs() -> None:
    assert all(isinstance(c, StreamConfig) for c in bus.stream_configs())
