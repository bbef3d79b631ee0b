"""Processes: counts by state and the top N by CPU and by memory.

One read of `/proc/<pid>/stat` gives state, CPU ticks and RSS. A process with one thread
is first asked `/proc/<pid>/schedstat` (its run time, half the cost): unchanged, it did not
run and its last reading stands; every process is still read in full every ~30 s, for RSS
that reclaim shrank. A process found as before is checked only every other cycle (see
`ProcessesCollector.collect`). /proc is listed again only when the kernel's fork count
moved. The
user and the (redacted) command line are read only for the few processes that make the
top N, and cached for as long as the process lives.
"""

from __future__ import annotations

import heapq
import os
import pwd
from collections import Counter
from operator import itemgetter
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
    """The kernel's name, or the program's full name when the kernel cut it short.

    A title rewritten with setproctitle also renames the kernel's view (`mysql -pX`): only
    its first word is kept, the rest is the command line's, redacted there.
    """
    if any(c.isspace() for c in comm):
        comm = comm.split(maxsplit=1)[0] if comm.strip() else ""
    if len(comm) >= COMM_MAX and argv:
        base = os.path.basename(argv[0].split(" ", 1)[0])
        if base.startswith(comm):
            return base
    return comm


def cpu_percent(prev_ticks: float, ticks: float, seconds: float) -> float:
    """Percent of one CPU, as top shows it (a process on 4 cores shows 400)."""
    if seconds <= 0 or ticks < prev_ticks:
        return 0.0
    return round((ticks - prev_ticks) * 100.0 / CLK_TCK / seconds, 1)


class _Row(NamedTuple):
    ticks: float  # CPU ticks used over the last cycle
    rss_pages: int
    pid: str
    data: bytes  # the raw stat line, parsed in full only for the top N
    start: bytes  # start time since boot, in clock ticks: with the pid, names the process


class _Seen(NamedTuple):
    """A process as last read: the raw line and what the cycle needs from it."""

    data: bytes
    state: bytes
    start: bytes
    ticks: int
    rss_pages: int
    # Its schedstat line when it had one thread (None: its stat is read every cycle).
    sched: bytes | None
    full_due: int  # the cycle at which its stat is read whatever schedstat says


_READ = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
# File descriptors left for everything else when stat files are kept open.
FD_RESERVE = 256
# A process that did not run is still read in full this often, to see its resident memory
# shrink under reclaim.
FULL_READ_S = 30.0
_ODD_DIGITS = frozenset("13579")
_STATE = itemgetter(1)
_RSS = itemgetter(4)
_USED = itemgetter(1)


def fd_budget() -> int:
    """How many /proc/<pid> files may stay open between cycles."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return 0
    return max(0, min(soft, 1 << 16) - FD_RESERVE) if soft != resource.RLIM_INFINITY else 4096


def schedstat_works(proc: str) -> bool:
    """Whether `/proc/<pid>/schedstat` counts run time (CONFIG_SCHED_INFO, and not "0 0 0"
    for every task): this process has surely run."""
    data = read_bytes(f"{proc}/self/schedstat")
    first = data.split(None, 1)[0] if data else b""
    return first.isdigit() and int(first) > 0


def full_read_period(interval: float) -> int:
    """Cycles between full reads of a process that did not run (1: every cycle)."""
    return max(1, round(FULL_READ_S / interval)) if interval > 0 else 1


def first_full_read(cycle: int, pid: str, period: int) -> int:
    """When a process first seen at `cycle` is next read in full: spread by pid, so no one
    cycle reads every process seen at start."""
    return cycle + 1 + int(pid) % period


class ProcessesCollector:
    def __init__(
        self,
        proc: str = "/proc",
        top_n: int = 10,
        keep_open: int | None = None,
        *,
        interval: float = 1.0,
    ) -> None:
        self.proc = proc
        self.top_n = top_n
        self._prev: dict[str, _Seen] = {}
        self._prev_mono = 0.0
        self._prev_prev_mono = 0.0
        # Processes whose last check found them as before, by the parity of the pid's last
        # digit, and those left unchecked last cycle (see `collect`).
        self._quiet_odd: set[str] = set()
        self._quiet_even: set[str] = set()
        self._skipped: set[str] = set()
        # cycle -> processes whose full read falls due then (a process may be listed under an
        # older cycle too: it is then checked once more than needed, nothing worse).
        self._full_due: dict[int, set[str]] = {}
        self.skips = 0
        # (pid, start time, pid+name) -> name, user, redacted command line; an exec changes the
        # name, so it is read again then.
        self._details: dict[tuple[str, bytes, bytes], tuple[str, str, str]] = {}
        self._users: dict[int, str] = {}
        # Open stat and schedstat files, re-read in place each cycle: one syscall per file
        # instead of three, and no path lookup. A file of a process that exited fails to read.
        self._stat: dict[str, int] = {}
        self._sched: dict[str, int] = {}
        self._keep_open = fd_budget() if keep_open is None else keep_open
        self._proc_fd: int | None = None
        self._cycle = 0
        self._period = full_read_period(interval)
        # A process with one thread that did not run since the last cycle (its schedstat,
        # half the cost of its stat, did not change) keeps its last reading.
        self.use_schedstat = self._period > 1 and schedstat_works(proc)
        self._listed_forks: int | None = None
        self.listings = 0

    @property
    def kept_open(self) -> int:
        return len(self._stat) + len(self._sched)

    def _read(self, table: dict[str, int], entry: str, name: str, proc_fd: int) -> bytes | None:
        fd = table.get(entry)
        if fd is not None:
            try:
                data = os.pread(fd, 4096, 0)
                if data:
                    return data
            except OSError:
                pass
            # Gone, or the pid now belongs to another process: open it afresh.
            del table[entry]
            os.close(fd)
        try:
            fd = os.open(f"{entry}/{name}", _READ, dir_fd=proc_fd)
        except OSError:
            return None  # exited since the listing
        try:
            data = os.read(fd, 4096)
        except OSError:
            os.close(fd)
            return None
        if len(self._stat) + len(self._sched) < self._keep_open:
            table[entry] = fd
        else:
            os.close(fd)
        return data

    def _schedule(self, entry: str, cycle: int) -> None:
        self._full_due.setdefault(cycle, set()).add(entry)

    def _listing(self, proc_fd: int, forks: int | None) -> set[str] | None:
        """The pids in /proc, or None when no process or thread was created since the last
        listing (the fork count did not move): then the pids are those read last time, and
        one that exited since fails to read."""
        if forks is not None and forks == self._listed_forks and self._prev:
            return None
        self._listed_forks = forks
        self.listings += 1
        return {e for e in os.listdir(proc_fd) if e.isdigit()}

    def collect(self, tick: Tick, mem_total: int, forks: int | None = None) -> Processes:
        """Counts by state and the top N.

        The hot loop of the agent: one read per process and as little Python as possible;
        everything else waits until a process makes the top N. Most processes sleep: one
        whose last check found it as before ("quiet") is checked every other cycle, half of
        them on odd cycles and half on even ones (by the pid's last digit), and costs nothing
        in between: it keeps its last reading. One that ran in the cycle it was not checked
        shows the CPU time of both cycles, which is spread over both. Full reads (every
        FULL_READ_S) are never skipped.
        """
        prev = self._prev
        busy: dict[str, float] = {}  # CPU ticks used over this cycle, by those that ran
        self._cycle = cycle = self._cycle + 1
        odd = bool(cycle & 1)
        quiet_odd: set[str] = set()
        quiet_even: set[str] = set()
        skipped_before = self._skipped
        # Those left alone this cycle: quiet, of this cycle's parity, no full read due.
        due_now = self._full_due.pop(cycle, set())
        skip = (self._quiet_odd if odd else self._quiet_even) - due_now
        seconds = tick.mono - self._prev_mono
        # For one not checked last cycle: this cycle's share of what it used over two.
        share = seconds / (tick.mono - self._prev_prev_mono) if self._prev_prev_mono else 1.0
        if self._proc_fd is None:
            self._proc_fd = os.open(self.proc, _READ | os.O_DIRECTORY)
        proc_fd = self._proc_fd
        listing = self._listing(proc_fd, forks)
        current = dict(prev)  # a reading stands until the process is checked again
        if listing is None:
            check = prev.keys() - skip
        else:
            for gone in prev.keys() - listing:
                del current[gone]
            skip &= listing
            check = listing - skip
        read = self._read
        stat_fds, sched_fds = self._stat, self._sched
        use_sched = self.use_schedstat
        period = self._period
        schedule = self._schedule
        prev_get, sched_fd = prev.get, sched_fds.get
        pread = os.pread
        for entry in check:
            seen = prev_get(entry)
            sched = None
            if seen is not None and seen[5] is not None:  # .sched: one thread, last time
                # The common case, inlined: a pread on the schedstat file kept open.
                fd = sched_fd(entry)
                if fd is None:
                    sched = read(sched_fds, entry, "schedstat", proc_fd)
                else:
                    try:
                        sched = pread(fd, 128, 0)
                    except OSError:
                        sched = read(sched_fds, entry, "schedstat", proc_fd)
                if sched == seen[5] and cycle < seen[6]:  # .sched, .full_due
                    # It has not run since: its stat line is as it was.
                    (quiet_odd if entry[-1] in _ODD_DIGITS else quiet_even).add(entry)
                    continue
            data = read(stat_fds, entry, "stat", proc_fd)
            if not data:
                current.pop(entry, None)  # exited
                continue
            if seen is not None and seen.data == data:
                # Nothing to parse; a sleeping process often reads the same each time.
                if sched != seen.sched or cycle >= seen.full_due:
                    current[entry] = seen._replace(sched=sched, full_due=cycle + period)
                    schedule(entry, cycle + period)
                (quiet_odd if entry[-1] in _ODD_DIGITS else quiet_even).add(entry)
                continue
            f = data[data.rfind(b")") + 2 :].split(None, 22)
            if len(f) < 22:
                current.pop(entry, None)
                continue
            ticks = int(f[11]) + int(f[12])
            if seen is not None and seen.start == f[19]:
                if ticks > seen.ticks:
                    ran = ticks - seen.ticks
                    busy[entry] = ran * share if entry in skipped_before else ran
                due = cycle + period
            else:
                due = first_full_read(cycle, entry, period)
            schedule(entry, due)
            if use_sched and f[17] == b"1":
                if sched is None:
                    sched = read(sched_fds, entry, "schedstat", proc_fd)
            elif sched is not None or entry in sched_fds:
                sched = None  # more than one thread: schedstat shows only the first one's time
                if entry in sched_fds:
                    os.close(sched_fds.pop(entry))
            current[entry] = _Seen(data, f[0], f[19], ticks, int(f[21]), sched, due)
        # Those left alone stay quiet until their next check.
        if odd:
            quiet_odd |= skip
        else:
            quiet_even |= skip
        self._quiet_odd, self._quiet_even, self._skipped = quiet_odd, quiet_even, skip
        self.skips += len(skip)
        for table in (stat_fds, sched_fds):
            for entry in table.keys() - current.keys():
                os.close(table.pop(entry))
        self._prev = current
        self._prev_prev_mono, self._prev_mono = self._prev_mono, tick.mono
        states = Counter(map(_STATE, current.values()))
        by_state = {STATES.get(k.decode(), k.decode()): n for k, n in states.items()}
        top_cpu: list[TopProcess] = []
        top_memory: list[TopProcess] = []
        if self.top_n:
            for entry, used in heapq.nlargest(self.top_n, busy.items(), key=_USED):
                top_cpu.append(self._top(entry, used, current[entry], seconds, mem_total))
            pairs = zip(map(_RSS, current.values()), current, strict=True)
            resident = heapq.nlargest(self.top_n, pairs)
            for rss, entry in resident:
                if rss > 0:
                    seen = current[entry]
                    used = busy.get(entry, 0)
                    top_memory.append(self._top(entry, used, seen, seconds, mem_total))
            self._forget_exited(current)
        return Processes(
            total=len(current), by_state=by_state, top_cpu=top_cpu, top_memory=top_memory
        )

    def _top(
        self, entry: str, used: float, seen: _Seen, seconds: float, mem_total: int
    ) -> TopProcess:
        row = _Row(used, seen.rss_pages, entry, seen.data, seen.start)
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
        key = (row.pid, row.start, data[: data.rfind(b")")])
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
        for table in (self._stat, self._sched):
            for fd in table.values():
                os.close(fd)
            table.clear()
        if self._proc_fd is not None:
            os.close(self._proc_fd)
            self._proc_fd = None
