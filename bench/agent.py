"""`make bench-agent`: the agent's overhead beside Glances', measured in the same run.

Both run at a 1 s interval on this host at the same time, the agent with every family
(top processes included) publishing to a real NATS server, Glances (in a virtualenv of its
own under .bench/) with the plugins for the same families. For each, over a timed window:
CPU time per collection cycle (from the kernel's per-thread run time, in nanoseconds),
peak and final RSS; for the agent, one cycle's p50/p99 as it measured them itself. Then
again with 400 extra idle processes on the host.

    VITALS_BENCH_SECONDS=60   length of each timed window (e.g. 3600 to watch RSS for an hour)
    VITALS_BENCH_EXTRA=400    idle processes added for the second round

Then the replay throughput of a 15-minute backlog at a 0 and a 50 ms round trip
(bench/replay.py).

Both programs run from compiled bytecode, as a package install leaves them.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nats
from nats.aio.msg import Msg

from bench.replay import SAMPLES, replay_rates
from vitals_agent.publisher import DEFAULT_WINDOW
from vitals_core import bus, events, subjects
from vitals_core.events import MetricSample
from vitals_servers import NatsServer

REPO = Path(__file__).resolve().parents[1]
GLANCES_VENV = REPO / ".bench" / "glances"
RESULTS = REPO / "bench-results" / "agent.json"
WINDOW_S = float(os.environ.get("VITALS_BENCH_SECONDS", "60"))
EXTRA = int(os.environ.get("VITALS_BENCH_EXTRA", "400"))
WARMUP_S = 6.0
HOST = "bench"
# Glances plugins for the families the agent collects; the others (alerts, containers,
# public IP lookups, RAID, SMART, Wi-Fi, ...) are switched off.
GLANCES_SHOWN = "cpu,percpu,load,mem,memswap,fs,diskio,network,processcount,sensors,uptime,gpu"
GLANCES_OFF = "alert,amps,cloud,containers,folders,help,ip,irq,now,ports,programlist,quicklook,raid,smart,vms,wifi,npu"  # noqa: E501


SPAN_S = 5  # CPU per cycle is taken over spans of this many seconds; the median is shown


@dataclass
class Figures:
    cpu_ms_per_cycle: float = 0.0
    cpu_ms_per_cycle_median: float = 0.0
    cycles: int = 0
    peak_rss_mb: float = 0.0
    first_rss_mb: float = 0.0
    last_rss_mb: float = 0.0
    cycle_ms: list[float] = field(default_factory=list)
    cycle_cpu_ms: list[float] = field(default_factory=list)


def run_ns(pid: int) -> int:
    """CPU time of every thread of `pid` so far, in nanoseconds."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def ensure_glances() -> Path | None:
    glances = GLANCES_VENV / "bin" / "glances"
    if glances.exists():
        return glances
    uv = shutil.which("uv") or str(REPO / ".tools" / "bin" / "uv")
    print(f"installing Glances into {GLANCES_VENV.relative_to(REPO)} (once)")
    try:
        subprocess.run([uv, "venv", "-q", str(GLANCES_VENV)], check=True)
        subprocess.run(
            [uv, "pip", "install", "-q", "--python", str(GLANCES_VENV / "bin" / "python"),
             "glances"], check=True,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"cannot install Glances ({exc}); measuring the agent alone")
        return None
    return glances if glances.exists() else None


def compile_bytecode(python: str) -> None:
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    targets = [site] + [str(p) for p in (REPO / "libs").glob("*/src")]
    targets.append(str(REPO / "services" / "agent" / "src"))
    subprocess.run([python, "-m", "compileall", "-q", "-j", "0", *targets],
                   check=False, capture_output=True)  # fmt: skip


class Sampler:
    """Per-second CPU, RSS and cycle-count readings of one process over the window."""

    def __init__(self, pid: int, cycles: Callable[[], int]) -> None:
        self.pid = pid
        self.count_cycles = cycles
        self.cpu: list[int] = []
        self.cycles: list[int] = []
        self.rss: list[float] = []

    def read(self) -> None:
        self.cpu.append(run_ns(self.pid))
        self.cycles.append(self.count_cycles())
        self.rss.append(rss_mb(self.pid))

    def figures(self) -> Figures:
        spans = []
        for i in range(0, len(self.cpu) - SPAN_S, SPAN_S):
            cycles = self.cycles[i + SPAN_S] - self.cycles[i]
            if cycles > 0:
                spans.append((self.cpu[i + SPAN_S] - self.cpu[i]) / 1e6 / cycles)
        cycles = self.cycles[-1] - self.cycles[0]
        total_ms = (self.cpu[-1] - self.cpu[0]) / 1e6
        return Figures(
            cpu_ms_per_cycle=round(total_ms / max(1, cycles), 3),
            cpu_ms_per_cycle_median=round(statistics.median(spans), 3) if spans else 0.0,
            cycles=cycles,
            peak_rss_mb=round(max(self.rss), 1),
            first_rss_mb=round(self.rss[0], 1),
            last_rss_mb=round(self.rss[-1], 1),
        )


class SampleFeed:
    """The agent's samples from the bus, gathered by a thread with an event loop of its own."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.samples: list[MetricSample] = []
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()
        self._ready.wait(10)

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        nc = await nats.connect(self.url)

        async def keep(msg: Msg) -> None:
            event = events.decode(msg.data)
            if isinstance(event, MetricSample):
                self.samples.append(event)

        await nc.subscribe(subjects.metrics(HOST), cb=keep)
        self._ready.set()
        await self._stop.wait()
        await nc.close()

    def close(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def measure(nats_url: str, glances: Path | None, label: str) -> dict[str, Figures]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITALS_")}
    env |= {"VITALS_NATS_URL": nats_url, "VITALS_AGENT_HOST": HOST, "VITALS_AGENT_INTERVAL": "1",
            "VITALS_CONFIG": os.devnull, "VITALS_LOG_LEVEL": "warning"}  # fmt: skip
    feed = SampleFeed(nats_url)
    agent = subprocess.Popen([sys.executable, "-m", "vitals_agent"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    glances_proc = None
    glances_out = Path(tempfile.mkstemp(prefix="glances-")[1])
    if glances is not None:
        with glances_out.open("wb") as sink:
            glances_proc = subprocess.Popen(
                [str(glances.parent / "python"), str(glances), "--stdout", GLANCES_SHOWN,
                 "-t", "1", "--disable-check-update", "--disable-plugin", GLANCES_OFF],
                stdout=sink, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            )  # fmt: skip
    print(f"  {label}: warming up {WARMUP_S:.0f}s, then measuring {WINDOW_S:.0f}s", flush=True)
    time.sleep(WARMUP_S)
    samples = feed.samples
    start_seq = samples[-1].seq if samples else 0
    watched = {"agent": Sampler(agent.pid, lambda: len(samples))}
    if glances_proc is not None:
        watched["glances"] = Sampler(glances_proc.pid, LineCounter(glances_out).count)
    started = time.monotonic()
    while True:
        for sampler in watched.values():
            sampler.read()
        if time.monotonic() - started >= WINDOW_S:
            break
        time.sleep(1.0)
    in_window = [s for s in samples if s.seq > start_seq]
    for proc in (agent, glances_proc):
        if proc is not None:
            proc.terminate()
            proc.wait(10)
    feed.close()
    glances_out.unlink(missing_ok=True)
    figures = {name: sampler.figures() for name, sampler in watched.items()}
    stats = [s.agent for s in in_window if s.agent is not None]
    figures["agent"].cycle_ms = [a.cycle_ms for a in stats]
    figures["agent"].cycle_cpu_ms = [a.cycle_cpu_ms for a in stats]
    return figures


class LineCounter:
    """Glances' refreshes so far: it prints one `cpu:` line per refresh."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.seen = 0
        self.tail = b""

    def count(self) -> int:
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = self.tail + f.read()
        self.offset += len(data) - len(self.tail)
        lines = data.split(b"\n")
        self.tail = lines.pop()
        self.seen += sum(1 for line in lines if line.startswith(b"cpu:"))
        return self.seen


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def report(label: str, figures: dict[str, Figures]) -> dict[str, float]:
    a, g = figures["agent"], figures.get("glances")
    print(f"\n{label}")
    print(f"  {'':28s}{'agent':>10s}{'glances':>10s}{'ratio':>8s}  target")
    ratios: dict[str, float] = {}
    rows = [
        (f"CPU ms/cycle, median {SPAN_S}s span", "cpu_ms_per_cycle_median", "<= 0.25"),
        ("CPU ms/cycle, whole window", "cpu_ms_per_cycle", "<= 0.25"),
        ("peak RSS MB", "peak_rss_mb", "<= 0.6"),
        ("RSS MB first -> last", "last_rss_mb", ""),
    ]
    for title, attr, target in rows:
        av, gv = getattr(a, attr), getattr(g, attr) if g else 0.0
        ratio = av / gv if gv else float("nan")
        ratios[attr] = round(ratio, 3)
        shown_a = f"{a.first_rss_mb}->{av}" if attr == "last_rss_mb" else f"{av}"
        shown_g = (f"{g.first_rss_mb}->{gv}" if attr == "last_rss_mb" else f"{gv}") if g else "-"
        print(f"  {title:28s}{shown_a:>10s}{shown_g:>10s}{ratio:>8.2f}  {target}")
    print(f"  {'cycles in window':28s}{a.cycles:>10d}{g.cycles if g else 0:>10d}")
    p50, p99 = pct(a.cycle_ms, 0.5), pct(a.cycle_ms, 0.99)
    c50, c99 = pct(a.cycle_cpu_ms, 0.5), pct(a.cycle_cpu_ms, 0.99)
    print(f"  agent cycle, wall ms: p50 {p50:.2f}  p99 {p99:.2f}   (target p99 < 4)")
    print(f"  agent cycle, CPU ms:  p50 {c50:.2f}  p99 {c99:.2f}")
    return ratios | {"cycle_p50_ms": p50, "cycle_p99_ms": p99, "cycle_cpu_p50_ms": c50,
                     "cycle_cpu_p99_ms": c99}  # fmt: skip


async def create_streams(url: str) -> None:
    nc = await nats.connect(url)
    await bus.ensure_streams(nc.jetstream())
    await nc.close()


def main() -> int:
    glances = ensure_glances()
    compile_bytecode(sys.executable)
    if glances is not None:
        compile_bytecode(str(glances.parent / "python"))
    results: dict[str, object] = {"window_s": WINDOW_S, "extra_processes": EXTRA}
    with tempfile.TemporaryDirectory(prefix="vitals-bench-") as tmp, NatsServer(Path(tmp)) as srv:
        asyncio.run(create_streams(srv.url))  # the services' job; the agent never does it
        count = sum(1 for p in os.listdir("/proc") if p.isdigit())
        print(f"agent vs Glances at a 1 s interval, {WINDOW_S:.0f}s windows, on "
              f"{os.cpu_count()} cores; {count} processes on the host")  # fmt: skip
        base = measure(srv.url, glances, "this host as it is")
        sleepers = [subprocess.Popen(["sleep", "3600"]) for _ in range(EXTRA)]
        try:
            loaded = measure(srv.url, glances, f"with {EXTRA} extra idle processes")
        finally:
            for p in sleepers:
                p.kill()
            for p in sleepers:
                p.wait()
        rates = replay_rates(srv.url)
    results["replay_events_per_s"] = rates
    results["base"] = {k: asdict(v) for k, v in base.items()} | {
        "summary": report("this host as it is", base)
    }
    results["extra"] = {k: asdict(v) for k, v in loaded.items()} | {
        "summary": report(f"with {EXTRA} extra idle processes", loaded)
    }
    if "glances" in base and "glances" in loaded:
        growth = loaded["glances"].cpu_ms_per_cycle_median / max(
            1e-9, base["glances"].cpu_ms_per_cycle_median
        )
        agent_growth = loaded["agent"].cpu_ms_per_cycle_median / max(
            1e-9, base["agent"].cpu_ms_per_cycle_median
        )
        print(f"\nCPU per cycle with {EXTRA} more processes: Glances x{growth:.2f}, "
              f"agent x{agent_growth:.2f}")  # fmt: skip
    print(f"\nbacklog replay ({SAMPLES} samples + {2 * SAMPLES // 15} check results, "
          f"window {DEFAULT_WINDOW}): {rates['0ms']} events/s direct, {rates['50ms']} events/s "
          "over a 50 ms round trip (target >= 2000)")  # fmt: skip
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(f"figures saved to {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
