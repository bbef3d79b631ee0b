"""NVIDIA GPUs through NVML (`pynvml` from nvidia-ml-py).

No library, no driver or no GPU: no GPUs, silently (one debug line). A value the device
does not support (fan speed on a data-centre card, power on some boards) is left out; a
device that starts failing is reported without the failing values and counted.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
from collections.abc import Callable
from functools import partial
from types import ModuleType
from typing import Any, TypeVar

from vitals_agent.procfs import read_text
from vitals_core.events import Gpu, GpuProcess

log = logging.getLogger("vitals.agent.gpu")
T = TypeVar("T")
DRIVER_SIGNS = ("/proc/driver/nvidia/version", "/dev/nvidiactl")


def load_nvml() -> ModuleType | None:
    """pynvml, when an NVIDIA driver is loaded (else its import is only memory spent)."""
    if not any(os.path.exists(p) for p in DRIVER_SIGNS):
        return None
    try:
        return importlib.import_module("pynvml")
    except ImportError:
        return None


def _uuid(nvml: Any, handle: Any) -> str:
    return _text(nvml.nvmlDeviceGetUUID(handle))


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class GpuCollector:
    """Reads every GPU NVML sees; `nvml` is the pynvml module or a stand-in with its API."""

    def __init__(self, nvml: ModuleType | Any | None = None, proc: str = "/proc") -> None:
        self.nvml: Any = nvml if nvml is not None else load_nvml()
        self.proc = proc
        self.errors = 0
        self._handles: list[tuple[int, Any, str, str]] = []  # index, handle, name, uuid
        self._ready = False
        self._unsupported: set[tuple[int, str]] = set()
        if self.nvml is not None:
            self._start()

    @property
    def count(self) -> int:
        return len(self._handles)

    @property
    def available(self) -> bool:
        return self._ready and bool(self._handles)

    def _start(self) -> None:
        nvml = self.nvml
        try:
            nvml.nvmlInit()
            count = int(nvml.nvmlDeviceGetCount())
            for index in range(count):
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
                name = _text(nvml.nvmlDeviceGetName(handle))
                uuid = self._optional(index, "uuid", partial(_uuid, nvml, handle))
                self._handles.append((index, handle, name, uuid or ""))
        except Exception as exc:  # NVMLError_LibraryNotFound, _DriverNotLoaded, ...
            log.debug("no NVIDIA GPUs: %s", exc)
            self._handles = []
            return
        self._ready = True

    def collect(self) -> list[Gpu]:
        if not self._ready:
            return []
        return [self._device(*entry) for entry in self._handles]

    def _device(self, index: int, handle: Any, name: str, uuid: str) -> Gpu:
        nvml = self.nvml
        util = self._optional(index, "util", lambda: nvml.nvmlDeviceGetUtilizationRates(handle))
        mem = self._optional(index, "memory", lambda: nvml.nvmlDeviceGetMemoryInfo(handle))
        temp = self._optional(
            index, "temp", lambda: nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU)
        )
        power_mw = self._optional(index, "power", lambda: nvml.nvmlDeviceGetPowerUsage(handle))
        limit_mw = self._optional(
            index, "limit", lambda: nvml.nvmlDeviceGetEnforcedPowerLimit(handle)
        )
        total = int(mem.total) if mem is not None else 0
        used = int(mem.used) if mem is not None else 0
        return Gpu(
            index=index,
            name=name,
            uuid=uuid,
            utilization=float(util.gpu) if util is not None else 0.0,
            memory_utilization=float(util.memory) if util is not None else 0.0,
            memory_used=used,
            memory_total=total,
            memory_percent=round(used * 100.0 / total, 2) if total else 0.0,
            temperature=float(temp) if temp is not None else None,
            power_w=round(power_mw / 1000.0, 1) if power_mw is not None else None,
            power_limit_w=round(limit_mw / 1000.0, 1) if limit_mw is not None else None,
            processes=self._processes(index, handle),
        )

    def _processes(self, index: int, handle: Any) -> list[GpuProcess]:
        nvml = self.nvml
        found: dict[int, int] = {}
        for getter in (
            "nvmlDeviceGetComputeRunningProcesses",
            "nvmlDeviceGetGraphicsRunningProcesses",
        ):
            call: Callable[[Any], Any] | None = getattr(nvml, getter, None)
            if call is None:
                continue
            for p in self._optional(index, getter, partial(call, handle)) or []:
                # usedGpuMemory is None where the driver cannot tell (some containers, WDDM).
                used = getattr(p, "usedGpuMemory", None)
                pid = int(p.pid)
                found[pid] = max(found.get(pid, 0), int(used) if used else 0)
        return [
            GpuProcess(pid=pid, name=self._process_name(pid), used_memory=used)
            for pid, used in sorted(found.items(), key=lambda kv: -kv[1])
        ]

    def _process_name(self, pid: int) -> str:
        comm = read_text(f"{self.proc}/{pid}/comm")
        return comm.strip() if comm else ""

    def _optional(self, index: int, what: str, call: Callable[[], T]) -> T | None:
        """The call's answer, or None when NVML says no (not supported, GPU lost, ...)."""
        if (index, what) in self._unsupported:
            return None
        try:
            return call()
        except Exception as exc:
            if type(exc).__name__ in ("NVMLError_NotSupported", "NVMLError_FunctionNotFound"):
                # Asked once: the answer does not change while the driver is loaded.
                self._unsupported.add((index, what))
            else:
                self.errors += 1
                log.debug("NVML %s on GPU %d failed: %s", what, index, exc)
            return None

    def close(self) -> None:
        if self._ready:
            with contextlib.suppress(Exception):
                self.nvml.nvmlShutdown()
            self._ready = False
