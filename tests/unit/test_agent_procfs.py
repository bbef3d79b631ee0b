"""Reading /proc files whole, even when the kernel hands them out a page at a time."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from vitals_agent.procfs import read_bytes, read_text


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
