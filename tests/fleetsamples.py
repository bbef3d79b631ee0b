"""Samples shaped like the recorded H100 host, with values that move as a live host's do.

The telemetry stream's size per sample depends on what a sample holds and on how much it
changes from second to second (S2 compresses what repeats), so the sizing test and the
failover bench publish these rather than constant templates.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from vitals_core import events

RECORDING = Path(__file__).parent / "fixtures" / "gpu-host-h100" / "nvml-psutil-loaded.json"

# What the agent's top-N process lists hold on a GPU worker (top_n = 10 by default).
_PROCESSES = [
    ("python3", "svc", "python3 -m whisper_worker --model large-v3 --device cuda:0"),
    ("uvicorn", "svc", "uvicorn api.main:app --host 0.0.0.0 --port 8080 --workers 4"),
    ("postgres", "postgres", "postgres: 16/main: checkpointer"),
    ("redis-server", "redis", "/usr/bin/redis-server 127.0.0.1:6379"),
    ("vitals-agent", "vitals", "python3 -m vitals_agent"),
    ("systemd-journal", "root", "/lib/systemd/systemd-journald"),
    ("containerd", "root", "/usr/bin/containerd"),
    ("dockerd", "root", "/usr/bin/dockerd -H fd:// --containerd=/run/containerd.sock"),
    ("nvidia-persiste", "root", "/usr/bin/nvidia-persistenced --user nvidia-persistenced"),
    ("sshd", "root", "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"),
]


def _recording() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(RECORDING.read_text())
    return data


class H100Host:
    """One simulated host: `next(ts)` gives its sample at `ts`, values drifting as they go."""

    def __init__(self, host: str, seed: int = 0, interval: float = 1.0) -> None:
        rec = _recording()
        self.ps, self.gpu = rec["psutil"], rec["gpus"][0]
        self.host = host
        self.interval = interval
        self.rng = random.Random(f"{host}:{seed}")
        self.seq = 0
        self.cores = [float(c) for c in self.ps["cpu_percent_percpu"]]

    def _walk(self, value: float, step: float, low: float = 0.0, high: float = 100.0) -> float:
        return round(min(high, max(low, value + self.rng.uniform(-step, step))), 1)

    def next(self, ts: float) -> events.MetricSample:
        self.seq += 1
        r, ps, gpu = self.rng, self.ps, self.gpu
        self.cores = [self._walk(c, 8.0) for c in self.cores]
        vm = ps["vm"]
        used = int(vm["used"] * r.uniform(0.98, 1.02))
        gpu_used = int(gpu["memory"]["used"] * r.uniform(0.99, 1.01))
        procs = [
            events.TopProcess(
                pid=1000 + i * 37,
                name=name,
                user=user,
                cpu_percent=round(r.uniform(0, 100 if i == 0 else 5), 1),
                rss=r.randrange(20, 4000) * 1 << 20,
                memory_percent=round(r.uniform(0, 3), 2),
                cmdline=cmd,
            )
            for i, (name, user, cmd) in enumerate(_PROCESSES)
        ]
        return events.MetricSample(
            ts=ts,
            host=self.host,
            seq=self.seq,
            interval=self.interval,
            cpu=events.Cpu(
                percent=round(sum(self.cores) / len(self.cores), 1),
                user=round(sum(self.cores) / len(self.cores) * 0.8, 1),
                system=round(r.uniform(0.5, 3), 1),
                iowait=round(r.uniform(0, 0.5), 1),
                cores=[
                    events.CpuCore(percent=c, user=round(c * 0.8, 1), system=round(c * 0.2, 1))
                    for c in self.cores
                ],
                freq_mhz=float(ps["cpu_freq_percpu"][0]["current"]),
                load1=round(ps["loadavg"][0] + r.uniform(0, 1), 2),
                load5=round(ps["loadavg"][1] + r.uniform(0, 0.5), 2),
                load15=round(ps["loadavg"][2] + r.uniform(0, 0.2), 2),
                ctx_switches_per_s=round(r.uniform(5e3, 5e4), 1),
                count=len(self.cores),
            ),
            memory=events.Memory(
                total=vm["total"],
                used=used,
                available=vm["total"] - used,
                percent=round(100 * used / vm["total"], 1),
                cached=vm["cached"],
            ),
            swap=events.Swap(total=ps["swap"]["total"]),
            disks=[
                events.DiskUsage(
                    mount=p["mountpoint"],
                    device=p["device"],
                    fstype=p["fstype"],
                    total=10**12,
                    used=4 * 10**11 + self.seq * 4096,
                    free=6 * 10**11 - self.seq * 4096,
                    percent=40.0,
                )
                for p in ps["partitions"]
            ],
            disk_io=[
                events.DiskIO(
                    device=d,
                    read_bytes_per_s=round(r.uniform(0, 2e6), 1),
                    write_bytes_per_s=round(r.uniform(0, 4e6), 1),
                    read_iops=round(r.uniform(0, 200), 1),
                    write_iops=round(r.uniform(0, 400), 1),
                    busy_percent=round(r.uniform(0, 20), 1),
                )
                for d in ps["diskio_perdisk_keys"]
            ],
            net=[
                events.NetIO(
                    interface=n,
                    rx_bytes_per_s=round(r.uniform(1e3, 5e7), 1),
                    tx_bytes_per_s=round(r.uniform(1e3, 2e7), 1),
                    rx_packets_per_s=round(r.uniform(10, 4e4), 1),
                    tx_packets_per_s=round(r.uniform(10, 3e4), 1),
                )
                for n in ps["net_pernic_keys"]
            ],
            connections={"established": ps["connections"] + r.randrange(0, 40), "listen": 12},
            processes=events.Processes(
                total=ps["process_count"] + r.randrange(-3, 4),
                by_state={"running": r.randrange(1, 6), "sleeping": ps["process_count"] - 3},
                top_cpu=procs,
                top_memory=sorted(procs, key=lambda p: -p.rss),
            ),
            uptime_s=86400.0 + self.seq * self.interval,
            gpus=[
                events.Gpu(
                    index=0,
                    name=gpu["name"],
                    uuid=gpu["uuid"],
                    utilization=self._walk(float(gpu["utilization"]["gpu"]), 3.0),
                    memory_utilization=self._walk(float(gpu["utilization"]["memory"]), 3.0),
                    memory_used=gpu_used,
                    memory_total=gpu["memory"]["total"],
                    memory_percent=round(100 * gpu_used / gpu["memory"]["total"], 2),
                    temperature=self._walk(float(gpu["temperature"]), 1.0),
                    power_w=round(gpu["power_mw"] / 1000 + r.uniform(-20, 10), 1),
                    power_limit_w=gpu["power_limit_mw"] / 1000,
                    processes=[events.GpuProcess(pid=1000, name="python3", used_memory=gpu_used)],
                )
            ],
            agent=events.AgentStats(
                cycle_ms=round(r.uniform(3, 9), 2),
                cycle_cpu_ms=round(r.uniform(2, 6), 2),
                cpu_s=round(self.seq * 0.006, 2),
                rss=48 << 20,
            ),
        )
