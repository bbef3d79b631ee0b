"""A whole fleet on a 3-node NATS cluster (every stream and bucket R3) survives kill -9 of any
one part: each NATS node in turn, then each alerter replica, then each notifier replica.

3 agents at 1 s, 2 alerters, 2 notifiers (webhooks to a real HTTP receiver), 2 gateways.
After each kill every host is made to fail its HTTP check, so `check_failed` must fire for
every host (and be delivered) while the killed part is away; then the part comes back and
the hosts recover. Shortened to keep the suite fast: a node stays down KILL_S (10 s, not the
issue's 30 s: an election is over within about 10 s, a longer outage only adds buffered
samples; `VITALS_TEST_FLEET_KILL_S=30` runs the issue's timing), and the leases are LEASE
(2 s, not 5 s). The scenario runs once for the module;
each test checks one promise about it and prints what it measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import nats
import pytest
from redis.asyncio import Redis

from tests import servers
from tests.fleet import RULE, Fleet, assert_every_sample_once, delivered
from tests.helpers import eventually
from tests.integration.notifier_support import Request
from vitals_alerter.partition import PARTITIONS, partition_of
from vitals_core import subjects
from vitals_core.events import AlertEvent, MetricSample
from vitals_gateway.storage.store import WindowStore
from vitals_notifier.shares import PARTITIONS as NOTIFIER_PARTITIONS
from vitals_servers import NatsCluster

HOSTS = ["fleet-host-1", "fleet-host-2", "fleet-host-3"]
KILL_S = float(os.environ.get("VITALS_TEST_FLEET_KILL_S", "10"))
LEASE = 2.0

# How long a step may take before the test fails: generous, the machine may be loaded.
SLACK = 30.0

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]


@dataclass
class Phase:
    killed: str
    at: float
    fired_s: dict[str, float]  # host -> seconds from the kill to its `firing` read
    victims: set[str] = field(default_factory=set)  # hosts of the killed replica's partitions
    takeover_s: float = math.nan  # until every partition of the killed replica has a live owner


@dataclass
class Run:
    started: float
    ended: float
    phases: list[Phase]
    stored: dict[str, list[MetricSample]]
    not_in_window: dict[str, list[int]]
    alerts: list[AlertEvent]
    deliveries: list[Request]


async def not_in_window(windows: WindowStore, host: str, wanted: set[int]) -> set[int]:
    """The seconds in `wanted` that have no point in the host's raw window."""
    window = await windows.query(host, "cpu.percent", min(wanted), max(wanted) + 1, step=1)
    points = zip(window.points.t, window.points.mean, strict=True)
    return wanted - {t for t, v in points if not math.isnan(v)}


async def kill_replicas(fleet: Fleet, service: str, bucket: str, partitions: int) -> list[Phase]:
    phases = []
    for name in (f"{service}-a", f"{service}-b"):
        owners = await fleet.shared(bucket, partitions, SLACK + 30)
        dead = fleet.replica_of(name)
        mine = {p for p, owner in owners.items() if owner == dead}
        assert mine, (name, dead, owners)
        at = time.time()
        fleet.kill(name)
        takeover = asyncio.create_task(
            asyncio.wait_for(fleet.taken_over(bucket, partitions, dead, at), 2 * LEASE + SLACK)
        )
        fired = await fleet.cross(set(HOSTS), timeout=2 * LEASE + SLACK)
        fired = {h: t - at for h, t in fired.items()}
        victims = {h for h in HOSTS if partition_of(h) in mine} if service == "alerter" else set()
        phases.append(Phase(name, at, fired, victims, await takeover))
        fleet.start(name)
        await fleet.clear(timeout=SLACK)
    return phases


@pytest.fixture(scope="module")
async def run(
    nats_cluster: NatsCluster,
    redis_server: servers.Server,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Run]:
    tmp = tmp_path_factory.mktemp("fleet")
    for index, node in enumerate(nats_cluster.nodes):
        if not node.running:
            nats_cluster.restart(index)
    nats_cluster.wait_ready()
    url = nats_cluster.url
    nc = await nats.connect(url.split(","))
    js = nc.jetstream(timeout=10.0)
    for info in await js.streams_info():
        await js.delete_stream(str(info.config.name))
    await nc.close()
    redis = Redis.from_url(redis_server.url)
    await redis.flushall()

    replicas = {"gateway": 2, "alerter": 2, "notifier": 2}
    try:
        async with Fleet(url, redis_server.url, tmp, HOSTS, replicas, LEASE) as fleet:
            await fleet.wait_all_publishing()
            await fleet.shared(subjects.KV_ALERTER_LEASES, PARTITIONS, SLACK + 30)
            await fleet.shared(subjects.KV_NOTIFIER_LEASES, NOTIFIER_PARTITIONS, SLACK + 30)
            started = time.time()
            # Once with everything up: the rule fires and resolves for every host.
            fired = await fleet.cross(set(HOSTS), timeout=SLACK)
            phases = [Phase("nothing", started, {h: t - started for h, t in fired.items()})]
            await fleet.clear(timeout=SLACK)

            for index, node in enumerate(nats_cluster.nodes):
                at = time.time()
                nats_cluster.kill(index)
                fired = await fleet.cross(set(HOSTS), timeout=KILL_S + SLACK)
                fired = {h: t - at for h, t in fired.items()}
                phases.append(Phase(f"nats {node.server_name}", at, fired))
                await asyncio.sleep(max(0.0, at + KILL_S - time.time()))
                await asyncio.to_thread(nats_cluster.restart, index)
                await fleet.clear(timeout=SLACK)

            phases += await kill_replicas(fleet, "alerter", subjects.KV_ALERTER_LEASES, PARTITIONS)
            phases += await kill_replicas(
                fleet, "notifier", subjects.KV_NOTIFIER_LEASES, NOTIFIER_PARTITIONS
            )
            ended = time.time()

            async def caught_up() -> dict[str, list[MetricSample]] | None:
                fleet.check_alive()
                got = await fleet.samples()
                return got if all(s and s[-1].ts > ended + 2 for s in got.values()) else None

            stored = await eventually(caught_up, timeout=SLACK + 10, interval=0.5)
            assert isinstance(stored, dict)
            windows = WindowStore(redis)
            missing: dict[str, list[int]] = {}
            for host, samples in stored.items():
                left = {int(s.ts) for s in samples if s.ts <= ended + 2}
                deadline = time.monotonic() + SLACK
                while left and time.monotonic() < deadline:
                    left = await not_in_window(windows, host, left)
                    await asyncio.sleep(0.5)
                missing[host] = sorted(left)

            async def all_delivered() -> list[AlertEvent] | None:
                alerts = await fleet.alert_events()
                got = fleet.deliveries()
                return alerts if all(delivered(got, e) is not None for e in alerts) else None

            # Not a failure here: the test on deliveries names what is missing.
            with contextlib.suppress(AssertionError):
                await eventually(all_delivered, timeout=SLACK, interval=0.5)
            alerts = await fleet.alert_events()
            yield Run(started, ended, phases, stored, missing, alerts, fleet.deliveries())
    finally:
        await redis.aclose()


def test_alerting_resumes_after_every_kill(run: Run) -> None:
    for phase in run.phases:
        # The fixture waited (within the lease and a margin) for every host's `firing`.
        assert set(phase.fired_s) == set(HOSTS), phase.killed
        taken = (
            ""
            if math.isnan(phase.takeover_s)
            else f", partitions owned again {phase.takeover_s:.1f}s"
        )
        fired = ", ".join(f"{h} {s:.1f}s" for h, s in sorted(phase.fired_s.items()))
        victims = f", its hosts {sorted(phase.victims)}" if phase.victims else ""
        print(f"killed {phase.killed}{taken}{victims}; firing read after the kill: {fired}")
    replicas = [p for p in run.phases if p.killed.startswith(("alerter", "notifier"))]
    assert len(replicas) == 4
    assert all(not math.isnan(p.takeover_s) for p in replicas)


def test_no_sample_is_lost_or_stored_twice(run: Run) -> None:
    assert_every_sample_once(run.stored, run.started, run.ended)


def test_the_gateways_hold_every_sample_in_their_raw_window(run: Run) -> None:
    assert run.not_in_window == {host: [] for host in HOSTS}


def test_no_host_that_was_publishing_is_called_down(run: Run) -> None:
    down = [(e.host, e.event, round(e.ts - run.started, 1)) for e in run.alerts
            if e.rule == "host_down"]  # fmt: skip
    assert down == [], [(p.killed, round(p.at - run.started, 1)) for p in run.phases]


def test_no_alert_fires_twice(run: Run) -> None:
    for host in HOSTS:
        kinds = [e.event for e in run.alerts if e.rule == RULE and e.host == host]
        # One firing and one resolved per phase, alternating: a replay repeats no event.
        assert kinds[:2] == ["firing", "resolved"], (host, kinds)
        assert all(a != b for a, b in itertools.pairwise(kinds)), (host, kinds)
        assert kinds.count("firing") >= len(run.phases), (host, kinds)


def test_every_notification_is_delivered_and_duplicates_keep_their_id(run: Run) -> None:
    missing = [(e.host, e.rule, e.event) for e in run.alerts
               if delivered(run.deliveries, e) is None]  # fmt: skip
    assert missing == []
    bodies: dict[str, set[bytes]] = {}
    ids_of: dict[str, set[str]] = {}
    for r in run.deliveries:
        bodies.setdefault(r.headers["webhook-id"], set()).add(r.body)
        for item in r.json()["events"]:
            ids_of.setdefault(item["id"], set()).add(r.headers["webhook-id"])
    # A resent notification has the same id and the same bytes; no event under two ids.
    assert all(len(b) == 1 for b in bodies.values())
    assert {e: ids for e, ids in ids_of.items() if len(ids) > 1} == {}
    repeats = len(run.deliveries) - len(bodies)
    print(f"{len(run.deliveries)} deliveries, {len(bodies)} webhook-ids, {repeats} repeats")
