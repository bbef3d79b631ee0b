"""The GPU collector against a stand-in NVML that answers what a real H100 answered."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from vitals_agent.collectors.gpu import GpuCollector

MIB = 1024 * 1024
# The fixture README: while loaded, nvidia-smi showed one compute process using 6,726 MiB.
LOADED_PROCESS_MEMORY = 6726 * MIB


class NVMLError_NotSupported(Exception):
    pass


class NVMLError_GpuIsLost(Exception):
    pass


class FakeNvml:
    """The slice of pynvml's API the collector uses, answering from a recording."""

    NVML_TEMPERATURE_GPU = 0

    def __init__(self, recording: dict[str, Any], processes: list[tuple[int, int | None]]) -> None:
        self.gpus = recording["gpus"]
        self.processes = processes
        self.calls: dict[str, int] = {}
        self.power_fails: Exception | None = None

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def nvmlInit(self) -> None:
        self._count("init")

    def nvmlShutdown(self) -> None:
        self._count("shutdown")

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, i: int) -> dict[str, Any]:
        gpu: dict[str, Any] = self.gpus[i]
        return gpu

    def nvmlDeviceGetName(self, h: dict[str, Any]) -> bytes:
        return str(h["name"]).encode()  # older nvidia-ml-py answers bytes

    def nvmlDeviceGetUUID(self, h: dict[str, Any]) -> str:
        return str(h["uuid"])

    def nvmlDeviceGetUtilizationRates(self, h: dict[str, Any]) -> SimpleNamespace:
        return SimpleNamespace(**h["utilization"])

    def nvmlDeviceGetMemoryInfo(self, h: dict[str, Any]) -> SimpleNamespace:
        return SimpleNamespace(**h["memory"])

    def nvmlDeviceGetTemperature(self, h: dict[str, Any], sensor: int) -> int:
        assert sensor == self.NVML_TEMPERATURE_GPU
        return int(h["temperature"])

    def nvmlDeviceGetPowerUsage(self, h: dict[str, Any]) -> int:
        self._count("power")
        if self.power_fails is not None:
            raise self.power_fails
        return int(h["power_mw"])

    def nvmlDeviceGetEnforcedPowerLimit(self, h: dict[str, Any]) -> int:
        return int(h["power_limit_mw"])

    def nvmlDeviceGetFanSpeed(self, h: dict[str, Any]) -> int:
        raise NVMLError_NotSupported("Not Supported")

    def nvmlDeviceGetComputeRunningProcesses(self, h: dict[str, Any]) -> list[SimpleNamespace]:
        return [SimpleNamespace(pid=p, usedGpuMemory=m) for p, m in self.processes]

    def nvmlDeviceGetGraphicsRunningProcesses(self, h: dict[str, Any]) -> list[SimpleNamespace]:
        return []


def recording(fixtures: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((fixtures / f"nvml-psutil-{name}.json").read_text())
    return data


def test_idle_h100(h100_fixtures: Path) -> None:
    rec = recording(h100_fixtures, "idle")
    (gpu,) = GpuCollector(FakeNvml(rec, [])).collect()
    raw = rec["gpus"][0]
    assert gpu.index == 0
    assert gpu.name == "NVIDIA H100 80GB HBM3"
    assert gpu.uuid == raw["uuid"]
    assert (gpu.utilization, gpu.memory_utilization) == (0.0, 0.0)
    assert gpu.memory_total == raw["memory"]["total"]
    assert gpu.memory_used == raw["memory"]["used"]
    assert gpu.memory_percent == pytest.approx(100 * 503316480 / 85520809984, abs=0.01)
    assert gpu.temperature == 41.0
    assert gpu.power_w == pytest.approx(92.2, abs=0.05)
    assert gpu.power_limit_w == 700.0
    assert gpu.processes == []


def test_loaded_h100_with_a_compute_process(h100_fixtures: Path) -> None:
    rec = recording(h100_fixtures, "loaded")
    worker = os.getpid()  # a live pid, so its name can be read from /proc
    (gpu,) = GpuCollector(FakeNvml(rec, [(worker, LOADED_PROCESS_MEMORY)])).collect()
    assert (gpu.utilization, gpu.memory_utilization) == (99.0, 30.0)
    assert gpu.memory_used == 7565279232
    assert gpu.temperature == 65.0
    assert gpu.power_w == pytest.approx(691.0, abs=0.05)
    (proc,) = gpu.processes
    assert proc.pid == worker
    assert proc.used_memory == LOADED_PROCESS_MEMORY
    assert proc.name == Path(f"/proc/{worker}/comm").read_text().strip()


def test_process_memory_the_driver_cannot_tell(h100_fixtures: Path) -> None:
    rec = recording(h100_fixtures, "loaded")
    (gpu,) = GpuCollector(FakeNvml(rec, [(999_999_999, None)])).collect()
    (proc,) = gpu.processes
    assert (proc.used_memory, proc.name) == (0, "")


def test_unsupported_values_are_left_out_and_asked_once(h100_fixtures: Path) -> None:
    nvml = FakeNvml(recording(h100_fixtures, "idle"), [])
    nvml.power_fails = NVMLError_NotSupported("Not Supported")
    collector = GpuCollector(nvml)
    for _ in range(3):
        (gpu,) = collector.collect()
        assert gpu.power_w is None
        assert gpu.temperature == 41.0
    assert nvml.calls["power"] == 1
    assert collector.errors == 0


def test_a_lost_gpu_is_counted_not_fatal(h100_fixtures: Path) -> None:
    nvml = FakeNvml(recording(h100_fixtures, "loaded"), [])
    nvml.power_fails = NVMLError_GpuIsLost("GPU is lost")
    collector = GpuCollector(nvml)
    collector.collect()
    (gpu,) = collector.collect()
    assert gpu.power_w is None
    assert gpu.utilization == 99.0
    assert collector.errors == 2
    assert nvml.calls["power"] == 2  # unlike "not supported", asked again


class BrokenNvml(FakeNvml):
    def nvmlInit(self) -> None:
        raise OSError("NVML Shared Library Not Found")


def test_no_driver_means_no_gpus_silently(h100_fixtures: Path) -> None:
    collector = GpuCollector(BrokenNvml(recording(h100_fixtures, "idle"), []))
    assert not collector.available
    assert collector.collect() == []
    collector.close()


def test_real_pynvml_on_a_host_without_gpus() -> None:
    pynvml = pytest.importorskip("pynvml")
    if Path("/proc/driver/nvidia/version").exists():
        pytest.skip("this host has an NVIDIA driver")
    collector = GpuCollector(pynvml)
    assert collector.collect() == []
