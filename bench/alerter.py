"""`make bench-alerter`: N hosts × 20 rules at 1 s through real NATS into one alerter.

Prints, for the alerter process over a timed window: evaluations per second, CPU seconds
per 1,000 evaluations, the delay from the sample that completes a rule's `for` to the alert
event arriving (p50/p99), and how far behind the consumer was at the end. Beside it, in the
same run: the pure engine alone on the same workload (no NATS, no JSON), so the cost of the
I/O around it is visible.

Environment: VITALS_BENCH_HOSTS (2000), VITALS_BENCH_SECONDS (30), VITALS_BENCH_WARMUP (8),
VITALS_BENCH_CROSSINGS (hosts starting a breach each second, 20), VITALS_BENCH_SLICES (the
hosts publish in this many slices spread over each second, 20; 1 sends them in one burst).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nats
import psutil
from nats.aio.client import Client

from vitals_alerter.evaluator import Evaluator
from vitals_alerter.rules import compile_inhibit, compile_rules
from vitals_core import control, events, subjects
from vitals_core.config import load_settings
from vitals_core.events import (
    Cpu,
    DiskIO,
    DiskUsage,
    Gpu,
    Memory,
    MetricSample,
    NetIO,
    Processes,
    Swap,
)
from vitals_servers import NatsServer

HOSTS = int(os.environ.get("VITALS_BENCH_HOSTS", "2000"))
SECONDS = float(os.environ.get("VITALS_BENCH_SECONDS", "30"))
WARMUP = float(os.environ.get("VITALS_BENCH_WARMUP", "8"))
CROSSINGS = int(os.environ.get("VITALS_BENCH_CROSSINGS", "20"))
# 1: every host's sample in one burst at the top of each second (the worst case).
SLICES = int(os.environ.get("VITALS_BENCH_SLICES", "20"))
BREACH_S = 6  # a breach lasts this many samples, then clears
FOR_S = 2.0

# Twenty rules, each naming one series of the sample below: 20 evaluations per sample.
CONFIG = f"""
[alerter]
builtin_rules = false
builtin_inhibit = true
repeat_interval = 0
tick_interval = 1

[[alerter.rules]]
name = "cpu_high"
metric = "cpu.percent"
warning = 80
critical = 90
clear = 75
for = {FOR_S}
{
    "".join(
        f'''
[[alerter.rules]]
name = "{name}"
metric = "{metric}"
op = "{op}"
warning = {warning}
for = "1m"
'''
        for name, metric, op, warning in [
            ("memory_high", "memory.percent", "above", 85),
            ("disk_full", "disk.percent", "above", 90),
            ("iowait_high", "cpu.iowait", "above", 30),
            ("steal_high", "cpu.steal", "above", 10),
            ("system_high", "cpu.system", "above", 50),
            ("user_high", "cpu.user", "above", 90),
            ("load_high", "cpu.load1", "above", 64),
            ("swap_high", "swap.percent", "above", 50),
            ("gpu_busy", "gpu.utilization", "above", 99.5),
            ("gpu_memory", "gpu.memory_percent", "above", 95),
            ("gpu_hot", "gpu.temperature", "above", 85),
            ("rx_errors", "net.rx_errors_per_s", "above", 10),
            ("tx_errors", "net.tx_errors_per_s", "above", 10),
            ("disk_busy", "diskio.busy_percent", "above", 95),
            ("too_many_procs", "proc.total", "above", 5000),
            ("memory_low", "memory.available", "below", 1e9),
        ]
    )
}
[[alerter.rules]]
name = "disk_fill"
kind = "forecast"
metric = "disk.percent"
level = 95
window = "10m"
warning = "6h"

[[alerter.rules]]
name = "procs_growing"
kind = "rate"
metric = "proc.total"
window = "5m"
warning = 100

[[alerter.rules]]
name = "host_down"
kind = "absence"
metric = "host"
missed = 3
"""


def host_name(i: int) -> str:
    return f"bench-{i:05d}"


def sample(i: int, second: int, ts: float, cpu: float) -> MetricSample:
    """A host's sample: quiet values, cpu as given."""
    return MetricSample(
        ts=ts,
        host=host_name(i),
        seq=second,
        interval=1.0,
        cpu=Cpu(percent=cpu, user=cpu * 0.7, system=cpu * 0.2, iowait=1.0, steal=0.0, load1=2.0),
        memory=Memory(total=64 * 2**30, used=20 * 2**30, available=44 * 2**30, percent=31.0),
        swap=Swap(total=2**30, used=0, percent=0.0),
        disks=[DiskUsage(mount="/", total=10**12, used=4 * 10**11, free=6 * 10**11, percent=40.0)],
        disk_io=[DiskIO(device="sda", read_bytes_per_s=1e6, write_bytes_per_s=2e6, busy_percent=5)],
        net=[NetIO(interface="eth0", rx_bytes_per_s=1e6, tx_bytes_per_s=1e6)],
        gpus=[Gpu(index=0, name="H100", utilization=40.0, memory_percent=10.0, temperature=50.0)],
        processes=Processes(total=300),
    )


def cpu_at(i: int, second: int) -> float:
    """Each second CROSSINGS hosts start a breach of BREACH_S seconds; the rest idle."""
    period = max(1, HOSTS // max(1, CROSSINGS))
    phase = (second - i // max(1, CROSSINGS)) % period
    return 95.0 if phase < BREACH_S and CROSSINGS else 30.0 + (i % 7)


# --- publisher (its own process) ------------------------------------------------------------


def publisher(url: str, stop_at: float, counter: Any) -> None:
    asyncio.run(_publish(url, stop_at, counter))


async def _publish(url: str, stop_at: float, counter: Any) -> None:
    nc = await nats.connect(url, pending_size=64 * 1024**2)
    subjects_by_host = [subjects.metrics(host_name(i)) for i in range(HOSTS)]
    second = 0
    start = float(int(time.time()) + 1)
    per_slice = -(-HOSTS // SLICES)
    while time.time() < stop_at:
        # Hosts are spread over the second in slices, as independent agents are.
        for first in range(0, HOSTS, per_slice):
            at = start + second + first / per_slice / SLICES
            await asyncio.sleep(max(0.0, at - time.time()))
            for i in range(first, min(HOSTS, first + per_slice)):
                data = events.encode(sample(i, second, time.time(), cpu_at(i, second)))
                await nc.publish(subjects_by_host[i], data)
            await nc.flush()
        counter.value += HOSTS
        second += 1
    await nc.drain()


# --- the system run ------------------------------------------------------------------------


async def request(nc: Client, verb: str) -> Any:
    reply = await nc.request(subjects.control(control.ALERTER, verb), b"{}", timeout=10)
    return control.decode_reply(reply.data).data


def system_run(url: str, config: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITALS_")}
    env.update(VITALS_NATS_URL=url, VITALS_CONFIG=str(config), VITALS_LOG_LEVEL="warning")
    alerter = subprocess.Popen([sys.executable, "-m", "vitals_alerter"], env=env)
    try:
        return asyncio.run(measure(url, alerter.pid))
    finally:
        alerter.terminate()
        alerter.wait(timeout=30)


async def measure(url: str, alerter_pid: int) -> dict[str, Any]:
    nc = await nats.connect(url)
    received: list[tuple[float, bytes]] = []

    async def on_alert(msg: Any) -> None:
        received.append((time.time(), msg.data))

    await nc.subscribe(subjects.ALERTS_ALL, cb=on_alert)
    for _ in range(100):
        try:
            await request(nc, "stats")
            break
        except (nats.errors.Error, TimeoutError):
            await asyncio.sleep(0.2)
    published = multiprocessing.Value("q", 0)
    stop_at = time.time() + WARMUP + SECONDS + 1
    pub = multiprocessing.Process(target=publisher, args=(url, stop_at, published))
    pub.start()
    proc = psutil.Process(alerter_pid)
    await asyncio.sleep(WARMUP)
    start_stats, start_cpu, start_pub = (
        await request(nc, "stats"),
        proc.cpu_times(),
        published.value,
    )
    started = time.monotonic()
    await asyncio.sleep(SECONDS)
    end_stats, end_cpu, end_pub = await request(nc, "stats"), proc.cpu_times(), published.value
    elapsed = time.monotonic() - started
    info = await nc.jetstream().consumer_info(subjects.STREAM_TELEMETRY, end_stats["consumer"])
    pub.join(timeout=30)
    window_start = time.time() - elapsed
    await nc.close()

    evaluations = end_stats["evaluations"] - start_stats["evaluations"]
    cpu = (end_cpu.user + end_cpu.system) - (start_cpu.user + start_cpu.system)
    delays = []
    for recv, data in received:
        event = json.loads(data)
        if event["event"] == "firing" and event["rule"] == "cpu_high" and recv >= window_start:
            delays.append((recv - event["ts"]) * 1000.0)
    return {
        "evaluations_per_s": evaluations / elapsed,
        "cpu_per_1000": cpu / max(1, evaluations) * 1000.0,
        "cpu_share": cpu / elapsed,
        "published_per_s": (end_pub - start_pub) / elapsed,
        "pending_at_end": info.num_pending,
        "ack_pending_at_end": info.num_ack_pending,
        "delays_ms": delays,
        "events": len(received),
    }


# --- the baseline: the pure engine on the same workload ---------------------------------------


def engine_run(config: Path, seconds: int) -> dict[str, float]:
    settings = load_settings(config, env={})
    evaluator = Evaluator(compile_rules(settings.alerter), compile_inhibit(settings.alerter))
    workload = [
        [sample(i, s, float(s), cpu_at(i, s)) for i in range(HOSTS)] for s in range(seconds)
    ]
    started_cpu, started = time.process_time(), time.perf_counter()
    for s, batch in enumerate(workload):
        for event in batch:
            evaluator.observe(event, float(s))
        evaluator.tick(float(s) + 0.5)
    cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started
    # The same again with JSON decoding, as the service does it.
    encoded = [[events.encode(e) for e in batch] for batch in workload]
    evaluator2 = Evaluator(compile_rules(settings.alerter), compile_inhibit(settings.alerter))
    started_cpu2 = time.process_time()
    for s, batch2 in enumerate(encoded):
        for data in batch2:
            evaluator2.observe(events.decode(data), float(s))
        evaluator2.tick(float(s) + 0.5)
    cpu2 = time.process_time() - started_cpu2
    return {
        "evaluations_per_s": evaluator.evaluations / wall,
        "cpu_per_1000": cpu / evaluator.evaluations * 1000.0,
        "cpu_per_1000_with_json": cpu2 / evaluator2.evaluations * 1000.0,
    }


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vitals-bench-alerter-") as tmp:
        config = Path(tmp) / "vitals.toml"
        config.write_text(CONFIG)
        print(f"alerter bench: {HOSTS} hosts × 20 rules at 1 s, {SECONDS:.0f} s window "
              f"(+{WARMUP:.0f} s warm-up), {CROSSINGS} breaches start each second, "
              f"hosts publish in {SLICES} slices a second, "
              f"{os.cpu_count()} CPUs shared by NATS, the publisher and the alerter")  # fmt: skip
        runs = [engine_run(config, seconds=5) for _ in range(3)]
        base = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        with NatsServer(Path(tmp) / "nats") as server:
            run = system_run(server.url, config)
    report(base, run)


def report(base: dict[str, float], run: dict[str, Any]) -> None:
    per_core = 1000.0 / run["cpu_per_1000"]
    base_per_core = 1000.0 / base["cpu_per_1000"]
    rows = [
        ("", "pure engine", "alerter over NATS", "ratio"),
        ("CPU s per 1,000 evaluations", f"{base['cpu_per_1000']:.4f}",
         f"{run['cpu_per_1000']:.4f}", f"{run['cpu_per_1000'] / base['cpu_per_1000']:.2f}"),
        ("evaluations/s per CPU core", f"{base_per_core:,.0f}", f"{per_core:,.0f}",
         f"{per_core / base_per_core:.2f}"),
        ("  engine + JSON decode", f"{base['cpu_per_1000_with_json']:.4f}", "", ""),
    ]  # fmt: skip
    for row in rows:
        print(f"  {row[0]:<30}{row[1]:>14}{row[2]:>20}{row[3]:>8}")
    offered = run["published_per_s"] * 20
    print(f"  sustained: {run['evaluations_per_s']:,.0f} evaluations/s of {offered:,.0f} offered "
          f"(target {HOSTS * 20:,}), using {run['cpu_share']:.2f} CPU cores")  # fmt: skip
    print(f"  consumer at the end: {run['pending_at_end']:,} unread, "
          f"{run['ack_pending_at_end']:,} read and not yet acknowledged")  # fmt: skip
    delays = run["delays_ms"]
    if delays:
        print(f"  sample completing `for` → alert event received: p50 "
              f"{statistics.median(delays):.1f} ms, p99 {pct(delays, 0.99):.1f} ms, max "
              f"{max(delays):.1f} ms over {len(delays)} firings (the {FOR_S:.0f} s `for` itself "
              "not included)")  # fmt: skip
    else:
        print("  no firing arrived in the window")
    print(f"  alert events received in all: {run['events']}")


if __name__ == "__main__":
    main()
