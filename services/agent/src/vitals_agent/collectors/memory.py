"""Memory and swap from `/proc/meminfo`; swap-in/out rates from `/proc/vmstat`."""

from __future__ import annotations

import os
from collections.abc import Iterable

from vitals_agent.procfs import ProcFile
from vitals_agent.rates import CounterTracker, Tick
from vitals_core.events import Memory, Swap

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


_SWAP_COUNTERS = ("pswpin", "pswpout")
# The lines of /proc/meminfo a sample needs, out of some 55.
MEMINFO_FIELDS = (
    "MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SReclaimable",
    "SwapTotal", "SwapFree",
)  # fmt: skip


def line_value(text: str, name: str, sep: str = " ") -> str | None:
    """What follows `name` and `sep` on the line that starts so, or None without that line
    (a lookup in C, where splitting every line costs a Python loop)."""
    prefix = name + sep
    if text.startswith(prefix):
        start = len(prefix)
    else:
        at = text.find("\n" + prefix)
        if at < 0:
            return None
        start = at + 1 + len(prefix)
    end = text.find("\n", start)
    return text[start:] if end < 0 else text[start:end]


def parse_meminfo(text: str, names: Iterable[str] | None = None) -> dict[str, int]:
    """`Name: value [kB]` lines in bytes: those named, or every one."""
    if names is None:
        names = [line.partition(":")[0] for line in text.splitlines()]
    out = {}
    for name in names:
        value = line_value(text, name, ":")
        parts = value.split() if value else ()
        if parts and parts[0].isdigit():
            out[name] = int(parts[0]) * 1024 if parts[-1] == "kB" else int(parts[0])
    return out


def parse_vmstat(text: str) -> dict[str, int]:
    """The swap-in and swap-out page counters: two lookups in a file of some 180 lines."""
    values = {name: line_value(text, name) for name in _SWAP_COUNTERS}
    return {name: int(v) for name, v in values.items() if v is not None and v.isdigit()}


def memory_from(info: dict[str, int]) -> Memory:
    total = info.get("MemTotal", 0)
    if "MemAvailable" in info:
        available = info["MemAvailable"]
    else:  # kernels before 3.14
        available = info.get("MemFree", 0) + info.get("Buffers", 0) + info.get("Cached", 0)
    available = min(available, total)
    used = total - available
    return Memory(
        total=total,
        used=used,
        available=available,
        percent=round(used * 100.0 / total, 2) if total else 0.0,
        cached=info.get("Cached", 0) + info.get("SReclaimable", 0),
    )


def swap_from(info: dict[str, int], in_per_s: float = 0.0, out_per_s: float = 0.0) -> Swap:
    total = info.get("SwapTotal", 0)
    used = max(0, total - info.get("SwapFree", 0))
    return Swap(
        total=total,
        used=used,
        percent=round(used * 100.0 / total, 2) if total else 0.0,
        in_per_s=round(in_per_s, 1),
        out_per_s=round(out_per_s, 1),
    )


class MemoryCollector:
    def __init__(self, proc: str = "/proc") -> None:
        self.proc = proc
        self._meminfo = ProcFile(f"{proc}/meminfo", one_piece=True)
        self._vmstat = ProcFile(f"{proc}/vmstat")
        self._swap_pages = CounterTracker(bits=64)

    def collect(self, tick: Tick) -> tuple[Memory, Swap]:
        text = self._meminfo.read_text()
        if text is None:
            raise OSError(f"cannot read {self.proc}/meminfo")
        info = parse_meminfo(text, MEMINFO_FIELDS)
        # Without swap nothing is swapped in or out: /proc/vmstat, the largest file of the
        # cycle, is read only on hosts that have some.
        vmstat = self._vmstat.read_text() if info.get("SwapTotal", 0) > 0 else None
        pages = parse_vmstat(vmstat) if vmstat else {}
        rates = None
        if "pswpin" in pages and "pswpout" in pages:
            rates = self._swap_pages.rates("swap", tick.mono, (pages["pswpin"], pages["pswpout"]))
        sin, sout = (r * PAGE_SIZE for r in rates) if rates else (0.0, 0.0)
        return memory_from(info), swap_from(info, sin, sout)

    def close(self) -> None:
        self._meminfo.close()
        self._vmstat.close()
