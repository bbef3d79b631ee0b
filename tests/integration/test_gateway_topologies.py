"""The gateway's storage contract on a Valkey Cluster and under Sentinel: the same tests as
on one Redis (ingest, history at every range, rollups counted once, alerts, API tokens,
audit), imported from their modules and run here with the gateway on each topology. The
window store's own tests run on all three in test_gateway_store.py. Then a failover: the
Sentinel-managed primary is killed and the gateway carries on without a restart.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.test_gateway_api import (
    admin,
    test_alerts_are_materialised_from_the_bus,
    test_current_metrics_for_a_host_and_the_fleet,
    test_history_picks_the_resolution_by_range_and_reads_the_points,
)
from tests.integration.test_gateway_auth import (
    test_api_tokens_and_the_per_token_rate_limit,
    test_brute_force_is_refused_with_retry_after_and_audited_without_secrets,
)
from tests.integration.test_gateway_harness import gateway_settings, running
from tests.integration.test_gateway_store import sample
from tests.storage_topologies import flushed, url_of
from vitals_gateway.service import Gateway
from vitals_gateway.storage.redisconn import RedisClient, connect
from vitals_gateway.storage.store import WindowStore
from vitals_servers.valkeycluster import SentinelSet

__all__ = [
    "admin",
    "test_alerts_are_materialised_from_the_bus",
    "test_api_tokens_and_the_per_token_rate_limit",
    "test_brute_force_is_refused_with_retry_after_and_audited_without_secrets",
    "test_current_metrics_for_a_host_and_the_fleet",
    "test_history_picks_the_resolution_by_range_and_reads_the_points",
]


@pytest.fixture(params=["cluster", "sentinel"])
async def topology_url(request: pytest.FixtureRequest) -> str:
    """One Redis is the other modules' own run."""
    return await flushed(url_of(request, request.param))


@pytest.fixture
async def redis(topology_url: str) -> AsyncIterator[RedisClient]:
    client = connect(topology_url)
    yield client
    await client.aclose()


@pytest.fixture
async def gateway(nats_url: str, topology_url: str) -> AsyncIterator[Gateway]:
    async with running(gateway_settings(nats_url, topology_url)) as gw:
        yield gw


@pytest.fixture
async def strict(nats_url: str, topology_url: str) -> AsyncIterator[Gateway]:
    # The same limits as test_gateway_auth's `strict`, whose test this fixture reruns.
    auth = {"login_attempts": 3, "login_attempts_per_address": 3, "api_rate": 0.01, "api_burst": 3}
    settings = gateway_settings(nats_url, topology_url, auth=auth)
    async with running(settings, consume=False) as gw:
        yield gw


async def test_after_a_sentinel_failover_the_gateway_writes_and_reads_again(
    nats_url: str, tmp_path: Path
) -> None:
    with SentinelSet(tmp_path / "sentinel") as sentinel:
        async with running(gateway_settings(nats_url, sentinel.url), consume=False) as gw:
            store: WindowStore = gw.state.store
            now = float(int(time.time()))
            base = now - 120
            await store.write([sample("h1", base + i, cpu=float(i)) for i in range(10)], now)
            # Replication is asynchronous: what was written a moment before the kill is on
            # the replica (the loss bound is the replication lag, like AOF everysec's 1 s).
            await store.redis.execute_command("WAIT", 1, 5000)
            sentinel.kill_primary()

            deadline = time.monotonic() + 30
            while True:
                try:
                    result = await store.write([sample("h1", base + 10, cpu=10.0)], now)
                    if result.written == 1:
                        break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.2)
            window = await store.query("h1", "cpu", base, base + 10, now=now)
            assert window.points.mean == [float(i) for i in range(11)]
            assert await store.hosts() == {"h1": base + 10}
