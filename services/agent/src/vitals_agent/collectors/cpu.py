"""CPU: total and per-core time split, frequency, load averages, context switches.

Reads `/proc/stat` (jiffies per CPU), `/proc/loadavg`, and the current frequency from
`/sys/.../scaling_cur_freq` or `/proc/cpuinfo`.
"""

from __future__ import annotations

import os
import re
from operator import sub
from typing import NamedTuple

from vitals_agent.procfs import ProcFile, listed, read_text
from vitals_agent.rates import CounterTracker, Tick, counter_delta
from vitals_core.events import Cpu, CpuCore

# Columns of a `cpu` line: user nice system idle iowait irq softirq steal (guest is in user).
_FIELDS = 8
FREQ_SAMPLE = 8
# Reading the frequency makes x86 kernels sample every core's counters: not every cycle.
FREQ_PERIOD_S = 5.0
_MHZ = re.compile(r"^cpu MHz\s*:\s*([\d.]+)", re.MULTILINE)
_SCALARS = ("ctxt ", "btime ", "processes ", "procs_running ", "procs_blocked ")


class ProcStat(NamedTuple):
    total: tuple[int, ...]
    cores: dict[str, tuple[int, ...]]
    ctxt: int | None
    btime: int | None
    procs_running: int | None
    procs_blocked: int | None
    forks: int | None = None  # processes and threads created since boot


def parse_proc_stat(text: str) -> ProcStat:
    total: tuple[int, ...] = ()
    cores: dict[str, tuple[int, ...]] = {}
    found: dict[str, int] = {}
    for line in text.splitlines():
        if line.startswith("cpu"):
            name, *cols = line.split()
            values = tuple(map(int, cols[:_FIELDS]))
            values += (0,) * (_FIELDS - len(values))
            if name == "cpu":
                total = values
            else:
                cores[name] = values
        elif line.startswith(_SCALARS):
            key, value = line.split()[:2]
            found[key] = int(value)
    if not total:
        raise ValueError("/proc/stat has no 'cpu' line")
    return ProcStat(
        total, cores, found.get("ctxt"), found.get("btime"),
        found.get("procs_running"), found.get("procs_blocked"), found.get("processes"),
    )  # fmt: skip


def jiffy_deltas(prev: tuple[int, ...] | None, cur: tuple[int, ...]) -> tuple[int, ...] | None:
    """Jiffies per state since `prev`; None on the first reading. Subtracted in C: this runs
    for every core, every cycle; a column that went back takes the counter rules."""
    if prev is None or len(prev) != len(cur):
        return None
    delta = tuple(map(sub, cur, prev))
    if min(delta) >= 0:
        return delta
    return tuple(counter_delta(p, c, 64) for p, c in zip(prev, cur, strict=True))


def split_percent(delta: tuple[int, ...]) -> tuple[float, float, float, float, float]:
    """(busy, user, system, iowait, steal) in percent of the jiffies that passed."""
    user, nice, system, idle, iowait, irq, softirq, steal = delta
    elapsed = sum(delta)
    if elapsed <= 0:
        return (0.0, 0.0, 0.0, 0.0, 0.0)
    scale = 100.0 / elapsed
    busy = elapsed - idle - iowait
    return (
        round(busy * scale, 2),
        round((user + nice) * scale, 2),
        round((system + irq + softirq) * scale, 2),
        round(iowait * scale, 2),
        round(steal * scale, 2),
    )


def parse_loadavg(text: str) -> tuple[float, float, float]:
    one, five, fifteen = text.split()[:3]
    return float(one), float(five), float(fifteen)


def mean_mhz(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def parse_cpuinfo_mhz(text: str) -> float | None:
    return mean_mhz([float(m) for m in _MHZ.findall(text)])


class CpuCollector:
    def __init__(self, proc: str = "/proc", sys: str = "/sys") -> None:
        self.proc = proc
        self._stat = ProcFile(f"{proc}/stat", one_piece=True)
        self._loadavg = ProcFile(f"{proc}/loadavg", one_piece=True)
        self._jiffies: dict[str, tuple[int, ...]] = {}
        self._ctxt = CounterTracker(bits=64)
        policies = listed(os.path.join(sys, "devices/system/cpu/cpufreq"), "policy")
        files = [f"{p}/scaling_cur_freq" for p in policies]
        files = [f for f in files if os.path.exists(f)]
        # A sample of the policies keeps the cost flat on hosts with hundreds of cores.
        step = max(1, len(files) // FREQ_SAMPLE)
        self._freq_files = [
            ProcFile(p, one_piece=True) for p in sorted(files)[::step][:FREQ_SAMPLE]
        ]
        self.last: ProcStat | None = None
        self._freq_mhz: float | None = None
        self._freq_read_at: float | None = None

    def collect(self, tick: Tick) -> Cpu:
        text = self._stat.read_text()
        if text is None:
            raise OSError(f"cannot read {self.proc}/stat")
        stat = parse_proc_stat(text)
        self.last = stat
        prev = self._jiffies
        delta = jiffy_deltas(prev.get("cpu"), stat.total)
        busy, user, system, iowait, steal = split_percent(delta) if delta else (0.0,) * 5
        cores = []
        for name, values in stat.cores.items():
            core_delta = jiffy_deltas(prev.get(name), values)
            p = split_percent(core_delta) if core_delta else (0.0,) * 5
            cores.append(CpuCore(percent=p[0], user=p[1], system=p[2], iowait=p[3], steal=p[4]))
        self._jiffies = {"cpu": stat.total, **stat.cores}
        ctx = None
        if stat.ctxt is not None:
            rates = self._ctxt.rates("ctxt", tick.mono, (stat.ctxt,))
            ctx = round(rates[0], 1) if rates else None
        load = self._loadavg.read_text()
        load1, load5, load15 = parse_loadavg(load) if load else (None, None, None)
        return Cpu(
            percent=busy, user=user, system=system, iowait=iowait, steal=steal, cores=cores,
            freq_mhz=self._frequency(tick.mono), load1=load1, load5=load5, load15=load15,
            ctx_switches_per_s=ctx, count=len(stat.cores),
        )  # fmt: skip

    def _frequency(self, mono: float) -> float | None:
        if self._freq_read_at is None or mono - self._freq_read_at >= FREQ_PERIOD_S:
            self._freq_read_at = mono
            self._freq_mhz = self._read_frequency()
        return self._freq_mhz

    def _read_frequency(self) -> float | None:
        if self._freq_files:
            khz = [f.read() for f in self._freq_files]
            return mean_mhz([int(k) / 1000 for k in khz if k and k.strip().isdigit()])
        text = read_text(f"{self.proc}/cpuinfo")
        return parse_cpuinfo_mhz(text) if text else None

    def close(self) -> None:
        for f in (self._stat, self._loadavg, *self._freq_files):
            f.close()
