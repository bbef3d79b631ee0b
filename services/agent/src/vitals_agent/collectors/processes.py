"""Processes: counts by state and the top N by CPU and by memory.

One read of `/proc/<pid>/stat` per process per cycle gives state, CPU ticks and RSS; the
user and the (redacted) command line are read only for the few processes that make the
top N, and cached for as long as the process lives. This costs a fraction of building a
`psutil.Process` per pid (measured in docs/agent.md).
"""

from __future__ import annotations

import heapq
import os
import pwd
from typing import NamedTuple

from vitals_agent.procfs import read_bytes
from vitals_agent.rates import Tick
from vitals_agent.redact import redact_argv
from vitals_core.events import Processes, TopProcess

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
COMM_MAX = 15  # the kernel truncates a process name to this many characters
MAX_USERS = 1024

STATES = {
    "R": "running", "S": "sleeping", "D": "disk_sleep", "Z": "zombie", "T": "stopped",
    "t": "tracing_stop", "X": "dead", "I": "idle", "P": "parked", "W": "waking",
}  # fmt: skip


class PidStat(NamedTuple):
    comm: str
    state: str
    ticks: int  # user + system CPU time, in clock ticks
    rss_pages: int
    starttime: int


def parse_pid_stat(data: bytes) -> PidStat | None:
    """`/proc/<pid>/stat`; the name sits in parentheses and may itself hold spaces or ')'."""
    lp = data.find(b"(")
    rp = data.rfind(b")")
    if lp < 0 or rp < lp:
        return None
    f = data[rp + 2 :].split()
    if len(f) < 22:
        return None
    return PidStat(
        data[lp + 1 : rp].decode("utf-8", "replace"),
        f[0].decode(),
        int(f[11]) + int(f[12]),
        int(f[21]),
        int(f[19]),
    )


def split_cmdline(data: bytes) -> list[str]:
    return data.decode("utf-8", "replace").rstrip("\0").split("\0") if data else []


def display_name(comm: str, argv: list[str]) -> str:
    """The kernel's name, or the program's full name when the kernel cut it short."""
    if len(comm) >= COMM_MAX and argv:
        base = os.path.basename(argv[0].split(" ", 1)[0])
        if base.startswith(comm):
            return base
    return comm


def cpu_percent(prev_ticks: int, ticks: int, seconds: float) -> float:
    """Percent of one CPU, as top shows it (a process on 4 cores shows 400)."""
    if seconds <= 0 or ticks < prev_ticks:
        return 0.0
    return round((ticks - prev_ticks) * 100.0 / CLK_TCK / seconds, 1)


class _Row(NamedTuple):
    cpu: float
    rss: int
    pid: int
    stat: PidStat


class ProcessesCollector:
    def __init__(self, proc: str = "/proc", top_n: int = 10) -> None:
        self.proc = proc
        self.top_n = top_n
        self._prev: dict[int, tuple[int, int]] = {}  # pid -> (starttime, ticks)
        self._prev_mono = 0.0
        # (pid, start time, name) -> display name, redacted command line; an exec changes the name.
        self._details: dict[tuple[int, int, str], tuple[str, str]] = {}
        self._users: dict[int, str] = {}

    def collect(self, tick: Tick, mem_total: int) -> Processes:
        proc = self.proc
        prev = self._prev
        seconds = tick.mono - self._prev_mono
        current: dict[int, tuple[int, int]] = {}
        by_state: dict[str, int] = {}
        rows: list[_Row] = []
        for entry in os.listdir(proc):
            if not entry.isdigit():
                continue
            data = read_bytes(f"{proc}/{entry}/stat")
            if not data:
                continue  # exited since the listing
            stat = parse_pid_stat(data)
            if stat is None:
                continue
            pid = int(entry)
            state = STATES.get(stat.state, stat.state)
            by_state[state] = by_state.get(state, 0) + 1
            before = prev.get(pid)
            cpu = 0.0
            if before is not None and before[0] == stat.starttime:
                cpu = cpu_percent(before[1], stat.ticks, seconds)
            current[pid] = (stat.starttime, stat.ticks)
            rows.append(_Row(cpu, stat.rss_pages * PAGE_SIZE, pid, stat))
        self._prev = current
        self._prev_mono = tick.mono
        top_cpu: list[TopProcess] = []
        top_memory: list[TopProcess] = []
        if self.top_n:
            busy = [r for r in rows if r.cpu > 0]
            for r in heapq.nlargest(self.top_n, busy, key=lambda r: r.cpu):
                top_cpu.append(self._top(r, mem_total))
            resident = [r for r in rows if r.rss > 0]
            for r in heapq.nlargest(self.top_n, resident, key=lambda r: r.rss):
                top_memory.append(self._top(r, mem_total))
            self._forget_exited(current)
        return Processes(total=len(rows), by_state=by_state, top_cpu=top_cpu, top_memory=top_memory)

    def _top(self, row: _Row, mem_total: int) -> TopProcess:
        name, cmdline = self._name_and_cmdline(row.pid, row.stat)
        return TopProcess(
            pid=row.pid,
            name=name,
            user=self._user(row.pid),
            cpu_percent=row.cpu,
            rss=row.rss,
            memory_percent=round(row.rss * 100.0 / mem_total, 2) if mem_total else 0.0,
            cmdline=cmdline,
        )

    def _name_and_cmdline(self, pid: int, stat: PidStat) -> tuple[str, str]:
        key = (pid, stat.starttime, stat.comm)
        cached = self._details.get(key)
        if cached is None:
            argv = split_cmdline(read_bytes(f"{self.proc}/{pid}/cmdline") or b"")
            # Kernel threads have no command line; show them as top does.
            cmdline = redact_argv(argv) if argv else f"[{stat.comm}]"
            cached = (display_name(stat.comm, argv), cmdline)
            self._details[key] = cached
        return cached

    def _user(self, pid: int) -> str:
        try:
            uid = os.stat(f"{self.proc}/{pid}").st_uid
        except OSError:
            return ""
        name = self._users.get(uid)
        if name is None:
            try:
                name = pwd.getpwuid(uid).pw_name
            except KeyError:
                name = str(uid)
            if len(self._users) >= MAX_USERS:
                self._users.clear()
            self._users[uid] = name
        return name

    def _forget_exited(self, alive: dict[int, tuple[int, int]]) -> None:
        stale = [k for k in self._details if (a := alive.get(k[0])) is None or a[0] != k[1]]
        for key in stale:
            del self._details[key]
