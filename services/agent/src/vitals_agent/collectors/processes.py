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
    ticks: int  # CPU ticks used since the last cycle
    rss_pages: int
    pid: str
    data: bytes  # the raw stat line, parsed in full only for the top N


class _Seen(NamedTuple):
    """A process as last read: the raw line and what the cycle needs from it."""

    data: bytes
    state: bytes
    start: bytes
    ticks: int
    rss_pages: int


_READ = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
# File descriptors left for everything else when stat files are kept open.
FD_RESERVE = 256


def fd_budget() -> int:
    """How many /proc/<pid>/stat files may stay open between cycles."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return 0
    return max(0, min(soft, 1 << 16) - FD_RESERVE) if soft != resource.RLIM_INFINITY else 4096


class ProcessesCollector:
    def __init__(self, proc: str = "/proc", top_n: int = 10, keep_open: int | None = None) -> None:
        self.proc = proc
        self.top_n = top_n
        self._prev: dict[str, _Seen] = {}
        self._prev_mono = 0.0
        # (pid, start time, pid+name) -> name, user, redacted command line; an exec changes the
        # name, so it is read again then.
        self._details: dict[tuple[str, bytes, bytes], tuple[str, str, str]] = {}
        self._users: dict[int, str] = {}
        # Open stat files, re-read in place each cycle: one syscall per process instead of
        # three, and no path lookup. A file of a process that exited fails to read.
        self._open: dict[str, int] = {}
        self._keep_open = fd_budget() if keep_open is None else keep_open

    @property
    def kept_open(self) -> int:
        return len(self._open)

    def _read_stat(self, entry: str, proc_fd: int) -> bytes | None:
        fd = self._open.get(entry)
        if fd is not None:
            try:
                data = os.pread(fd, 4096, 0)
                if data:
                    return data
            except OSError:
                pass
            # Gone, or the pid now belongs to another process: open it afresh.
            del self._open[entry]
            os.close(fd)
        try:
            fd = os.open(entry + "/stat", _READ, dir_fd=proc_fd)
        except OSError:
            return None  # exited since the listing
        try:
            data = os.read(fd, 4096)
        except OSError:
            os.close(fd)
            return None
        if len(self._open) < self._keep_open:
            self._open[entry] = fd
        else:
            os.close(fd)
        return data

    def collect(self, tick: Tick, mem_total: int) -> Processes:
        # The hot loop of the agent: one read per process and as little Python as possible;
        # everything else waits until a process makes the top N.
        prev = self._prev
        current: dict[str, _Seen] = {}
        states: dict[bytes, int] = {}
        rows: list[_Row] = []
        read_stat = self._read_stat
        proc_fd = os.open(self.proc, _READ | os.O_DIRECTORY)
        try:
            for entry in os.listdir(proc_fd):
                if not entry.isdigit():
                    continue
                data = read_stat(entry, proc_fd)
                if not data:
                    continue
                seen = prev.get(entry)
                if seen is not None and seen.data == data:
                    used = 0  # a sleeping process reads the same each time: nothing to parse
                else:
                    f = data[data.rfind(b")") + 2 :].split(None, 22)
                    if len(f) < 22:
                        continue
                    ticks = int(f[11]) + int(f[12])
                    same = seen is not None and seen.start == f[19]
                    used = ticks - seen.ticks if same and seen is not None else 0
                    seen = _Seen(data, f[0], f[19], ticks, int(f[21]))
                current[entry] = seen
                states[seen.state] = states.get(seen.state, 0) + 1
                rows.append(_Row(used, seen.rss_pages, entry, data))
        finally:
            os.close(proc_fd)
        for entry in [e for e in self._open if e not in current]:
            os.close(self._open.pop(entry))
        seconds = tick.mono - self._prev_mono
        self._prev = current
        self._prev_mono = tick.mono
        by_state = {STATES.get(k.decode(), k.decode()): n for k, n in states.items()}
        top_cpu: list[TopProcess] = []
        top_memory: list[TopProcess] = []
        if self.top_n:
            busy = [r for r in rows if r.ticks > 0]
            for r in heapq.nlargest(self.top_n, busy, key=lambda r: r.ticks):
                top_cpu.append(self._top(r, seconds, mem_total))
            resident = [r for r in rows if r.rss_pages > 0]
            for r in heapq.nlargest(self.top_n, resident, key=lambda r: r.rss_pages):
                top_memory.append(self._top(r, seconds, mem_total))
            self._forget_exited(current)
        return Processes(total=len(rows), by_state=by_state, top_cpu=top_cpu, top_memory=top_memory)

    def _top(self, row: _Row, seconds: float, mem_total: int) -> TopProcess:
        name, user, cmdline = self._details_of(row)
        rss = row.rss_pages * PAGE_SIZE
        return TopProcess(
            pid=int(row.pid),
            name=name,
            user=user,
            cpu_percent=cpu_percent(0, row.ticks, seconds),
            rss=rss,
            memory_percent=round(rss * 100.0 / mem_total, 2) if mem_total else 0.0,
            cmdline=cmdline,
        )

    def _details_of(self, row: _Row) -> tuple[str, str, str]:
        """Name, user and redacted command line, read once per process (and per exec)."""
        data = row.data
        key = (row.pid, data[data.rfind(b")") + 2 :].split(None, 20)[19], data[: data.rfind(b")")])
        cached = self._details.get(key)
        if cached is None:
            stat = parse_pid_stat(data)
            comm = stat.comm if stat else ""
            argv = split_cmdline(read_bytes(f"{self.proc}/{row.pid}/cmdline") or b"")
            # Kernel threads have no command line; show them as top does.
            cmdline = redact_argv(argv) if argv else f"[{comm}]"
            cached = (display_name(comm, argv), self._user(int(row.pid)), cmdline)
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

    def _forget_exited(self, alive: dict[str, _Seen]) -> None:
        stale = [k for k in self._details if (a := alive.get(k[0])) is None or a.start != k[1]]
        for key in stale:
            del self._details[key]

    def close(self) -> None:
        for fd in self._open.values():
            os.close(fd)
        self._open.clear()
