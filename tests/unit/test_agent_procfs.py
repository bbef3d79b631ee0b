"""Reading /proc files whole (even when the kernel hands them out a page at a time), and
re-reading files kept open."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from vitals_agent.collectors import HostCollector
from vitals_agent.procfs import ProcFile, read_bytes, read_text
from vitals_agent.rates import Tick


def test_short_reads_are_not_the_end(tmp_path: Path) -> None:
    fifo = tmp_path / "pages"
    os.mkfifo(fifo)
    pages = [bytes([65 + i]) * 4096 for i in range(5)]

    def writer() -> None:
        with fifo.open("wb", buffering=0) as f:
            for page in pages:
                f.write(page)
                time.sleep(0.01)  # each page arrives on its own, like a seq_file read

    thread = threading.Thread(target=writer)
    thread.start()
    data = read_bytes(str(fifo))
    thread.join()
    assert data == b"".join(pages)


def test_a_large_real_proc_file_is_read_whole() -> None:
    # /proc/self/maps is built record by record and is usually several pages long.
    data = read_bytes("/proc/self/maps")
    assert data is not None
    assert len(data) > 4096  # more than the first page
    assert data.endswith(b"\n")


def test_missing_files() -> None:
    assert read_bytes("/proc/999999999/stat") is None
    assert read_text("/nonexistent/file") is None


@pytest.mark.parametrize("one_piece", [False, True])
@pytest.mark.parametrize("size", [0, 10, 65536, 65537, 200_000])
def test_proc_file_reads_whole_files_of_any_size(
    tmp_path: Path, size: int, one_piece: bool
) -> None:
    path = tmp_path / "f"
    body = bytes(i % 251 for i in range(size))
    path.write_bytes(body)
    f = ProcFile(str(path), one_piece=one_piece)
    assert f.read() == body
    assert f.is_open
    f.close()


@pytest.mark.parametrize("keep", [True, False])
def test_proc_file_rereads_in_place(tmp_path: Path, keep: bool) -> None:
    path = tmp_path / "counter"
    path.write_text("1\n")
    f = ProcFile(str(path), keep=keep)
    assert f.read_text() == "1\n"
    assert f.is_open == keep
    path.write_text("22\n")  # rewritten in place, as the kernel regenerates a /proc file
    assert f.read_text() == "22\n"
    f.close()
    assert not f.is_open
    assert f.read_text() == "22\n"  # opened again after a close
    f.close()


def test_proc_file_opens_afresh_once_after_an_error(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("a")
    f = ProcFile(str(path))
    assert f.read() == b"a"
    fd = f._fd
    assert fd is not None
    # The open file now fails to read (EISDIR here; ESTALE, ENODEV, ESRCH in life).
    other = os.open(tmp_path, os.O_RDONLY)
    os.dup2(other, fd)
    os.close(other)
    assert f.read() == b"a"
    assert f.is_open
    f.close()


@pytest.mark.parametrize("path", ["/nonexistent/file", "/proc/999999999/stat", "/proc"])
def test_proc_file_that_cannot_be_read(path: str) -> None:
    f = ProcFile(path)
    assert f.read() is None  # a directory opens but does not read
    assert not f.is_open


def test_proc_file_of_a_process_that_exits() -> None:
    child = subprocess.Popen(["sleep", "60"])
    f = ProcFile(f"/proc/{child.pid}/stat")
    first = f.read()
    assert first is not None
    assert first.startswith(f"{child.pid} (sleep)".encode())
    child.kill()
    child.wait()
    assert f.read() is None
    assert not f.is_open


def _burn_cpu() -> None:
    end = time.thread_time() + 0.02
    while time.thread_time() < end:
        pass


def _spawn() -> None:
    subprocess.run(["true"], check=True)


def _udp_to_loopback() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _ in range(3):
            s.sendto(b"x", ("127.0.0.1", 9))


def _sleep() -> None:
    time.sleep(0.05)


def _allocate() -> bytearray:
    block = bytearray(64 << 20)
    block[::4096] = b"x" * (len(block) // 4096)
    return block  # held while the file is read again


# Every file a collector reads each cycle that this host has, read as the collector reads it,
# with something that changes it: a pread at offset 0 on the file kept open must show it.
LIVE: list[tuple[str, bool, Callable[[], object]]] = [
    ("/proc/stat", True, _sleep),  # context switches, jiffies
    ("/proc/uptime", True, _sleep),
    ("/proc/loadavg", True, _spawn),  # the last pid created
    ("/proc/meminfo", True, _allocate),
    ("/proc/vmstat", False, _allocate),  # pages allocated
    ("/proc/net/dev", False, _udp_to_loopback),
    ("/proc/net/snmp", True, _udp_to_loopback),  # Udp OutDatagrams
    ("/proc/self/schedstat", False, _burn_cpu),
    ("/sys/class/net/lo/statistics/tx_packets", True, _udp_to_loopback),
]


@pytest.mark.parametrize(("path", "one_piece", "change"), LIVE, ids=[p for p, _, _ in LIVE])
def test_a_kept_file_shows_fresh_content(
    path: str, one_piece: bool, change: Callable[[], object]
) -> None:
    if not os.path.exists(path):
        pytest.skip(f"{path} not on this host")
    f = ProcFile(path, one_piece=one_piece)
    before = f.read()
    held = change()
    after = f.read()
    # Memory counters reach the global figures when the kernel folds its per-CPU deltas in
    # (about once a second).
    deadline = time.monotonic() + 3
    while after == before and time.monotonic() < deadline:
        time.sleep(0.05)
        after = f.read()
    del held
    f.close()
    assert before
    assert after
    assert after != before
    # The same shape as a fresh read: every line, none cut or doubled.
    fresh = read_bytes(path)
    assert fresh is not None
    assert [len(line.split()) for line in after.splitlines()] == [
        len(line.split()) for line in fresh.splitlines()
    ]


def test_sockets_counted_through_a_kept_file() -> None:
    f = ProcFile("/proc/net/sockstat", one_piece=True)
    before = f.read_text()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        during = f.read_text()
    f.close()
    assert before is not None
    assert during is not None
    assert before != during  # TCP inuse went up by the listening socket


def test_the_host_collector_closes_every_file_it_kept_open() -> None:
    before = set(os.listdir("/proc/self/fd"))
    collector = HostCollector("h", 1.0, gpu=False, connection_states=True)
    collector.collect(Tick(0.0, time.monotonic()), 0)
    sample = collector.collect(Tick(1.0, time.monotonic()), 1)
    assert collector.errors == 0
    assert sample.processes is not None
    assert len(os.listdir("/proc/self/fd")) > len(before)  # files kept between cycles
    collector.close()
    assert set(os.listdir("/proc/self/fd")) == before
