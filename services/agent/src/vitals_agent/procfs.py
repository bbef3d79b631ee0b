"""Reading `/proc` and `/sys` files cheaply: one open, a few reads, no buffering layers."""

from __future__ import annotations

import os

_CHUNK = 65536


def read_bytes(path: str) -> bytes | None:
    """The whole file, or None when it is missing or unreadable (a process that just exited).

    Reads until end of file: /proc files built record by record (net/tcp, net/dev, mounts,
    vmstat, diskstats) hand out about a page per read, so a short read is not the end.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        parts = []
        while chunk := os.read(fd, _CHUNK):
            parts.append(chunk)
        return b"".join(parts)
    except OSError:
        return None
    finally:
        os.close(fd)


def read_text(path: str) -> str | None:
    data = read_bytes(path)
    return None if data is None else data.decode("utf-8", "replace")
