"""Processes: /proc/<pid>/stat parsing, CPU percent, top N, redacted command lines."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from vitals_agent.collectors.processes import (
    CLK_TCK,
    PAGE_SIZE,
    ProcessesCollector,
    cpu_percent,
    display_name,
    parse_pid_stat,
    split_cmdline,
)
from vitals_agent.rates import Tick

STAT = "{pid} ({comm}) {state} 1 1 1 0 -1 4194560 100 0 0 0 {utime} {stime} 0 0 20 0 1 0 {start} 1000 {rss} 18446744073709551615"  # noqa: E501


def fake_proc(root: Path, pid: int, comm: str, state: str, ticks: int, rss_pages: int,
              argv: list[str], start: int = 500) -> None:  # fmt: skip
    d = root / str(pid)
    d.mkdir(parents=True, exist_ok=True)
    line = STAT.format(pid=pid, comm=comm, state=state, utime=ticks, stime=0, start=start,
                       rss=rss_pages)  # fmt: skip
    (d / "stat").write_text(line)
    (d / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + (b"\0" if argv else b""))


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
    line = STAT.format(pid=7, comm=comm, state="S", utime=5, stime=6, start=9, rss=3)
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
    assert collector.kept_open == 1  # closed for the processes gone; pid 3 took a slot
    collector.close()
    assert collector.kept_open == 0


def test_real_proc_with_open_files() -> None:
    collector = ProcessesCollector(top_n=3)
    collector.collect(Tick(0.0, 0.0), mem_total=1)
    second = collector.collect(Tick(1.0, 1.0), mem_total=1)
    assert second.total > 0
    assert second.by_state
    assert 0 < collector.kept_open <= second.total
    collector.close()
