"""The window store against a real Redis, a Valkey Cluster and Sentinel (each test runs on
all three): writes, reads at each resolution, rollups."""

from __future__ import annotations

import math
import time

import pytest
from redis.asyncio.cluster import ClusterNode, RedisCluster

from tests.storage_topologies import flushed
from vitals_core import keys
from vitals_gateway.storage import chunkcodec, sealing, windows
from vitals_gateway.storage.redisconn import RedisClient, connect
from vitals_gateway.storage.redisio import as_bytes
from vitals_gateway.storage.store import WindowStore, Write
from vitals_gateway.storage.windows import HOUR, MINUTE, RAW, TEN_MINUTES, Agg
from vitals_servers.valkeycluster import ValkeyCluster


def sample(host: str, ts: float, **values: float) -> Write:
    return Write(
        host=host,
        ts=ts,
        ts_field="metrics",
        latest_key=keys.latest(host),
        latest_field="",
        doc=b'{"ts":%d}' % int(ts),
        names=list(values),
        values=list(values.values()),
    )


async def roll_all(store: WindowStore, now: float) -> int:
    """Run the roller until nothing is due at `now`."""
    total = 0
    while members := await store.claim(now, limit=500):
        total += await store.roll(members, now)
    return total


async def stored(store: WindowStore, key: str) -> bytes:
    return as_bytes(await store.redis.get(key) or b"")


@pytest.fixture
async def store(topology_redis: RedisClient) -> WindowStore:
    s = WindowStore(topology_redis, max_series_per_host=5)
    await s.load()
    return s


@pytest.fixture
def now() -> float:
    # Redis expires the chunks on its own clock, so the test's "now" is the real one.
    return float(int(time.time()))


async def test_raw_points_are_read_back_exactly(store: WindowStore, now: float) -> None:
    redis = store.redis
    base = now - 600
    await store.write([sample("h1", base + i, cpu=float(i)) for i in range(0, 30, 2)], now=now)
    window = await store.query("h1", "cpu", base, base + 9, now=now)
    assert window.resolution is RAW
    assert window.points.t == [int(base) + i for i in (0, 2, 4, 6, 8)]
    assert window.points.mean == [0.0, 2.0, 4.0, 6.0, 8.0]
    # The chunk key has the documented name, a full fixed size and an expiry.
    key = keys.series_chunk("h1", "raw", "cpu", RAW.chunk_of(base))
    assert await redis.strlen(key) == RAW.chunk_bytes
    assert await redis.expiretime(key) == RAW.expire_at(RAW.chunk_of(base))
    assert await store.series_names("h1") == ["cpu"]
    assert await store.latest("h1") == b'{"ts":%d}' % int(base + 28)


async def test_rollups_match_the_hand_table_and_duplicates_do_not_count_twice(
    store: WindowStore,
    now: float,
) -> None:
    # Two whole minutes of samples every 20 s, with the hand-computed rollups:
    # minute A: 1, 2, 3   -> count 3, min 1, max 3, mean 2, last 3
    # minute B: 10, -, 20 -> count 2, min 10, max 20, mean 15, last 20
    a = TEN_MINUTES.bucket(now - 1800)  # minutes A and B share their 10 minutes and hour
    b = a + 60
    writes = [
        sample("h1", a + 0, x=1.0),
        sample("h1", a + 20, x=2.0),
        sample("h1", a + 40, x=3.0),
        sample("h1", b + 0, x=10.0),
        sample("h1", b + 40, x=20.0),
    ]
    await store.write(writes, now=now)
    await store.write(writes[:3], now=now)  # redelivered
    assert await roll_all(store, now) == 0  # due only after the grace period
    assert await roll_all(store, now + MINUTE.grace) > 0
    window = await store.query("h1", "x", a, b + 59, step=60, now=now)
    assert window.resolution is MINUTE
    got = [(t, agg) for t, agg in window.points.aggs()]
    assert got == [(a, Agg(3, 1.0, 3.0, 2.0, 3.0)), (b, Agg(2, 10.0, 20.0, 15.0, 20.0))]
    # Rolling again (another replica, a retry) changes nothing.
    await store.write(writes[3:], now=now)
    await roll_all(store, now + 120)
    again = await store.query("h1", "x", a, b + 59, step=60, now=now)
    assert again.points.aggs() == got

    # The ten minutes holding both: count 5, min 1, max 20, mean (6 + 30) / 5 = 7.2, last 20.
    await roll_all(store, now + 700)
    ten = await store.query("h1", "x", a, a + 1, step=600, now=now + 700)
    assert ten.resolution is TEN_MINUTES
    [(t, agg)] = ten.points.aggs()
    assert t == TEN_MINUTES.bucket(a)
    assert agg._replace(mean=round(agg.mean, 5)) == Agg(5, 1.0, 20.0, 7.2, 20.0)

    # And the hour, once it has ended: the same five samples.
    await roll_all(store, now + 7300)
    hour = await store.query("h1", "x", a, a + 1, step=3600, now=now + 7300)
    assert hour.resolution is HOUR
    [(t, agg)] = hour.points.aggs()
    assert t == HOUR.bucket(a)
    assert agg._replace(mean=round(agg.mean, 5)) == Agg(5, 1.0, 20.0, 7.2, 20.0)


async def test_a_late_point_reopens_its_rolled_minute(store: WindowStore, now: float) -> None:
    m = MINUTE.bucket(now - 900)
    await store.write([sample("h1", m + 1, y=4.0)], now=now)
    await roll_all(store, now + 10)
    first = await store.query("h1", "y", m, m + 59, step=60, now=now + 10)
    assert first.points.aggs() == [(m, Agg(1, 4.0, 4.0, 4.0, 4.0))]
    await store.write([sample("h1", m + 2, y=8.0)], now=now + 30)
    early = await store.claim(now + 30)
    assert not [m for m in early if m.startswith("1m|")]  # not due before its grace period
    await store.roll(early, now + 30)
    await roll_all(store, now + 60)
    window = await store.query("h1", "y", m, m + 59, step=60, now=now + 60)
    assert window.points.aggs() == [(m, Agg(2, 4.0, 8.0, 6.0, 8.0))]


async def test_series_are_indexed_by_their_exact_names(store: WindowStore, now: float) -> None:
    # The ingest script takes each name back out of its chunk key, counting bytes: a host
    # name of several bytes per character and names full of separators must survive it.
    host, ts = "hôst-ünïcode.example", now - 100
    names = {"disk.percent{mount=/var/lib:x}": 1.0, "a:b:c": 2.0, "n{k=v,w=x}": 3.0, "z": 4.0}
    result = await store.write([sample(host, ts, **names)], now=now)
    assert (result.written, result.series_dropped) == (1, 0)
    assert sorted(await store.series_names(host)) == sorted(names)
    windows_ = await store.query_many(host, list(names), ts, ts + 1, now=now)
    assert {n: w.points.mean for n, w in windows_.items()} == {n: [v] for n, v in names.items()}


async def test_a_cluster_write_sent_by_a_stale_map_of_the_slots_still_lands(
    valkey_cluster: ValkeyCluster, monkeypatch: pytest.MonkeyPatch, now: float
) -> None:
    # Scripts go to the node their first key names; when that node no longer holds the
    # slot it answers MOVED, and the write must still land where the keys live.
    redis = connect(await flushed(valkey_cluster.url))
    try:
        store = WindowStore(redis)
        await store.load()
        assert isinstance(redis, RedisCluster)
        host = "h-moved"
        right = redis.get_node_from_key(keys.latest(host))
        assert right is not None
        wrong = next(n for n in redis.get_primaries() if n.name != right.name)

        asked: list[str] = []

        def stale(self: RedisCluster, key: str, replica: bool = False) -> ClusterNode:
            asked.append(key)
            return wrong

        monkeypatch.setattr(RedisCluster, "get_node_from_key", stale)
        result = await store.write([sample(host, now - 10, cpu=42.0)], now=now)
        monkeypatch.undo()
        assert keys.latest_ts(host) in asked  # the write was sent to the wrong node first
        assert (result.written, result.failed, result.errors) == (1, 0, [])
        window = await store.query(host, "cpu", now - 10, now - 9, now=now)
        assert window.points.mean == [42.0]
        assert await store.last_seen(host) == now - 10
    finally:
        await redis.aclose()


async def test_a_host_cannot_grow_past_its_series_cap(store: WindowStore, now: float) -> None:
    ts = now - 100
    result = await store.write([sample("h1", ts, **{f"s{i}": 1.0 for i in range(8)})], now=now)
    assert result.series_dropped == 3
    assert len(await store.series_names("h1")) == 5


async def test_query_reads_only_the_slots_it_returns(store: WindowStore, now: float) -> None:
    base = RAW.chunk_of(now - 1800)
    await store.write([sample("h2", base + i, z=float(i)) for i in range(600)], now=now)
    spans = windows.spans(RAW, base + 10, base + 19)
    assert [s.length for s in spans] == [10 * 4]
    window = await store.query("h2", "z", base + 10, base + 19, now=now)
    assert window.points.mean == [float(i) for i in range(10, 20)]
    await roll_all(store, now + 10)
    many = await store.query_many("h2", ["z", "missing"], base, base + 599, step=60, now=now)
    assert many["missing"].points.t == []
    assert many["z"].points.count == [60] * 10
    assert math.isclose(many["z"].points.mean[0], 29.5)


async def test_sealed_chunks_answer_the_same_and_writes_unseal_them(
    store: WindowStore, now: float
) -> None:
    # Three minutes of history, 4 hours ago.
    first = MINUTE.chunk_of(now - 4 * 3600)
    minutes = [first + 60 * i for i in range(3)]
    rows = [(m, {"cpu": Agg(2, i, i + 30, i + 15, i + 30)}) for i, m in enumerate(minutes)]
    assert await store.write_rollups("h1", MINUTE, rows) == 3
    before = await store.query("h1", "cpu", first, first + 179, step=60, now=now)
    assert before.points.count == [2, 2, 2]

    # Once nothing can change it (and a while after it was written), the roller seals the
    # chunk: stored smaller, same answers.
    key = keys.series_chunk("h1", MINUTE.name, "cpu", first)
    plain = await store.redis.strlen(key)
    await roll_all(store, now + sealing.SLACK_S - 60)
    assert not chunkcodec.is_sealed(await stored(store, key))
    await roll_all(store, now + sealing.SLACK_S + 60)
    sealed = await stored(store, key)
    assert chunkcodec.is_sealed(sealed)
    assert len(sealed) < plain / 10
    assert await store.redis.ttl(key) > 0  # the expiry is kept
    later = now + sealing.SLACK_S + 60
    after = await store.query("h1", "cpu", first, first + 179, step=60, now=later)
    assert after.points.aggs() == before.points.aggs()

    # History written into a sealed chunk: unsealed, written, and sealed again later.
    assert await store.write_rollups("h1", MINUTE, [(minutes[2], {"cpu": Agg(1, 7, 7, 7, 7)})])
    assert not chunkcodec.is_sealed(await stored(store, key))
    unsealed = await store.query("h1", "cpu", first, first + 179, step=60, now=later)
    await roll_all(store, later + 3 * 3600)
    assert chunkcodec.is_sealed(await stored(store, key))
    final = await store.query("h1", "cpu", first, first + 179, step=60, now=later)
    assert final.points.aggs() == [*before.points.aggs()[:2], (minutes[2], Agg(1, 7, 7, 7, 7))]
    assert unsealed.points.aggs() == final.points.aggs()


async def test_raw_chunks_are_sealed_ten_minutes_after_they_end_and_late_points_unseal_them(
    store: WindowStore, now: float
) -> None:
    base = RAW.chunk_of(now - 1800)
    await store.write([sample("h1", base + i, cpu=float(i % 7)) for i in range(0, 600, 5)], now)
    before = await store.query("h1", "cpu", base, base + 599, now=now)
    assert before.points.t == list(range(int(base), int(base) + 600, 5))
    key = keys.series_chunk("h1", RAW.name, "cpu", base)
    # Rolling its minutes schedules the raw chunk's sealing, a while later.
    await roll_all(store, now + 60)
    assert not chunkcodec.is_sealed(await stored(store, key))
    await roll_all(store, now + 60 + sealing.SLACK_S)
    sealed = await stored(store, key)
    assert chunkcodec.is_sealed(sealed)
    assert len(sealed) < RAW.chunk_bytes / 5
    assert (await store.query("h1", "cpu", base, base + 599, now=now)).points == before.points
    # An agent's backlog reaches the sealed chunk: unsealed and written.
    result = await store.write([sample("h1", base + 1, cpu=50.0)], now)
    assert (result.written, result.failed) == (1, 0)
    after = await store.query("h1", "cpu", base, base + 9, now=now)
    assert after.points.t == [base, base + 1, base + 5]
    assert after.points.mean == [0.0, 50.0, 5.0]


async def test_a_bucket_rolled_into_a_sealed_chunk_is_rolled_again(
    store: WindowStore, now: float
) -> None:
    m = MINUTE.bucket(now - 900)
    await store.write([sample("h1", m + 1, y=4.0)], now=now)
    await roll_all(store, now + 10)
    # Sealed early (as if the roller had fallen hours behind), then a late point arrives.
    await store.roll([sealing.member(MINUTE, MINUTE.chunk_of(m), "h1")], now)
    key = keys.series_chunk("h1", MINUTE.name, "y", MINUTE.chunk_of(m))
    assert chunkcodec.is_sealed(await stored(store, key))
    await store.write([sample("h1", m + 2, y=8.0)], now=now + 30)
    await roll_all(store, now + 60)
    window = await store.query("h1", "y", m, m + 59, step=60, now=now + 60)
    assert window.points.aggs() == [(m, Agg(2, 4.0, 8.0, 6.0, 8.0))]
