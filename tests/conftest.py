"""Fixtures shared by every test: real servers on free ports, cleaned between tests."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path

import nats
import pytest
from nats.js import JetStreamContext
from redis.asyncio import Redis

from tests import servers
from tests.clusters import cluster_url, nats_cluster  # noqa: F401 (fixtures for every test)
from tests.helpers import Processes
from tests.storage_topologies import (  # noqa: F401  (fixtures)
    topology_redis,
    topology_url,
    valkey_cluster,
    valkey_sentinel,
)

REPO = Path(__file__).resolve().parents[1]
# Recorded on a real H100 host (see its README); part of the repository so any clone runs them.
FIXTURES = REPO / "tests" / "fixtures" / "gpu-host-h100"


@pytest.fixture(scope="session")
def h100_fixtures() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Server]:
    with servers.nats_server(tmp_path_factory.mktemp("nats")) as server:
        yield server


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Server]:
    with servers.redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
async def nats_url(nats_server: servers.Server) -> str:
    """The session's NATS, with every stream and KV bucket removed before the test."""
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    for name in [s.config.name for s in await js.streams_info()]:
        if name is not None:
            await js.delete_stream(name)
    await nc.close()
    return nats_server.url


@pytest.fixture
async def redis_url(redis_server: servers.Server) -> str:
    """The session's Redis, flushed before the test."""
    client = Redis.from_url(redis_server.url)
    await client.flushall()
    await client.aclose()
    return redis_server.url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def service_env(nats_url: str, redis_url: str, tmp_path: Path) -> dict[str, str]:
    """Environment for a service process: the test servers, a private data dir, no config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITALS_")}
    env.update(
        VITALS_NATS_URL=nats_url,
        VITALS_REDIS_URL=redis_url,
        VITALS_DATA_DIR=str(tmp_path / "data"),
        VITALS_CONFIG=str(tmp_path / "vitals.toml"),
        PYTHONUNBUFFERED="1",
    )
    (tmp_path / "vitals.toml").write_text("")
    return env


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the test, for fixtures that explain a failure."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def processes(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Processes]:
    procs = Processes(tmp_path)
    yield procs
    procs.stop_all()
    call = getattr(request.node, "report_call", None)
    if call is not None and call.failed:
        print(procs.tails())  # shown under the failure, as captured teardown output


@pytest.fixture
async def nats_streams(nats_url: str) -> str:
    """The session's NATS with the streams in place: the services create them, agents never."""
    from vitals_core import bus

    nc = await nats.connect(nats_url)
    await bus.ensure_streams(nc.jetstream())
    await nc.close()
    return nats_url


@pytest.fixture
async def js(nats_streams: str) -> AsyncIterator[JetStreamContext]:
    """A JetStream context on the session's NATS, the streams in place."""
    nc = await nats.connect(nats_streams)
    yield nc.jetstream()
    await nc.close()
