"""Reading `/proc` and `/sys` files cheaply: one open, a few reads, no buffering layers."""

from __future__ import annotations

import os

_CHUNK = 65536
_READ = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)


def read_bytes(path: str) -> bytes | None:
    """The whole file, or None when it is missing or unreadable (a process that just exited).

    Reads until end of file: /proc files built record by record (net/tcp, net/dev, mounts,
    vmstat, diskstats) hand out about a page per read, so a short read is not the end.
    """
    try:
        fd = os.open(path, _READ)
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


def pread_all(fd: int, one_piece: bool = False) -> bytes:
    """The file behind `fd`, generated afresh: a read at offset 0 makes the kernel build a
    seq_file or sysfs file again. With `one_piece` (files the kernel builds whole: /proc/stat,
    meminfo, loadavg, net/snmp, sysfs attributes) a read shorter than asked for is all of it;
    otherwise reads go on until one comes back empty."""
    data = os.pread(fd, _CHUNK, 0)
    if not data or (one_piece and len(data) < _CHUNK):
        return data
    parts = [data]
    offset = len(data)
    while chunk := os.pread(fd, _CHUNK, offset):
        parts.append(chunk)
        offset += len(chunk)
    return b"".join(parts)


class ProcFile:
    """A /proc or /sys file read every cycle: opened once, then re-read in place.

    Opening walks the path (tens of microseconds on a cold cache, more than the read); a
    pread on the open file costs only the read. A read that fails (the file went away, a
    device was removed, ESTALE) opens the path afresh once; None when that fails too.
    """

    __slots__ = ("_fd", "keep", "one_piece", "path")

    def __init__(self, path: str, *, one_piece: bool = False, keep: bool = True) -> None:
        self.path = path
        self.one_piece = one_piece
        self.keep = keep  # False: open, read and close each time (beyond an fd budget)
        self._fd: int | None = None

    @property
    def is_open(self) -> bool:
        return self._fd is not None

    def read(self) -> bytes | None:
        fd = self._fd
        if fd is not None:
            try:
                return pread_all(fd, self.one_piece)
            except OSError:
                self.close()
        try:
            fd = os.open(self.path, _READ)
        except OSError:
            return None
        try:
            data = pread_all(fd, self.one_piece)
        except OSError:
            os.close(fd)
            return None
        if self.keep:
            self._fd = fd
        else:
            os.close(fd)
        return data

    def read_text(self) -> str | None:
        data = self.read()
        return None if data is None else data.decode("utf-8", "replace")

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def listed(directory: str, prefix: str, then: str = "") -> list[str]:
    """Paths in `directory` named `prefix*` (with `then` somewhere after the prefix), sorted:
    the `prefix*then*` globs the collectors need, without loading glob and fnmatch."""
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    cut = len(prefix)
    return sorted(f"{directory}/{n}" for n in names if n.startswith(prefix) and then in n[cut:])
