"""Processes: /proc/<pid>/stat parsing, CPU percent, top N, redacted command lines."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from vitals_agent.collectors import HostCollector
from vitals_agent.collectors.processes import (
    CLK_TCK,
    PAGE_SIZE,
    ProcessesCollector,
    cpu_percent,
    display_name,
    first_full_read,
    full_read_period,
    parse_pid_stat,
    schedstat_works,
    split_cmdline,
)
from vitals_agent.rates import Tick

STAT = "{pid} ({comm}) {state} 1 1 1 0 -1 4194560 100 0 0 0 {utime} {stime} 0 0 20 0 {threads} 0 {start} 1000 {rss} 18446744073709551615"  # noqa: E501


def fake_proc(root: Path, pid: int, comm: str, state: str, ticks: int, rss_pages: int,
              argv: list[str], start: int = 500, threads: int = 1,
              run_ns: int | None = None) -> None:  # fmt: skip
    d = root / str(pid)
    d.mkdir(parents=True, exist_ok=True)
    line = STAT.format(pid=pid, comm=comm, state=state, utime=ticks, stime=0, start=start,
                       rss=rss_pages, threads=threads)  # fmt: skip
    (d / "stat").write_text(line)
    (d / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + (b"\0" if argv else b""))
    if run_ns is not None:
        (d / "schedstat").write_text(f"{run_ns} 1500 {run_ns // 1000}\n")


def with_schedstat(root: Path, text: str = "123456 789 10\n") -> Path:
    """A fake /proc whose kernel counts run time in /proc/<pid>/schedstat."""
    (root / "self").mkdir(parents=True, exist_ok=True)
    (root / "self" / "schedstat").write_text(text)
    return root


def test_parse_the_real_thing() -> None:
    stat = parse_pid_stat(Path(f"/proc/{os.getpid()}/stat").read_bytes())
    assert stat is not None
    assert stat.state in "RS"
    assert stat.rss_pages > 0


@pytest.mark.parametrize(
    ("comm", "expected"),
    [("python3", "python3"), ("my (odd) name", "my (odd) name"), ("a) b", "a) b"), ("", "")],
)
def test_parse_names_with_spaces_and_parentheses(comm: str, expected: str) -> None:
    line = STAT.format(pid=7, comm=comm, state="S", utime=5, stime=6, start=9, rss=3, threads=1)
    stat = parse_pid_stat(line.encode())
    assert stat is not None
    assert (stat.comm, stat.state, stat.ticks, stat.rss_pages, stat.starttime) == (
        expected, "S", 5 + 6, 3, 9,
    )  # fmt: skip


@pytest.mark.parametrize("data", [b"", b"12 noparens S 1", b"12 (x) S 1 2 3"])
def test_parse_garbage(data: bytes) -> None:
    assert parse_pid_stat(data) is None


@pytest.mark.parametrize(
    ("comm", "argv", "expected"),
    [
        ("python3", ["/usr/bin/python3", "x.py"], "python3"),
        ("transcribe-work", ["/opt/bin/transcribe-worker", "-q"], "transcribe-worker"),
        ("transcribe-work", ["/usr/bin/python3", "w.py"], "transcribe-work"),
        ("kworker/0:1-eve", [], "kworker/0:1-eve"),
    ],
)
def test_display_name(comm: str, argv: list[str], expected: str) -> None:
    assert display_name(comm, argv) == expected


def test_cpu_percent_and_cmdline_split() -> None:
    assert cpu_percent(100, 100 + CLK_TCK, 1.0) == 100.0
    assert cpu_percent(100, 100 + 2 * CLK_TCK, 0.5) == 400.0  # four cores busy
    assert cpu_percent(100, 50, 1.0) == 0.0
    assert split_cmdline(b"sleep\x0060\x00") == ["sleep", "60"]
    assert split_cmdline(b"") == []


def test_collector_top_n_states_and_redaction(tmp_path: Path) -> None:
    root = tmp_path / "proc"
    fake_proc(root, 1, "init", "S", 10, 100, ["/sbin/init"])
    fake_proc(root, 2, "kthreadd", "S", 0, 0, [])
    fake_proc(root, 10, "python", "R", 1000, 50_000, ["python", "app.py", "--password=hunter2"])
    fake_proc(root, 11, "mysql", "S", 5, 300, ["mysql", "-phunter2", "shop"])
    fake_proc(root, 12, "defunct", "Z", 0, 0, [])
    (root / "self").mkdir()  # not a pid
    collector = ProcessesCollector(str(root), top_n=2)
    first = collector.collect(Tick(0.0, 100.0), mem_total=100_000 * PAGE_SIZE)
    assert first.total == 5
    assert first.by_state == {"sleeping": 3, "running": 1, "zombie": 1}
    assert first.top_cpu == []  # no CPU rate on the first look
    assert [p.pid for p in first.top_memory] == [10, 11]
    python = first.top_memory[0]
    assert python.cmdline == "python app.py --password=***"
    assert python.rss == 50_000 * PAGE_SIZE
    assert python.memory_percent == 50.0
    assert python.user  # the owner of the directory, resolved to a name
    assert first.top_memory[1].cmdline == "mysql -p*** shop"

    # Two seconds later pid 10 used one CPU second, pid 1 a tenth of one.
    fake_proc(root, 10, "python", "R", 1000 + CLK_TCK, 50_000, ["python"])
    fake_proc(root, 1, "init", "S", 10 + CLK_TCK // 10, 100, ["/sbin/init"])
    second = collector.collect(Tick(2.0, 102.0), mem_total=100_000 * PAGE_SIZE)
    assert [(p.pid, p.cpu_percent) for p in second.top_cpu] == [(10, 50.0), (1, 5.0)]
    # The command line read while the process lived is kept (no re-read per cycle).
    assert second.top_cpu[0].cmdline == "python app.py --password=***"


def test_a_reused_pid_is_a_new_process(tmp_path: Path) -> None:
    root = tmp_path / "proc"
    fake_proc(root, 10, "old", "S", 5000, 10, ["old"], start=100)
    collector = ProcessesCollector(str(root), top_n=5)
    collector.collect(Tick(0.0, 0.0), mem_total=0)
    fake_proc(root, 10, "new", "S", 10, 10, ["new", "--token", "abc"], start=900)
    out = collector.collect(Tick(1.0, 1.0), mem_total=0)
    assert out.top_cpu == []  # not 5000 ticks "used" by the new process
    assert out.top_memory[0].cmdline == "new --token ***"


def test_top_n_zero_only_counts(tmp_path: Path) -> None:
    root = tmp_path / "proc"
    fake_proc(root, 1, "init", "S", 10, 100, ["/sbin/init"])
    out = ProcessesCollector(str(root), top_n=0).collect(Tick(0.0, 0.0), mem_total=1)
    assert (out.total, out.top_cpu, out.top_memory) == (1, [], [])


def test_stat_files_stay_open_within_budget_and_close_with_their_process(tmp_path: Path) -> None:
    root = tmp_path / "proc"
    for pid in (1, 2, 3):
        fake_proc(root, pid, f"p{pid}", "S", 10, 10, [f"p{pid}"])
    collector = ProcessesCollector(str(root), top_n=1, keep_open=2)
    assert collector.collect(Tick(0.0, 0.0), mem_total=0).total == 3
    assert collector.kept_open == 2  # the budget; the third is read and closed each time
    fake_proc(root, 1, "p1", "R", 10 + CLK_TCK, 10, ["p1"])  # read again through its open file
    assert collector.collect(Tick(1.0, 1.0), mem_total=0).top_cpu[0].pid == 1
    for pid in (1, 2):
        shutil.rmtree(root / str(pid))
    assert collector.collect(Tick(2.0, 2.0), mem_total=0).total == 1
    assert collector.kept_open <= 1  # closed for the processes gone
    collector.collect(Tick(3.0, 3.0), mem_total=0)  # pid 3, quiet, is checked every other cycle
    assert collector.kept_open == 1  # and holds a slot
    collector.close()
    assert collector.kept_open == 0


def test_real_proc_with_open_files() -> None:
    collector = ProcessesCollector(top_n=3)
    collector.collect(Tick(0.0, 0.0), mem_total=1)
    second = collector.collect(Tick(1.0, 1.0), mem_total=1)
    assert second.total > 0
    assert second.by_state
    assert 0 < collector.kept_open <= 2 * second.total  # stat, and schedstat for one thread
    assert collector.use_schedstat == schedstat_works("/proc")
    collector.close()
    assert collector.kept_open == 0


@pytest.mark.parametrize(
    ("interval", "period"),
    [(1.0, 30), (0.5, 60), (3.0, 10), (5.0, 6), (10.0, 3), (30.0, 1), (60.0, 1)],
)
def test_full_read_period(interval: float, period: int) -> None:
    assert full_read_period(interval) == period


@pytest.mark.parametrize("period", [1, 2, 10])
def test_first_full_reads_are_spread_by_pid(period: int) -> None:
    due = [first_full_read(50, str(pid), period) for pid in range(1, 1001)]
    assert min(due) == 51
    assert max(due) == 50 + period
    assert {due.count(cycle) for cycle in range(51, 51 + period)} == {1000 // period}


@pytest.mark.parametrize(
    ("text", "works"),
    [("123456 789 10\n", True), ("0 0 0\n", False), ("", False), ("x y z\n", False), (None, False)],
)
def test_schedstat_works(tmp_path: Path, text: str | None, works: bool) -> None:
    if text is not None:
        with_schedstat(tmp_path, text)
    assert schedstat_works(str(tmp_path)) == works


# Does a change of a process's stat line (here its RSS) show the next cycle?
@pytest.mark.parametrize(
    ("threads", "ran", "kernel_schedstat", "interval", "seen"),
    [
        (1, False, "123456 789 10\n", 1.0, False),  # did not run: the last reading stands
        (1, True, "123456 789 10\n", 1.0, True),  # ran: stat read
        (4, False, "123456 789 10\n", 1.0, True),  # schedstat shows one thread of several
        (1, False, None, 1.0, True),  # a kernel without schedstat: stat every cycle
        (1, False, "0 0 0\n", 1.0, True),  # schedstat off: it reads 0 for everyone
        (1, False, "123456 789 10\n", 10.0, True),  # every cycle is a full read anyway
    ],
    ids=["idle", "ran", "threads", "no-schedstat", "schedstat-off", "slow-interval"],
)
def test_schedstat_first(
    tmp_path: Path, threads: int, ran: bool, kernel_schedstat: str | None, interval: float,
    seen: bool,
) -> None:  # fmt: skip
    root = tmp_path / "proc"
    root.mkdir()
    if kernel_schedstat is not None:
        with_schedstat(root, kernel_schedstat)
    pid = 15  # its first full read falls on cycle 1 + 1 + 15 % 10 = 7 (at a 1 s interval)
    fake_proc(root, pid, "worker", "S", 100, 1000, ["worker"], threads=threads, run_ns=5_000)
    collector = ProcessesCollector(str(root), top_n=1, interval=interval)
    assert collector.collect(Tick(0.0, 0.0), mem_total=1).top_memory[0].rss == 1000 * PAGE_SIZE
    fake_proc(root, pid, "worker", "S", 100, 2000, ["worker"], threads=threads,
              run_ns=6_000 if ran else 5_000)  # fmt: skip
    rss = collector.collect(Tick(1.0, 1.0), mem_total=1).top_memory[0].rss
    assert rss == (2000 if seen else 1000) * PAGE_SIZE
    collector.close()


@pytest.mark.parametrize("pid", [20, 27, 39])
def test_a_process_that_never_runs_is_still_read_in_full_each_period(
    tmp_path: Path, pid: int
) -> None:
    root = with_schedstat(tmp_path / "proc")
    fake_proc(root, pid, "idle", "S", 7, 1000, ["idle"], run_ns=5_000)
    collector = ProcessesCollector(str(root), top_n=1, interval=1.0)
    period = full_read_period(1.0)
    collector.collect(Tick(0.0, 0.0), mem_total=1)
    for rss in (2000, 3000):  # reclaim shrank it (or it grew) without it running
        fake_proc(root, pid, "idle", "S", 7, rss, ["idle"], run_ns=5_000)
        cycles = 0
        while collector.collect(Tick(0.0, 0.0), mem_total=1).top_memory[0].rss != rss * PAGE_SIZE:
            cycles += 1
            assert cycles < period
    collector.close()


def test_cpu_of_a_process_seen_through_schedstat(tmp_path: Path) -> None:
    root = with_schedstat(tmp_path / "proc")
    fake_proc(root, 30, "busy", "R", 100, 10, ["busy"], run_ns=1_000_000)
    fake_proc(root, 31, "idle", "S", 100, 10, ["idle"], run_ns=2_000_000)
    collector = ProcessesCollector(str(root), top_n=2)
    collector.collect(Tick(0.0, 0.0), mem_total=1)
    fake_proc(root, 30, "busy", "R", 100 + CLK_TCK, 10, ["busy"], run_ns=1_000_000_000)
    out = collector.collect(Tick(1.0, 1.0), mem_total=1)
    assert [(p.pid, p.cpu_percent) for p in out.top_cpu] == [(30, 100.0)]
    assert out.by_state == {"running": 1, "sleeping": 1}
    assert collector.kept_open == 4  # stat and schedstat of each
    collector.close()


def test_schedstat_files_count_against_the_fd_budget(tmp_path: Path) -> None:
    root = with_schedstat(tmp_path / "proc")
    for pid in (1, 2, 3):
        fake_proc(root, pid, f"p{pid}", "S", 10, 10, [f"p{pid}"], run_ns=1000 * pid)
    fake_proc(root, 4, "threads", "S", 10, 10, ["threads"], threads=8, run_ns=1)
    collector = ProcessesCollector(str(root), top_n=1, keep_open=5)
    for second in range(3):
        assert collector.collect(Tick(second, second), mem_total=1).total == 4
        assert collector.kept_open == 5
    collector.close()
    assert collector.kept_open == 0


def test_proc_is_listed_again_only_after_a_fork(tmp_path: Path) -> None:
    root = tmp_path / "proc"
    for pid in (1, 2):
        fake_proc(root, pid, f"p{pid}", "S", 10, 10, [f"p{pid}"])
    # Nothing kept open, so a process removed from the fake tree reads as gone.
    collector = ProcessesCollector(str(root), top_n=0, keep_open=0)
    assert collector.collect(Tick(0.0, 0.0), mem_total=1, forks=100).total == 2
    fake_proc(root, 3, "p3", "S", 10, 10, ["p3"])  # (a fake: no fork counted)
    assert collector.collect(Tick(1.0, 1.0), mem_total=1, forks=100).total == 2
    shutil.rmtree(root / "2")
    assert collector.collect(Tick(2.0, 2.0), mem_total=1, forks=100).total == 1
    assert collector.listings == 1
    assert collector.collect(Tick(3.0, 3.0), mem_total=1, forks=101).total == 2
    assert collector.listings == 2
    collector.collect(Tick(4.0, 4.0), mem_total=1, forks=None)  # no count: always listed
    assert collector.listings == 3


def test_the_host_collector_hands_the_fork_count_over(h100_fixtures: Path, tmp_path: Path) -> None:
    root = tmp_path / "proc"
    shutil.copytree(h100_fixtures / "proc", root)
    fake_proc(root, 1, "init", "S", 10, 10, ["init"])
    collector = HostCollector("h", 1.0, gpu=False, proc=str(root), sys=str(tmp_path / "sys"))
    for second in range(3):
        collector.collect(Tick(second, second), second)
    assert collector.processes.listings == 1
    stat = (root / "stat").read_text()
    (root / "stat").write_text(stat.replace("\nprocesses 508\n", "\nprocesses 509\n"))
    collector.collect(Tick(3.0, 3.0), 3)
    assert collector.processes.listings == 2
    (root / "stat").write_text("garbage\n")  # the CPU family fails: its count is not used
    collector.collect(Tick(4.0, 4.0), 4)
    assert collector.processes.listings == 3
    assert collector.errors == 1
    collector.close()


def test_quiet_processes_are_checked_every_other_cycle(tmp_path: Path) -> None:
    root = with_schedstat(tmp_path / "proc")
    # First full reads on cycles 10 and 11 (1 + 1 + pid % 10), out of the way here.
    for pid in (48, 59):
        fake_proc(root, pid, "idle", "S", 7, 10, ["idle"], run_ns=5_000)
    collector = ProcessesCollector(str(root), top_n=2, interval=1.0)
    skips = []
    for cycle in range(1, 7):
        out = collector.collect(Tick(float(cycle), float(cycle)), mem_total=1)
        assert out.total == 2
        skips.append(collector.skips)
    # Cycles 1 and 2 read both (the second finds them quiet); from then on each is checked
    # every other cycle: the odd pid on even cycles, the even pid on odd ones.
    assert skips == [0, 0, 1, 2, 3, 4]
    collector.close()


def test_a_process_that_ran_unchecked_has_its_cpu_spread_over_both_cycles(
    tmp_path: Path,
) -> None:
    root = with_schedstat(tmp_path / "proc")
    pid = 59  # odd: not checked on odd cycles once quiet; first full read on cycle 11
    fake_proc(root, pid, "worker", "S", 100, 10, ["worker"], run_ns=5_000)
    collector = ProcessesCollector(str(root), top_n=1, interval=1.0)
    for cycle in (1, 2):  # seen, then found quiet
        collector.collect(Tick(float(cycle), float(cycle)), mem_total=1)
    # It works for one second of CPU while the collector leaves it alone on cycle 3.
    fake_proc(root, pid, "worker", "R", 100 + CLK_TCK, 10, ["worker"], run_ns=9_000_000)
    third = collector.collect(Tick(3.0, 3.0), mem_total=1)
    assert third.top_cpu == []
    assert third.by_state == {"sleeping": 1}
    fourth = collector.collect(Tick(4.0, 4.0), mem_total=1)
    assert [(p.pid, p.cpu_percent) for p in fourth.top_cpu] == [(pid, 50.0)]
    assert fourth.by_state == {"running": 1}
    collector.close()


def test_a_busy_process_is_checked_every_cycle(tmp_path: Path) -> None:
    root = with_schedstat(tmp_path / "proc")
    pid = 59
    collector = ProcessesCollector(str(root), top_n=1, interval=1.0)
    for cycle in range(1, 7):
        fake_proc(root, pid, "busy", "R", 100 + cycle * CLK_TCK // 4, 10, ["busy"],
                  run_ns=cycle * 1_000_000)  # fmt: skip
        out = collector.collect(Tick(float(cycle), float(cycle)), mem_total=1)
        if cycle > 1:
            assert [(p.pid, p.cpu_percent) for p in out.top_cpu] == [(pid, 25.0)]
    assert collector.skips == 0
    collector.close()
