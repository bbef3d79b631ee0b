"""Temperatures from the host's sensors: hwmon, else ACPI thermal zones; none on most VMs.

Read from `/sys` the way psutil's `sensors_temperatures()` reads them (the same files,
labels and thresholds) without importing psutil, which costs megabytes of memory. The
sensor files are found once and again every few minutes; labels and thresholds are read
then, and each sensor's value file stays open and is re-read in place.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from vitals_agent.procfs import ProcFile, listed, read_bytes
from vitals_core.events import Temperature

# Sensors change slowly and some drivers are slow to read: at most this often.
MIN_PERIOD_S = 5.0
# Sensors come and go with drivers and hotplug: the files are looked for again this often.
RESCAN_S = 300.0
# Value files kept open; on a host with more sensors the rest are opened at each reading.
MAX_OPEN = 64


class Reading(NamedTuple):
    """One sensor's reading, as psutil's `shwtemp`: degrees Celsius."""

    label: str
    current: float | None
    high: float | None
    critical: float | None


class Sensor(NamedTuple):
    unit: str  # the hwmon `name`, or the thermal zone's `type`
    label: str
    value: ProcFile  # millidegrees: `temp<N>_input`, or the zone's `temp`
    high: float | None
    critical: float | None


def millidegrees(data: bytes | None) -> float | None:
    """A sysfs temperature (an integer of millidegrees Celsius) in degrees; None if unreadable."""
    if data is None:
        return None
    try:
        return float(data) / 1000.0
    except ValueError:
        return None


def thresholds(high: float | None, critical: float | None) -> tuple[float | None, float | None]:
    """psutil's rule: a sensor with only one threshold has it as both."""
    if high and not critical:
        return high, high
    if critical and not high:
        return critical, critical
    return high, critical


def temperatures_from(readings: Mapping[str, Sequence[Reading]]) -> list[Temperature]:
    """Readings grouped by unit as Temperature structs."""
    out: list[Temperature] = []
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


def _text(path: str) -> str | None:
    data = read_bytes(path)
    return None if data is None else data.decode("utf-8", "replace").strip()


def hwmon_bases(sys: str) -> list[str]:
    """`.../hwmon<N>/temp<M>` for every hwmon temperature, sorted as psutil sorts them (the
    coretemp devices psutil also globs are already under /sys/class/hwmon)."""
    found = []
    for root in listed(f"{sys}/class/hwmon", "hwmon"):
        found += listed(root, "temp", "_") + listed(f"{root}/device", "temp", "_")
    bases = set()
    for path in found:
        head, _, name = path.rpartition("/")
        bases.add(f"{head}/{name.split('_')[0]}")
    return sorted(bases)


def hwmon_sensors(bases: list[str], keep_open: int) -> list[Sensor]:
    out: list[Sensor] = []
    for base in bases:
        value = ProcFile(base + "_input", one_piece=True, keep=len(out) < keep_open)
        unit = _text(os.path.join(os.path.dirname(base), "name"))
        if unit is None or millidegrees(value.read()) is None:
            value.close()  # psutil skips these too
            continue
        high, critical = thresholds(
            millidegrees(read_bytes(base + "_max")), millidegrees(read_bytes(base + "_crit"))
        )
        out.append(Sensor(unit, _text(base + "_label") or "", value, high, critical))
    return out


def thermal_zone_sensors(sys: str, keep_open: int) -> list[Sensor]:
    out: list[Sensor] = []
    for zone in listed(f"{sys}/class/thermal", "thermal_zone"):
        value = ProcFile(f"{zone}/temp", one_piece=True, keep=len(out) < keep_open)
        unit = _text(f"{zone}/type")
        if unit is None or millidegrees(value.read()) is None:
            value.close()
            continue
        trips = sorted(
            {"_".join(os.path.basename(p).split("_")[:3]) for p in listed(zone, "trip_point")}
        )
        limits: dict[str, float | None] = {}
        for trip in trips:
            kind = _text(f"{zone}/{trip}_type")
            if kind in ("high", "critical"):
                limits[kind] = millidegrees(read_bytes(f"{zone}/{trip}_temp"))
        high, critical = thresholds(limits.get("high"), limits.get("critical"))
        out.append(Sensor(unit, "", value, high, critical))
    return out


def find_sensors(sys: str, keep_open: int = MAX_OPEN) -> list[Sensor]:
    """hwmon temperatures; the ACPI thermal zones only on a host without any."""
    bases = hwmon_bases(sys)
    if bases:
        return hwmon_sensors(bases, keep_open)
    return thermal_zone_sensors(sys, keep_open)


def read_sensors(sensors: Sequence[Sensor]) -> dict[str, list[Reading]]:
    """Each sensor's value now, grouped by unit; a sensor that cannot be read is left out."""
    out: dict[str, list[Reading]] = {}
    for s in sensors:
        current = millidegrees(s.value.read())
        if current is not None:
            out.setdefault(s.unit, []).append(Reading(s.label, current, s.high, s.critical))
    return out


class SensorsCollector:
    def __init__(self, sys: str = "/sys") -> None:
        self.sys = sys
        self._sensors: list[Sensor] = []
        self._found_at: float | None = None
        self._last: list[Temperature] = []
        self._read_at: float | None = None

    def collect(self, mono: float) -> list[Temperature]:
        if self._read_at is not None and mono - self._read_at < MIN_PERIOD_S:
            return self._last
        self._read_at = mono
        if self._found_at is None or mono - self._found_at >= RESCAN_S:
            self.close()
            self._sensors = find_sensors(self.sys)
            self._found_at = mono
        self._last = temperatures_from(read_sensors(self._sensors))
        return self._last

    def close(self) -> None:
        for s in self._sensors:
            s.value.close()
        self._sensors = []
        self._found_at = None
