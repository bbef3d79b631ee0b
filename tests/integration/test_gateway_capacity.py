"""A consumer more than half the telemetry stream's room behind is counted and logged."""

from __future__ import annotations

import logging

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

from vitals_core import subjects
from vitals_gateway.counters import Counters
from vitals_gateway.ingest.capacity import CapacityWatch


async def test_a_consumer_near_the_streams_capacity_is_reported(
    nats_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    try:
        # A stream that holds 100 messages of 1 KB; a consumer that has read none of 60.
        await js.add_stream(
            StreamConfig(
                name=subjects.STREAM_TELEMETRY,
                subjects=subjects.STREAM_TELEMETRY_SUBJECTS,
                max_msgs=100,
            )
        )
        await js.add_consumer(
            subjects.STREAM_TELEMETRY,
            ConsumerConfig(durable_name="slow", ack_policy=AckPolicy.EXPLICIT),
        )
        for i in range(60):
            await js.publish(subjects.metrics("h1"), b"x" * 1000, headers={"Nats-Msg-Id": str(i)})
        counters = Counters()
        watch = CapacityWatch(js, counters)
        caplog.set_level(logging.WARNING, logger="vitals.gateway.capacity")

        shares = await watch.check()
        await watch.check()  # still behind: counted once per crossing

        assert shares == {"slow": pytest.approx(0.6)}
        assert counters.gauges["telemetry_lag_share"] == pytest.approx(0.6)
        assert counters.get("telemetry_lag_near_capacity") == 1
        [record] = caplog.records
        assert "consumer slow is 60% of the telemetry stream's capacity behind" in record.message

        # It catches up: the share drops and a later fall behind counts again.
        sub = await js.pull_subscribe_bind("slow", subjects.STREAM_TELEMETRY)
        for msg in await sub.fetch(60, timeout=5):
            await msg.ack()
        await sub.unsubscribe()
        assert (await watch.check()) == {"slow": 0.0}
        assert counters.gauges["telemetry_lag_share"] == 0.0
    finally:
        await nc.close()
