"""NATS failover and telemetry stream sizing.

1. Sizing, on one real nats-server: 20 simulated H100 hosts (tests/fleetsamples.py, built from
   the recorded host) publish 300 s of 1 s samples into the telemetry stream as configured
   today (S2, the cap derived from `[nats]`) and, beside it in the same run, into the stream
   as it was before (no compression, a fixed 2 GiB cap). Printed: stored bytes per sample
   (what JetStream's cap counts), bytes on disk per sample (full blocks only: a block is
   compressed once it is full), and the hours each cap holds at 1,000 hosts x 1 s.
2. Failover, on a 3-node cluster: a gateway, an alerter and 3 agents at 1 s. Each node is
   killed (-9) for KILL_S s, the telemetry stream's leader first. Per kill: the time from the
   kill to the gateway storing the first sample taken after it (ingest resumed), samples lost,
   samples stored twice, and host_down alerts (all false: every agent keeps publishing).
   Beside it, in the same run, the baseline: replicas = 1, the node holding the stream killed.

3. Replica takeover, on a 3-node cluster (R3): 3 agents at 1 s (one HTTP check each), a
   gateway, 2 alerters and 2 notifiers with the default lease (5 s; target: a dead replica's
   partitions evaluated again within 2 x the lease). Each alerter, then each notifier, is
   killed (-9); at the kill every host starts failing its check. Per kill: until every
   partition of the dead replica has a live owner again (from the lease bucket); until the
   dead replica's hosts' `firing` is read from the alert stream (alerter: its partitions
   evaluated again) or until every host's `firing` is delivered to the webhook (notifier);
   samples lost and false `host_down` alerts. Then the replica is started again.

`VITALS_BENCH_KILL_S` (default 10) sets how long a node stays down; `VITALS_BENCH_LEASE`
(default 5) the replicas' lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
import nats
from redis.asyncio import Redis

from tests.fleet import Fleet, delivered, stream_events
from tests.fleetsamples import H100Host
from tests.helpers import Processes, eventually
from vitals_alerter.partition import PARTITIONS, partition_of
from vitals_core import bus, streams, subjects
from vitals_core.events import AlertEvent, MetricSample
from vitals_core.settings import NatsSettings
from vitals_gateway.storage.store import WindowStore
from vitals_notifier.shares import PARTITIONS as NOTIFIER_PARTITIONS
from vitals_servers import NatsCluster, NatsServer, RedisServer, free_port

KILL_S = float(os.environ.get("VITALS_BENCH_KILL_S", "10"))
LEASE = float(os.environ.get("VITALS_BENCH_LEASE", "5"))
SIZING_HOSTS, SIZING_SECONDS = 20, 300
FLEET, PER_HOUR = 1000, 3600  # the promise: 1,000 hosts at 1 s
HOSTS = ["bench-host-1", "bench-host-2", "bench-host-3"]
OLD_CAP = 2 << 30


# --- 1. sizing ------------------------------------------------------------------------------


def blocks(store: Path, stream: str) -> list[int]:
    """Sizes on disk of the stream's message blocks, oldest first (the last is being written)."""
    found = [p for p in store.rglob("*.blk") if f"/streams/{stream}/" in p.as_posix()]
    found.sort(key=lambda p: int(p.stem))
    return [p.stat().st_size for p in found]


async def publish_fleet(root: Path, nats_settings: NatsSettings) -> tuple[float, list[int]]:
    """Stored bytes per sample and the block sizes, the stream created as configured."""
    with NatsServer(root) as server:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await bus.ensure_streams(js, nats_settings)
        hosts = [H100Host(f"gpu-worker-{i:04d}") for i in range(SIZING_HOSTS)]
        for second in range(SIZING_SECONDS):
            await asyncio.gather(
                *(
                    js.publish(
                        subjects.metrics(h.host),
                        msgspec.json.encode(h.next(1_800_000_000.0 + second)),
                        headers={"Nats-Msg-Id": f"{h.host}.{h.seq}"},
                    )
                    for h in hosts
                )
            )
        info = await js.stream_info(subjects.STREAM_TELEMETRY)
        await nc.close()
    return info.state.bytes / info.state.messages, blocks(root, subjects.STREAM_TELEMETRY)


async def sizing() -> dict[str, tuple[float, float, int]]:
    """name -> (stored B/sample, disk B/sample, cap)."""
    with tempfile.TemporaryDirectory(prefix="vitals-bench-size-") as tmp:
        before = NatsSettings(compression="none", telemetry_max_bytes=OLD_CAP)
        stored, plain = await publish_fleet(Path(tmp) / "before", before)
        now = NatsSettings()
        stored_now, compressed = await publish_fleet(Path(tmp) / "now", now)
    plain_disk = sum(plain) / (SIZING_HOSTS * SIZING_SECONDS)
    # Blocks fill by stored bytes, so the same samples fill the same full blocks; a block is
    # compressed once full, so the full ones give the steady state.
    full = min(len(plain), len(compressed)) - 1
    samples_in_full = sum(plain[:full]) / plain_disk
    s2_disk = sum(compressed[:full]) / samples_in_full
    big = NatsSettings(fleet_hosts=FLEET)
    return {
        "before (none, 2 GiB)": (stored, plain_disk, OLD_CAP),
        "now (s2, fleet_hosts=100)": (stored_now, s2_disk, streams.telemetry_max_bytes(now)),
        "now (s2, fleet_hosts=1000)": (stored_now, s2_disk, streams.telemetry_max_bytes(big)),
    }


# --- 2. failover ----------------------------------------------------------------------------


@dataclass
class Kill:
    node: str
    leader: bool
    at: float
    resumed_s: float = float("nan")
    lost: int = 0
    twice: int = 0
    false_alerts: int = 0


async def telemetry_leader(url: str) -> str:
    nc = await nats.connect(url.split(","))
    try:
        info = await nc.jetstream(timeout=10.0).stream_info(subjects.STREAM_TELEMETRY)
        assert info.cluster is not None
        return str(info.cluster.leader)
    finally:
        await nc.close()


async def resumed_after(windows: WindowStore, since: float, limit: float) -> float:
    """Seconds until every host has a sample taken after `since` stored by the gateway."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        seen = [await windows.last_seen(h) for h in HOSTS]
        if all(s is not None and s > since for s in seen):
            return time.time() - since
        await asyncio.sleep(0.05)
    return float("nan")


@contextlib.contextmanager
def fleet(url: str, redis_url: str, replicas: int, tmp: Path) -> Iterator[Processes]:
    (tmp / "vitals.toml").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITALS_")}
    env |= {
        "VITALS_NATS_URL": url,
        "VITALS_NATS_REPLICAS": str(replicas),
        "VITALS_REDIS_URL": redis_url,
        "VITALS_DATA_DIR": str(tmp / "data"),
        "VITALS_CONFIG": str(tmp / "vitals.toml"),
        "VITALS_HTTP_PORT": str(free_port()),
        "PYTHONUNBUFFERED": "1",
    }
    processes = Processes(tmp)
    try:
        processes.service("gateway", env)
        processes.service("alerter", env)
        for host in HOSTS:
            agent_env = env | {"VITALS_AGENT_HOST": host, "VITALS_AGENT_INTERVAL": "1"}
            processes.start(f"agent-{host}", [sys.executable, "-m", "vitals_agent"], agent_env)
        yield processes
    finally:
        processes.stop_all()


async def failover(replicas: int, tmp: Path) -> list[Kill]:
    with (
        NatsCluster(tmp / "nats", size=3) as cluster,
        RedisServer(tmp / "redis") as redis_server,
        fleet(cluster.url, redis_server.url, replicas, tmp),
    ):
        redis = Redis.from_url(redis_server.url)
        windows = WindowStore(redis)

        async def publishing() -> bool:
            seen = [await windows.last_seen(h) for h in HOSTS]
            return all(s is not None and s > time.time() - 2 for s in seen)

        await eventually(publishing, timeout=60, interval=0.5)
        await asyncio.sleep(3)
        names = [n.server_name for n in cluster.nodes]
        leader = await telemetry_leader(cluster.url)
        order = [names.index(leader)]
        if replicas > 1:
            order += [i for i in range(len(names)) if names[i] != leader]
        kills = []
        for index in order:
            kill = Kill(names[index], names[index] == leader, time.time())
            kills.append(kill)
            cluster.kill(index)
            resuming = asyncio.create_task(resumed_after(windows, kill.at, KILL_S + 60))
            await asyncio.sleep(KILL_S)
            await asyncio.to_thread(cluster.restart, index)
            kill.resumed_s = await resuming
            await asyncio.sleep(3)
        ended = time.time()

        async def caught_up() -> bool:
            seen = [await windows.last_seen(h) for h in HOSTS]
            return all(s is not None and s > ended for s in seen)

        await eventually(caught_up, timeout=60, interval=0.5)
        await redis.aclose()
        telemetry = await stream_events(cluster.url, subjects.STREAM_TELEMETRY)
        alerts = await stream_events(cluster.url, subjects.STREAM_EVENTS)

    samples = [e for e in telemetry if isinstance(e, MetricSample) and e.host in HOSTS]
    windows_of = [(k, k.at, k.at + KILL_S + 3) for k in kills]
    for host in HOSTS:
        mine = [s for s in samples if s.host == host]
        counts = Counter(s.seq for s in mine)
        top = max(counts, default=0)
        by_seq = {s.seq: s.ts for s in mine}
        for seq in range(1, top + 1):
            for kill, start, end in windows_of:
                # A missing sample is charged to the kill whose window its neighbours span.
                around = by_seq.get(seq - 1, by_seq.get(seq + 1, 0.0))
                if seq not in counts and start - 1 <= around <= end:
                    kill.lost += 1
        for seq, n in counts.items():
            for kill, start, end in windows_of:
                if n > 1 and start <= by_seq[seq] <= end:
                    kill.twice += n - 1
    for alert in alerts:
        if isinstance(alert, AlertEvent) and alert.rule == "host_down" and alert.event == "firing":
            for kill, start, end in windows_of:
                if start <= alert.ts <= end + 5:
                    kill.false_alerts += 1
    return kills


# --- 3. replica takeover --------------------------------------------------------------------


@dataclass
class Takeover:
    replica: str
    hosts: list[str]  # the hosts whose partitions it held (alerter)
    owned_s: float = float("nan")  # until its partitions have live owners again
    working_s: float = float("nan")  # until its hosts alert again, or the alerts are delivered
    lost: int = 0
    false_alerts: int = 0


def lost_between(samples: dict[str, list[MetricSample]], start: float, end: float) -> int:
    """Samples missing from the stream (gaps in each agent's numbering) around [start, end]."""
    lost = 0
    for mine in samples.values():
        seqs = sorted({s.seq for s in mine if start - 2 <= s.ts <= end + 2})
        if seqs:
            lost += seqs[-1] - seqs[0] + 1 - len(seqs)
    return lost


async def sent_after(fleet: Fleet, at: float) -> float:
    """Seconds from `at` until every host's `firing` since then has been delivered."""
    firing = [e for e in await fleet.alert_events()
              if e.event == "firing" and e.ts >= at and e.host in HOSTS]  # fmt: skip

    async def all_sent() -> list[float] | None:
        times = [delivered(fleet.deliveries(), e) for e in firing]
        return None if None in times else [t or 0.0 for t in times]

    sent = await eventually(all_sent, timeout=120, interval=0.2)
    assert isinstance(sent, list)
    return float(max(sent)) - at


async def takeovers(tmp: Path) -> list[Takeover]:
    replicas = {"gateway": 1, "alerter": 2, "notifier": 2}
    out: list[Takeover] = []
    with (
        NatsCluster(tmp / "nats", size=3) as cluster,
        RedisServer(tmp / "redis") as redis_server,
    ):
        async with Fleet(cluster.url, redis_server.url, tmp, HOSTS, replicas, LEASE) as fleet:
            await fleet.wait_all_publishing()
            for service, bucket, partitions in (
                ("alerter", subjects.KV_ALERTER_LEASES, PARTITIONS),
                ("notifier", subjects.KV_NOTIFIER_LEASES, NOTIFIER_PARTITIONS),
            ):
                for name in (f"{service}-a", f"{service}-b"):
                    owners = await fleet.shared(bucket, partitions, 120)
                    await asyncio.sleep(2)  # past the rebalance
                    dead = fleet.replica_of(name)
                    mine = {p for p, owner in owners.items() if owner == dead}
                    victims = sorted(h for h in HOSTS if partition_of(h) in mine)
                    row = Takeover(name, victims if service == "alerter" else [])
                    at = time.time()
                    fleet.kill(name)
                    owned = asyncio.create_task(fleet.taken_over(bucket, partitions, dead, at))
                    fired = await fleet.cross(set(HOSTS), timeout=120)
                    row.owned_s = await asyncio.wait_for(owned, 120)
                    if service == "alerter":
                        waited = [fired[h] - at for h in victims]
                        row.working_s = max(waited) if waited else float("nan")
                    else:
                        row.working_s = await sent_after(fleet, at)
                    fleet.start(name)
                    await fleet.clear(timeout=120)
                    ended = time.time()
                    row.lost = lost_between(await fleet.samples(), at, ended)
                    row.false_alerts = sum(
                        1 for e in await fleet.alert_events()
                        if e.rule == "host_down" and e.event == "firing" and at <= e.ts <= ended
                    )  # fmt: skip
                    out.append(row)
    return out


# --- the report -----------------------------------------------------------------------------


def hours(cap: int, stored: float) -> float:
    return cap / (stored * FLEET * PER_HOUR)


async def main() -> None:
    print("telemetry stream sizing (20 recorded-H100 hosts x 300 s, one nats-server)")
    print(f"  {'stream':<28} {'stored B/sample':>16} {'disk B/sample':>14} {'cap':>9} "
          f"{'held at 1,000 x 1 s':>20} {'disk at cap':>12}")  # fmt: skip
    for name, (stored, disk, cap) in (await sizing()).items():
        held = hours(cap, stored)
        on_disk = cap / stored * disk
        print(f"  {name:<28} {stored:>16,.0f} {disk:>14,.0f} {cap / 2**30:>7.1f}Gi "
              f"{held * 60:>14.1f} min {on_disk / 2**30:>10.1f}Gi")  # fmt: skip

    print(f"\nNATS node killed (-9) for {KILL_S:.0f} s; 3 agents at 1 s, a gateway, an alerter")
    print(f"  {'run':<28} {'node':>5} {'ingest resumed':>15} {'lost':>5} {'twice':>6} "
          f"{'false host_down':>16}")  # fmt: skip
    for replicas, label in ((1, "before: replicas = 1"), (3, "now: replicas = 3")):
        with tempfile.TemporaryDirectory(prefix="vitals-bench-failover-") as tmp:
            for k in await failover(replicas, Path(tmp)):
                node = f"{k.node}{'*' if k.leader else ''}"
                print(f"  {label:<28} {node:>5} {k.resumed_s:>13.1f} s {k.lost:>5} "
                      f"{k.twice:>6} {k.false_alerts:>16}")  # fmt: skip
    print("  (* the telemetry stream's leader when killed)")

    print(f"\nreplica killed (-9), lease {LEASE:.0f} s, target <= {2 * LEASE:.0f} s "
          "(2 x the lease); 3-node cluster, R3; 3 agents at 1 s, "
          "failing their check from the kill")  # fmt: skip
    print(f"  {'replica':<12} {'its hosts':>10} {'partitions owned again':>23} "
          f"{'alerting again / delivered':>27} {'target':>7} {'lost':>5} "
          f"{'false host_down':>16}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="vitals-bench-takeover-") as tmp:
        for t in await takeovers(Path(tmp)):
            print(f"  {t.replica:<12} {len(t.hosts):>10} {t.owned_s:>21.1f} s "
                  f"{t.working_s:>25.1f} s {2 * LEASE:>5.0f} s {t.lost:>5} "
                  f"{t.false_alerts:>16}")  # fmt: skip
    print(
        "  (alerter: until its hosts' `firing` is read; notifier: until every host's `firing`"
        " is delivered)"
    )


if __name__ == "__main__":
    asyncio.run(main())
