"""Every host metric family, one collector each, joined into one `MetricSample`.

A family that fails is left out of that sample, counted and logged (the first failure, then
every hundredth); the others still go out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any, TypeVar

from vitals_agent.collectors.cpu import CpuCollector
from vitals_agent.collectors.disks import DisksCollector
from vitals_agent.collectors.gpu import GpuCollector
from vitals_agent.collectors.memory import MemoryCollector
from vitals_agent.collectors.net import NetCollector
from vitals_agent.collectors.processes import ProcessesCollector
from vitals_agent.collectors.sensors import SensorsCollector
from vitals_agent.procfs import ProcFile
from vitals_agent.rates import Tick
from vitals_core.events import Cpu, Memory, MetricSample

log = logging.getLogger("vitals.agent.collect")
T = TypeVar("T")
LOG_EVERY = 100


class HostCollector:
    def __init__(
        self,
        host: str,
        interval: float,
        *,
        top_n: int = 10,
        gpu: bool = True,
        connection_states: bool = False,
        proc: str = "/proc",
        sys: str = "/sys",
        nvml: ModuleType | Any | None = None,
    ) -> None:
        self.host = host
        self.interval = interval
        self.proc = proc
        self.cpu = CpuCollector(proc, sys)
        self.memory = MemoryCollector(proc)
        self.disks = DisksCollector(proc, sys)
        self.net = NetCollector(proc, connection_states)
        self.processes = ProcessesCollector(proc, top_n, interval=interval)
        self.gpu = GpuCollector(nvml, proc) if gpu else None
        self.sensors = SensorsCollector(sys)
        self._uptime_file = ProcFile(f"{proc}/uptime", one_piece=True)
        # /proc/uptime is the kernel's boot-time clock, which Python reads without a file.
        self._boot_clock = proc == "/proc" and hasattr(time, "CLOCK_BOOTTIME")
        self.errors = 0
        self._failures: dict[str, int] = {}

    @property
    def boot_time(self) -> float:
        last = self.cpu.last
        return float(last.btime) if last is not None and last.btime else 0.0

    def collect(self, tick: Tick, seq: int) -> MetricSample:
        before = self.cpu.last
        cpu = self._guard("cpu", lambda: self.cpu.collect(tick)) or Cpu(percent=0.0)
        # The fork count from this /proc/stat tells whether any process can have appeared
        # since /proc was last listed; a stale one (the CPU family failed) is not used.
        stat = self.cpu.last
        forks = stat.forks if stat is not None and stat is not before else None
        memory, swap = self._guard("memory", lambda: self.memory.collect(tick)) or (
            Memory(total=0, used=0, available=0, percent=0.0),
            None,
        )
        uptime = self._guard("uptime", self._uptime)
        gpu = self.gpu
        return MetricSample(
            ts=tick.wall,
            host=self.host,
            seq=seq,
            interval=self.interval,
            cpu=cpu,
            memory=memory,
            swap=swap,
            disks=self._guard("disks", lambda: self.disks.usage(tick.mono)) or [],
            disk_io=self._guard("disk_io", lambda: self.disks.io(tick)) or [],
            net=self._guard("net", lambda: self.net.interfaces(tick)) or [],
            connections=self._guard("connections", self.net.connections) or {},
            processes=self._guard(
                "processes", lambda: self.processes.collect(tick, memory.total, forks)
            ),
            uptime_s=uptime,
            gpus=(self._guard("gpu", gpu.collect) or []) if gpu is not None else [],
            temperatures=self._guard("sensors", lambda: self.sensors.collect(tick.mono)) or [],
        )

    def _uptime(self) -> float | None:
        if self._boot_clock:
            return round(time.clock_gettime(time.CLOCK_BOOTTIME), 1)
        data = self._uptime_file.read()
        return round(float(data.split()[0]), 1) if data else None

    def _guard(self, family: str, call: Callable[[], T]) -> T | None:
        try:
            return call()
        except Exception as exc:
            self.errors += 1
            count = self._failures[family] = self._failures.get(family, 0) + 1
            if count % LOG_EVERY == 1:
                log.warning("collecting %s failed (%d times so far): %r", family, count, exc)
            return None

    def close(self) -> None:
        for collector in (self.cpu, self.memory, self.disks, self.net, self.processes):
            collector.close()
        self.sensors.close()
        self._uptime_file.close()
        if self.gpu is not None:
            self.gpu.close()
