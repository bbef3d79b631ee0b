"""Sample this host with psutil into a `MetricSample`."""

from __future__ import annotations

import time

import psutil

from vitals_core.events import Cpu, DiskUsage, Memory, MetricSample, NetIO

PSEUDO_FS = frozenset(
    {"proc", "sysfs", "devtmpfs", "devpts", "tmpfs", "cgroup", "cgroup2", "overlay", "squashfs",
     "securityfs", "pstore", "debugfs", "tracefs", "configfs", "fusectl", "mqueue", "hugetlbfs",
     "autofs", "binfmt_misc", "nsfs", "bpf", "rpc_pipefs", "ramfs"}
)  # fmt: skip


def rate(current: int, previous: int, seconds: float) -> float:
    """Per-second rate of a counter; a counter that went backwards (reset) gives 0."""
    if seconds <= 0 or current < previous:
        return 0.0
    return (current - previous) / seconds


class Collector:
    def __init__(self, host: str, interval: float) -> None:
        self.host = host
        self.interval = interval
        self.seq = 0
        self._net_prev: dict[str, tuple[int, int]] = {}
        self._net_time = 0.0
        psutil.cpu_percent()  # primes the CPU counters so the first sample is meaningful

    def sample(self) -> MetricSample:
        now = time.time()
        self.seq += 1
        vm = psutil.virtual_memory()
        return MetricSample(
            ts=now,
            host=self.host,
            seq=self.seq,
            interval=self.interval,
            cpu=Cpu(percent=psutil.cpu_percent(), count=psutil.cpu_count() or 0),
            memory=Memory(total=vm.total, used=vm.used, available=vm.available, percent=vm.percent),
            disks=self._disks(),
            net=self._net(now),
        )

    def _disks(self) -> list[DiskUsage]:
        disks = []
        for part in psutil.disk_partitions(all=False):
            if part.fstype in PSEUDO_FS:
                continue
            try:
                u = psutil.disk_usage(part.mountpoint)
            except OSError:
                continue
            disks.append(
                DiskUsage(
                    mount=part.mountpoint, device=part.device, fstype=part.fstype,
                    total=u.total, used=u.used, free=u.free, percent=u.percent,
                )
            )  # fmt: skip
        return disks

    def _net(self, now: float) -> list[NetIO]:
        counters = psutil.net_io_counters(pernic=True)
        elapsed = now - self._net_time
        out = []
        for name, c in counters.items():
            prev = self._net_prev.get(name)
            if prev is not None:
                out.append(
                    NetIO(
                        interface=name,
                        rx_bytes_per_s=rate(c.bytes_recv, prev[0], elapsed),
                        tx_bytes_per_s=rate(c.bytes_sent, prev[1], elapsed),
                    )
                )
            self._net_prev[name] = (c.bytes_recv, c.bytes_sent)
        self._net_time = now
        return out
