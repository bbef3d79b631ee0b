"""`make bench-gateway`: N simulated hosts publish full samples every second through real
NATS into a real gateway process and Redis; prints ingest rate, consumer lag, Redis memory
(per point and per series at full retention, today's layout beside the one before sealing,
both built in the same run), API latencies beside a bare Redis read of the same points, and
publish-to-websocket delay. Then the same ingest and history queries against a 3-primary
Valkey Cluster, printed beside the single server's.

Environment: BENCH_HOSTS (1000), BENCH_SECONDS (45, measured after BENCH_WARMUP 10),
BENCH_PUBLISHERS (2 processes), BENCH_WS_CLIENTS (100), BENCH_CLUSTER_SECONDS (20; 0 skips
the cluster run). Everything runs on this machine: the figures include the publishers' and
clients' share of its CPUs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec
import nats
from redis.asyncio import BlockingConnectionPool, Redis

from bench.memory import measure
from bench.memory import report as memory_report
from vitals_core import events, keys, series
from vitals_gateway.storage import windows
from vitals_gateway.storage.redisconn import RedisClient, connect
from vitals_gateway.storage.store import WindowStore, Write
from vitals_servers import NatsServer, RedisServer, free_port
from vitals_servers.valkeycluster import ValkeyCluster

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "gpu-host-h100"
PASSWORD = "bench-admin-password"  # noqa: S105 - the benchmark's throwaway admin
QUERY_HOSTS = 50  # hosts given an hour of raw points and a day of minutes before the run
WRITE_ROUNDS = 7  # timed writes of 200 samples per way of writing (the median is shown)


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


# --- the simulated hosts --------------------------------------------------------------------


def template(host: str) -> events.MetricSample:
    """A full sample shaped like the recorded 16-core H100 host."""
    p = json.loads((FIXTURE / "nvml-psutil-loaded.json").read_text())["psutil"]
    cores, nics = len(p["cpu_percent_percpu"]), p["net_pernic_keys"]
    devices, mounts = len(p["diskio_perdisk_keys"]), [m["mountpoint"] for m in p["partitions"]]
    return events.MetricSample(
        ts=0.0,
        host=host,
        seq=0,
        interval=1.0,
        cpu=events.Cpu(
            percent=10.0,
            user=6.0,
            system=3.0,
            cores=[events.CpuCore(percent=10.0) for _ in range(cores)],
            load1=0.5,
            load5=0.4,
            load15=0.3,
            count=cores,
        ),
        memory=events.Memory(
            total=135148564480, used=1080786944, available=134067777536, percent=0.8
        ),
        swap=events.Swap(),
        disks=[
            events.DiskUsage(mount=m, total=10**12, used=4 * 10**11, free=6 * 10**11, percent=40.0)
            for m in mounts
        ],
        disk_io=[
            events.DiskIO(device=f"vd{i}", read_bytes_per_s=1e3, write_bytes_per_s=2e3)
            for i in range(devices)
        ],
        net=[events.NetIO(interface=n, rx_bytes_per_s=5e5, tx_bytes_per_s=2e5) for n in nics],
        connections={"established": 3, "listen": 12},
        processes=events.Processes(total=181),
        uptime_s=86400.0,
        gpus=[
            events.Gpu(
                index=0,
                name="NVIDIA H100 80GB HBM3",
                utilization=99.0,
                memory_used=7565279232,
                memory_total=85520809984,
                memory_percent=8.85,
                temperature=65.0,
                power_w=690.9,
            )
        ],
    )


async def publisher(first: int, count: int, hosts: int, url: str, until: float) -> dict[str, Any]:
    """Publish one sample per host per second, spread over the second like real agents."""
    nc = await nats.connect(url)
    mine = [f"bench-{i:04d}" for i in range(first, first + count)]
    samples = {h: template(h) for h in mine}
    replace = msgspec.structs.replace
    sent = late = 0
    seq = 0
    second = int(time.time()) + 1
    while second < until:
        seq += 1
        for i, host in enumerate(mine):
            at = second + (first + i) / hosts
            delay = at - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.5:
                late += 1
            s = samples[host]
            sample = replace(
                s, ts=time.time(), seq=seq, cpu=replace(s.cpu, percent=float((seq + i) % 100))
            )
            await nc.publish(f"vitals.metrics.{host}", events.encode(sample))
            sent += 1
        second += 1  # every second of the schedule, even when running behind it
    await nc.flush()
    await nc.close()
    return {"sent": sent, "late": late}


# --- the API and websocket clients --------------------------------------------------------


class Http:
    """A minimal keep-alive HTTP/1.1 client, so the client's own cost stays small."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.token = token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        # Asks for gzip as browsers do (large cached answers are kept gzipped too).
        headers = f"Authorization: Bearer {self.token}\r\nAccept-Encoding: gzip"
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return status, await self.reader.readexactly(length)


async def queries(
    port: int, token: str, redis_url: str, hosts: int, until: float
) -> dict[str, Any]:
    http = Http(port, token)
    redis = connect(redis_url)
    times: dict[str, list[float]] = {"fleet": [], "host": [], "24h": [], "1h": [], "bare_1h": []}
    errors = 0
    n = 0
    sizes: dict[str, int] = {}
    while time.time() < until:
        host = f"bench-{n % QUERY_HOSTS:04d}"
        n += 1
        now = time.time()
        # range=24h and range=1h spelled as start/end, so that no answer comes from the cache.
        history = f"/admin/system/metrics/historical?host={host}&metric=cpu.percent&end={now}"
        for name, path in (
            ("host", f"/admin/system/metrics?host={host}"),
            ("fleet", "/admin/system/metrics"),
            ("24h", f"{history}&start={now - 86400}"),
            ("1h", f"{history}&start={now - 3600}"),
        ):
            t0 = time.perf_counter()
            status, body = await http.get(path)
            times[name].append(time.perf_counter() - t0)
            sizes[name] = len(body)
            errors += status != 200
        # The bare read: the same GETRANGEs of the same points, decoded, nothing else.
        t0 = time.perf_counter()
        now = time.time()
        spans = windows.spans(windows.RAW, now - 3600, now)
        pipe = redis.pipeline(transaction=False)
        for span in spans:
            key = keys.series_chunk(host, "raw", "cpu.percent", span.chunk)
            pipe.getrange(key, span.offset, span.offset + span.length - 1)
        points = windows.Points()
        for span, data in zip(spans, await pipe.execute(), strict=True):
            windows.decode_span(windows.RAW, span, data, now - 3600, now, points)
        times["bare_1h"].append(time.perf_counter() - t0)
        await asyncio.sleep(0.02)
    await redis.aclose()
    return {"times": times, "errors": errors, "sizes": sizes}


async def websockets_clients(
    port: int, token: str, clients: int, hosts: int, until: float
) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    delays: list[float] = []
    connected = 0
    measure_from = float("inf")  # once every client is subscribed

    async def one(i: int) -> None:
        nonlocal connected
        host = f"bench-{(i * hosts // clients):04d}"
        url = f"ws://127.0.0.1:{port}/admin/system/stream"
        async with connect(url, compression=None) as ws:
            sub = {"hosts": [host], "metrics": ["cpu"], "alerts": True}
            await ws.send(json.dumps({"token": token, "subscribe": sub}))
            await ws.recv()
            connected += 1
            while time.time() < until:
                with contextlib.suppress(TimeoutError):
                    message = await asyncio.wait_for(ws.recv(), 1.0)
                    received = time.time()
                    event = json.loads(message)
                    if event.get("kind") == "metrics" and event["ts"] >= measure_from:
                        delays.append(received - event["ts"])

    tasks = [asyncio.create_task(one(i)) for i in range(clients)]
    for _ in range(300):
        if connected == clients or any(t.done() for t in tasks):
            break
        await asyncio.sleep(0.1)
    measure_from = time.time()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    failed = [repr(r) for r in results if isinstance(r, BaseException)]
    return {"delays": delays, "failed": failed[:3], "failures": len(failed)}


# --- the run ---------------------------------------------------------------------------------


async def backfill(redis_url: str, hosts: int, now: float) -> None:
    """An hour of raw cpu.percent and a day of 1-minute rollups for the hosts queried."""
    redis = connect(redis_url)
    pipe = redis.pipeline(transaction=False)
    for h in range(min(QUERY_HOSTS, hosts)):
        host = f"bench-{h:04d}"
        for res, span in ((windows.RAW, 3600), (windows.MINUTE, 86400)):
            chunk = res.chunk_of(now - span)
            while chunk <= now:
                if res is windows.RAW:
                    data = windows.pack_floats(float(t % 100) for t in range(chunk, chunk + 600))
                else:
                    data = b"".join(
                        windows.pack_agg(windows.Agg(60, 1.0, 99.0, 50.0, 42.0))
                        for _ in range(res.slots)
                    )
                key = keys.series_chunk(host, res.name, "cpu.percent", chunk)
                pipe.set(key, data, exat=res.expire_at(chunk))
                chunk += res.chunk
        pipe.zadd(keys.series_names(host), {"cpu.percent": windows.RAW.chunk_of(now)})
    await pipe.execute()
    await redis.aclose()


async def store_write_costs(redis_url: str, cluster_url: str | None = None) -> dict[str, float]:
    """Writing 200 full samples several ways, to show why the store writes as it does: the
    store as it is, the same with redis-py's own (Python) command packing, and plain
    commands; with `cluster_url`, the store on that cluster too. Medians of a few writes."""
    redis = connect(redis_url)
    python_packing = Redis(connection_pool=BlockingConnectionPool.from_url(redis_url))
    now = time.time()
    sample = template("w")
    points = list(series.points(sample))
    names, values = [n for n, _ in points], [v for _, v in points]
    out: dict[str, float] = {"series": float(len(points))}
    hosts = [f"bench-write-{i}" for i in range(200)]
    doc = events.encode(sample)

    def writes(ts: float) -> list[Write]:
        return [Write(h, ts, "metrics", keys.latest(h), "", doc, b"", names, values) for h in hosts]

    timed = [("lua_pipelined", redis), ("lua_python_packing", python_packing)]
    if cluster_url is not None:
        timed.append(("lua_pipelined_cluster", connect(cluster_url)))
    stores = [(name, WindowStore(client)) for name, client in timed]
    for _, store in stores:
        await store.load()
        await store.write(writes(now - 60), now)  # the chunks exist: the steady state is timed
    took: dict[str, list[float]] = {name: [] for name, _ in stores}
    for i in range(WRITE_ROUNDS):
        for name, store in stores:  # interleaved, so that a busy moment hits each alike
            t0 = time.perf_counter()
            await store.write(writes(now - 59 + i), now)
            took[name].append(time.perf_counter() - t0)
    out.update((name, statistics.median(t)) for name, t in took.items())

    def commands(ts: float) -> list[tuple[str, int, bytes]]:
        chunk, offset = windows.RAW.chunk_of(ts), windows.RAW.offset(ts)
        return [
            (keys.series_chunk(h, "raw", name, chunk), offset, windows.pack_floats([value]))
            for h in hosts
            for name, value in zip(names, values, strict=True)
        ]

    t0 = time.perf_counter()
    pipe = redis.pipeline(transaction=False)
    for key, offset, value in commands(now - 58 + WRITE_ROUNDS):
        pipe.setrange(key, offset, value)
    await pipe.execute()
    out["commands_pipelined"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for key, offset, value in commands(now - 57 + WRITE_ROUNDS)[: len(names) * 20]:  # a tenth
        await redis.setrange(key, offset, value)
    out["commands_unpipelined"] = (time.perf_counter() - t0) * 10
    await redis.flushall()
    for _, client in timed:
        if client is not redis:
            await client.flushall()
        await client.aclose()
    return out


async def spawn(role: str, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.gateway", "--role", role, *args, stdout=subprocess.PIPE
    )


async def collect(proc: asyncio.subprocess.Process) -> dict[str, Any]:
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def drain(url: str, within: float = 30.0) -> float:
    """Seconds until the consumer has nothing pending (or `within`)."""
    started = time.time()
    for _ in range(int(within / 0.5)):
        if sum(await lag(url)) == 0:
            break
        await asyncio.sleep(0.5)
    return time.time() - started


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(values: list[float]) -> str:
    return f"p50 {pct(values, 0.5) * 1000:6.2f} ms  p99 {pct(values, 0.99) * 1000:6.2f} ms"


async def lag(url: str) -> tuple[int, int]:
    nc = await nats.connect(url)
    info = await nc.jetstream().consumer_info("VITALS_TELEMETRY", "vitals-gateway")
    await nc.close()
    return int(info.num_pending or 0), int(info.num_ack_pending or 0)


async def acknowledged(url: str) -> int:
    """Messages the gateway has handled (acknowledged), from the consumer's own count; asking
    the gateway's /metrics would make it build the whole fleet's exposition mid-run."""
    nc = await nats.connect(url)
    info = await nc.jetstream().consumer_info("VITALS_TELEMETRY", "vitals-gateway")
    await nc.close()
    return int(info.ack_floor.stream_seq if info.ack_floor else 0)


async def phase(
    tmp: Path,
    redis_url: str,
    hosts: int,
    seconds: int,
    warmup: int,
    publishers: int,
    ws_clients: int,
) -> dict[str, Any]:
    """A gateway process on its own NATS and the given Redis, under `hosts` publishing every
    second; the query (and websocket) clients run through the measured part."""
    with NatsServer(tmp / "nats") as nats_srv:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("VITALS_")} | {
            "VITALS_NATS_URL": nats_srv.url,
            "VITALS_REDIS_URL": redis_url,
            "VITALS_HTTP_PORT": str(port),
            "VITALS_ADMIN_PASSWORD": PASSWORD,
            "VITALS_CONFIG": str(tmp / "none.toml"),
            "VITALS_LOG_LEVEL": "warning",
            "VITALS_AUTH_API_RATE": "100000",
            "VITALS_AUTH_API_BURST": "100000",
            "VITALS_GATEWAY_WS_QUEUE": "1024",
        }
        (tmp / "none.toml").write_text("")
        gateway = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "vitals_gateway", env=env
        )
        try:
            await _wait_http(port)
            token = await _login(port)
            redis = connect(redis_url)
            await backfill(redis_url, hosts, time.time())
            memory_before = await used_memory(redis)
            start = time.time() + 2
            until = start + warmup + seconds
            share = -(-hosts // publishers)
            pubs = [
                await spawn(
                    "publish",
                    str(i * share),
                    str(min(share, hosts - i * share)),
                    str(hosts),
                    nats_srv.url,
                    str(until),
                )
                for i in range(publishers)
                if i * share < hosts
            ]
            await asyncio.sleep(start + warmup - time.time())
            ingested_0 = await acknowledged(nats_srv.url)
            t_measure = time.time()
            client_args = (str(port), token, redis_url, str(hosts), str(until))
            query_proc = await spawn("queries", *client_args)
            ws_proc = (
                await spawn("ws", str(port), token, str(ws_clients), str(hosts), str(until))
                if ws_clients
                else None
            )
            lags = []
            while time.time() < until:
                lags.append(sum(await lag(nats_srv.url)))
                await asyncio.sleep(5)
            ingested_1 = await acknowledged(nats_srv.url)
            measured = time.time() - t_measure
            end_lag = await lag(nats_srv.url)
            published = [await collect(p) for p in pubs]
            q = await collect(query_proc)
            ws = await collect(ws_proc) if ws_proc else {"delays": [], "failed": [], "failures": 0}
            drain_s = await drain(nats_srv.url)
            memory_after = await used_memory(redis)
            await redis.aclose()
        finally:
            gateway.send_signal(signal.SIGTERM)
            await asyncio.wait_for(gateway.wait(), 30)
    return {
        "published": published,
        "ingested": ingested_1 - ingested_0,
        "measured": measured,
        "lags": lags,
        "end_lag": end_lag,
        "drain_s": drain_s,
        "mem0": memory_before,
        "mem1": memory_after,
        "q": q,
        "ws": ws,
    }


async def used_memory(redis: RedisClient) -> int:
    """Bytes in use, summed over a cluster's primaries."""
    info = await redis.info("memory")
    if "used_memory" in info:
        return int(info["used_memory"])
    return sum(int(node["used_memory"]) for node in info.values() if isinstance(node, dict))


async def main() -> None:
    hosts = env_int("BENCH_HOSTS", 1000)
    seconds = env_int("BENCH_SECONDS", 45)
    warmup = env_int("BENCH_WARMUP", 10)
    publishers = env_int("BENCH_PUBLISHERS", 2)
    ws_clients = env_int("BENCH_WS_CLIENTS", 100)
    cluster_seconds = env_int("BENCH_CLUSTER_SECONDS", 20)
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        with RedisServer(tmp / "redis") as redis_srv:
            if cluster_seconds:
                with ValkeyCluster(tmp / "valkey-cluster-writes") as valkey:
                    costs = await store_write_costs(redis_srv.url, valkey.url)
            else:
                costs = await store_write_costs(redis_srv.url)
            redis = connect(redis_srv.url)
            memory = await measure(redis)
            await redis.aclose()
            (tmp / "single").mkdir()
            single = await phase(
                tmp / "single", redis_srv.url, hosts, seconds, warmup, publishers, ws_clients
            )
        cluster = None
        if cluster_seconds:
            (tmp / "cluster").mkdir()
            with ValkeyCluster(tmp / "valkey-cluster") as valkey:
                cluster = await phase(
                    tmp / "cluster", valkey.url, hosts, cluster_seconds, 5, publishers, 0
                )
    report(hosts, seconds, costs, single, ws_clients)
    print("\n" + memory_report(memory))
    if cluster is not None:
        compare(hosts, single, cluster)


def compare(hosts: int, single: dict[str, Any], cluster: dict[str, Any]) -> None:
    print(
        f"\none Redis vs a 3-primary Valkey Cluster, {hosts} hosts x 1 sample/s "
        f"(cluster run shorter, no websocket clients; same machine):"
    )
    print(f"  {'':30s} {'single':>22s} {'cluster':>22s}")
    rates = [r["ingested"] / r["measured"] for r in (single, cluster)]
    print(f"  {'ingest samples/s':30s} {rates[0]:>22,.0f} {rates[1]:>22,.0f}")
    lags = [r["end_lag"][0] + r["end_lag"][1] for r in (single, cluster)]
    print(f"  {'consumer lag at the end':30s} {lags[0]:>22,} {lags[1]:>22,}")
    for name, key in (
        ("historical?range=1h", "1h"),
        ("bare Redis read, 1 h", "bare_1h"),
        ("historical?range=24h", "24h"),
    ):
        cells = [
            f"p50 {pct(r['q']['times'][key], 0.5) * 1000:.1f} / p99 "
            f"{pct(r['q']['times'][key], 0.99) * 1000:.1f} ms"
            for r in (single, cluster)
        ]
        print(f"  {name:30s} {cells[0]:>22s} {cells[1]:>22s}")


def report(
    hosts: int, seconds: int, costs: dict[str, float], r: dict[str, Any], ws_clients: int
) -> None:
    published, ingested, measured = r["published"], r["ingested"], r["measured"]
    lags, end_lag, drain_s, q, ws = r["lags"], r["end_lag"], r["drain_s"], r["q"], r["ws"]
    mem0, mem1 = r["mem0"], r["mem1"]
    n_series = int(costs["series"])
    sent = sum(p["sent"] for p in published)
    late = sum(p["late"] for p in published)
    rate = ingested / measured
    print(
        f"\ngateway benchmark: {hosts} hosts x {n_series} series, one sample/s each, "
        f"{measured:.0f} s measured (this machine's {os.cpu_count()} CPUs shared by NATS, Redis, "
        f"the gateway, the publishers and the clients)"
    )
    print("\nstore writes, 200 samples, median of a few (same run; the cluster: 3 primaries):")
    base = costs["lua_pipelined"]
    ways = ["lua_pipelined", "lua_python_packing", "commands_pipelined", "commands_unpipelined"]
    if "lua_pipelined_cluster" in costs:
        ways.insert(2, "lua_pipelined_cluster")
    for name in ways:
        print(f"  {name:22s} {costs[name] * 1000:8.1f} ms  ({costs[name] / base:5.1f}x)")
    print(
        f"\ningest: {rate:,.0f} samples/s = {rate * n_series:,.0f} points/s measured "
        f"(published {sent:,} samples in all, {late:,} of them over 0.5 s behind schedule)"
    )
    print(f"  consumer lag every 5 s (pending + unacked): {lags}")
    print(
        f"  lag at the end: {end_lag[0]} pending + {end_lag[1]} unacked; drained in "
        f"{drain_s:.1f} s   target: 1,000 hosts keep up with no growing lag"
    )
    per_host = (mem1 - mem0) / hosts
    print(
        f"\nredis: +{(mem1 - mem0) / 2**20:,.0f} MiB over the run = {per_host / 1024:,.0f} KiB "
        f"per host after ~{seconds + 10} s (raw chunks are allocated 10 min at a time; "
        f"full retention below)"
    )
    t = q["times"]
    print(
        f"\nAPI under that load ({len(t['fleet'])} rounds, {q['errors']} errors; the client "
        f"accepts gzip like a browser):"
    )
    print(f"  /admin/system/metrics (fleet)   {ms(t['fleet'])}   target p99 < 20 ms")
    print(
        f"    (cached {os.environ.get('CACHE_METRICS_TIMEOUT', '30')} s; the slowest, a fresh "
        f"build of {hosts} hosts: {max(t['fleet']) * 1000:.0f} ms)"
    )
    print(f"  /admin/system/metrics?host=     {ms(t['host'])}")
    sizes = ", ".join(f"{k} {v / 1024:,.0f} KiB" for k, v in q["sizes"].items())
    print(f"  (answers as sent: {sizes})")
    print(f"  historical, 24 h (not cached)   {ms(t['24h'])}")
    print(f"  historical, 1 h (not cached)    {ms(t['1h'])}")
    print(f"  bare Redis read + decode, 1 h   {ms(t['bare_1h'])}")
    ratio = pct(t["1h"], 0.99) / pct(t["bare_1h"], 0.99)
    median_ratio = statistics.median(t["1h"]) / statistics.median(t["bare_1h"])
    print(f"  historical 1h / bare: p99 {ratio:.1f}x, median {median_ratio:.1f}x   target p99 < 3x")
    d = ws["delays"]
    print(
        f"\npublish -> websocket, {ws_clients} clients ({len(d):,} messages, "
        f"{ws['failures']} clients failed): {ms(d)}   target p99 < 50 ms"
    )
    if ws["failed"]:
        print(f"  {ws['failed']}")


async def _wait_http(port: int, within: float = 30.0) -> None:
    deadline = time.time() + within
    while time.time() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.2)
    raise RuntimeError("the gateway did not start")


async def _login(port: int) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = f"username=admin&password={PASSWORD}".encode()
    writer.write(
        b"POST /auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: "
        b"application/x-www-form-urlencoded\r\nContent-Length: %d\r\n"
        b"Connection: close\r\n\r\n%s" % (len(body), body)
    )
    response = await reader.read()
    writer.close()
    token: str = json.loads(response.split(b"\r\n\r\n", 1)[1])["access_token"]
    return token


def role(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--role", required=True)
    parser.add_argument("args", nargs="*")
    ns = parser.parse_args(argv)
    a = ns.args
    if ns.role == "publish":
        result = asyncio.run(publisher(int(a[0]), int(a[1]), int(a[2]), a[3], float(a[4])))
    elif ns.role == "queries":
        result = asyncio.run(queries(int(a[0]), a[1], a[2], int(a[3]), float(a[4])))
    else:
        result = asyncio.run(websockets_clients(int(a[0]), a[1], int(a[2]), int(a[3]), float(a[4])))
    print(json.dumps(result))


if __name__ == "__main__":
    if "--role" in sys.argv:
        role(sys.argv[1:])
    else:
        asyncio.run(main())
