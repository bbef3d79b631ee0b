"""Temperatures from the host's sensors (hwmon, ACPI) through psutil; none on most VMs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import psutil

from vitals_core.events import Temperature

# Sensors change slowly and some drivers are slow to read: at most this often.
MIN_PERIOD_S = 5.0


def temperatures_from(readings: Mapping[str, Sequence[Any]]) -> list[Temperature]:
    """psutil's `sensors_temperatures()` answer as Temperature structs."""
    out = []
    for sensor, entries in readings.items():
        for i, entry in enumerate(entries):
            if entry.current is None:
                continue
            out.append(
                Temperature(
                    sensor=sensor,
                    label=entry.label or f"{sensor}{i}",
                    celsius=float(entry.current),
                    # Drivers report 0 or absurd values for thresholds they do not know.
                    high=float(entry.high) if entry.high and 0 < entry.high < 200 else None,
                    critical=(
                        float(entry.critical)
                        if entry.critical and 0 < entry.critical < 200
                        else None
                    ),
                )
            )
    return out


class SensorsCollector:
    def __init__(self) -> None:
        self._last: list[Temperature] = []
        self._read_at: float | None = None
        self.supported = hasattr(psutil, "sensors_temperatures")

    def collect(self, mono: float) -> list[Temperature]:
        if not self.supported:
            return []
        if self._read_at is None or mono - self._read_at >= MIN_PERIOD_S:
            self._read_at = mono
            self._last = temperatures_from(psutil.sensors_temperatures())
        return self._last
