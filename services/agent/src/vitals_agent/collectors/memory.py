"""Memory and swap from `/proc/meminfo`; swap-in/out rates from `/proc/vmstat`."""

from __future__ import annotations

import os
import re

from vitals_agent.procfs import read_text
from vitals_agent.rates import CounterTracker, Tick
from vitals_core.events import Memory, Swap

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


# One pass in C over the whole file rather than a Python loop per line.
_MEMINFO = re.compile(r"^([^:\n]+):\s+(\d+)( kB)?$", re.MULTILINE)
_VMSTAT = re.compile(r"^(pswpin|pswpout) (\d+)$", re.MULTILINE)


def parse_meminfo(text: str) -> dict[str, int]:
    """Every `Name: value [kB]` line, in bytes."""
    return {name: int(v) * 1024 if kb else int(v) for name, v, kb in _MEMINFO.findall(text)}


def parse_vmstat(text: str) -> dict[str, int]:
    """The swap-in and swap-out page counters."""
    return {name: int(value) for name, value in _VMSTAT.findall(text)}


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
        self._swap_pages = CounterTracker(bits=64)

    def collect(self, tick: Tick) -> tuple[Memory, Swap]:
        text = read_text(f"{self.proc}/meminfo")
        if text is None:
            raise OSError(f"cannot read {self.proc}/meminfo")
        info = parse_meminfo(text)
        vmstat = read_text(f"{self.proc}/vmstat")
        pages = parse_vmstat(vmstat) if vmstat else {}
        rates = None
        if "pswpin" in pages and "pswpout" in pages:
            rates = self._swap_pages.rates("swap", tick.mono, (pages["pswpin"], pages["pswpout"]))
        sin, sout = (r * PAGE_SIZE for r in rates) if rates else (0.0, 0.0)
        return memory_from(info), swap_from(info, sin, sout)
