"""Real processes whose titles were rewritten (`exec -a`) show no secret through the agent's
process collector, reading the real /proc."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from vitals_agent.collectors.processes import ProcessesCollector
from vitals_agent.rates import Tick
from vitals_core.events import TopProcess

SECRET = "S3cretTitle"
# Holds a little memory so that it has a resident size, then waits.
HOLDER = "import time; block = bytearray(8 << 20); block[::4096] = b'x' * (8 << 8); time.sleep(60)"
TITLES = [
    f"mysql -p{SECRET} --password=x",
    f"mysql -u root -p{SECRET}",
    f"redis-cli -a {SECRET}",
]

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@pytest.fixture
def titled() -> Iterator[dict[int, str]]:
    """Processes started by bash with `exec -a TITLE`, by pid."""
    procs = {
        title: subprocess.Popen(
            ["bash", "-c", f'exec -a "{title}" {sys.executable} -c "{HOLDER}"'],
            stdout=subprocess.DEVNULL,
        )
        for title in TITLES
    }
    # The title is in place once bash has exec'd: its own command line (`bash -c ...`)
    # holds the secret too, and a process read in the middle of its exec reads as gone.
    deadline = time.monotonic() + 10
    for title, p in procs.items():
        while not _cmdline(p.pid).startswith(title.encode() + b"\0"):
            assert time.monotonic() < deadline, "the title was not set in time"
            time.sleep(0.02)
    yield {p.pid: title for title, p in procs.items()}
    for p in procs.values():
        p.kill()
        p.wait()


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def test_rewritten_titles_are_redacted_by_the_collector(titled: dict[int, str]) -> None:
    # Every process is listed (a large top), so ours are whatever else the host runs.
    collector = ProcessesCollector(top_n=100_000)
    out = collector.collect(
        Tick(time.time(), time.monotonic()),
        mem_total=os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"),
    )
    collector.close()
    ours: dict[int, TopProcess] = {p.pid: p for p in out.top_memory if p.pid in titled}
    assert set(ours) == set(titled)
    for pid, proc in ours.items():
        assert SECRET not in proc.cmdline, proc.cmdline
        assert SECRET not in proc.name
        assert proc.cmdline.startswith(titled[pid].split()[0]), proc.cmdline
        assert "***" in proc.cmdline
