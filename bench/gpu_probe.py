"""The agent's GPU collector (and a whole host collection) on a real NVIDIA machine.

No NATS needed. Prints one JSON document: what NVML reported as `Gpu` structs, each call's
cost, and one full `MetricSample` as the agent would publish it.

    .venv/bin/python -m bench.gpu_probe            # 5 cycles, 1 s apart
    .venv/bin/python -m bench.gpu_probe --cycles 10 --interval 0.5

Run it once idle and once with a job on the GPU to see utilisation, power and the
per-process memory move.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import time
from typing import Any

import msgspec

from vitals_agent.collectors import HostCollector
from vitals_agent.collectors.gpu import DRIVER_SIGNS, GpuCollector, load_nvml
from vitals_agent.rates import Tick


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def probe(cycles: int, interval: float) -> dict[str, Any]:
    out: dict[str, Any] = {"host": socket.gethostname()}
    out["driver_present"] = any(os.path.exists(p) for p in DRIVER_SIGNS)
    nvml = load_nvml()
    out["pynvml_loaded"] = nvml is not None
    t0 = time.perf_counter()
    gpu = GpuCollector(nvml) if nvml is not None else None
    out["init_ms"] = _ms(time.perf_counter() - t0)
    out["gpus_found"] = gpu.count if gpu is not None else 0
    if nvml is not None and gpu is not None and gpu.available:
        try:
            driver = nvml.nvmlSystemGetDriverVersion()
            out["driver"] = driver.decode() if isinstance(driver, bytes) else str(driver)
        except Exception as exc:
            out["driver"] = f"unknown ({exc})"

    gpu_runs = []
    for i in range(cycles):
        t0 = time.perf_counter()
        gpus = gpu.collect() if gpu is not None else []
        gpu_runs.append(
            {
                "cycle": i,
                "ms": _ms(time.perf_counter() - t0),
                "gpus": msgspec.to_builtins(gpus),
            }
        )
        time.sleep(interval)
    out["gpu_collect"] = gpu_runs
    out["gpu_collect_ms_median"] = statistics.median(r["ms"] for r in gpu_runs)
    out["gpu_errors"] = gpu.errors if gpu is not None else 0
    if gpu is not None:
        gpu.close()

    host = HostCollector(socket.gethostname(), interval, top_n=10)
    host.collect(Tick(time.time(), time.monotonic()), 0)  # sets the counters
    host_runs = []
    sample = None
    for i in range(1, cycles + 1):
        time.sleep(interval)
        t0, c0 = time.perf_counter(), time.thread_time()
        sample = host.collect(Tick(time.time(), time.monotonic()), i)
        host_runs.append(
            {
                "cycle": i,
                "ms": _ms(time.perf_counter() - t0),
                "cpu_ms": _ms(time.thread_time() - c0),
            }
        )
    host.close()
    out["host_collect"] = host_runs
    out["host_collect_ms_median"] = statistics.median(r["ms"] for r in host_runs)
    out["host_collect_errors"] = host.errors
    out["last_sample"] = msgspec.to_builtins(sample)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args(argv)
    json.dump(probe(args.cycles, args.interval), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
