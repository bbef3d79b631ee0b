"""Temperatures from a fake /sys tree laid out as hwmon drivers and ACPI thermal zones do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vitals_agent.collectors.sensors import (
    MIN_PERIOD_S,
    RESCAN_S,
    Reading,
    SensorsCollector,
    find_sensors,
    millidegrees,
    read_sensors,
    temperatures_from,
    thresholds,
)
from vitals_core.events import Temperature


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


# A CPU package and cores (coretemp), an NVMe drive, an ACPI sensor with thresholds it does
# not know, a driver whose value reads "N/A", one without a name file, and the CentOS layout
# with the files under device/. hwmon10 sorts before hwmon2, as psutil sorts.
HWMON = {
    "class/hwmon/hwmon0/name": "coretemp\n",
    "class/hwmon/hwmon0/temp1_input": "45000\n",
    "class/hwmon/hwmon0/temp1_label": "Package id 0\n",
    "class/hwmon/hwmon0/temp1_max": "80000\n",
    "class/hwmon/hwmon0/temp1_crit": "100000\n",
    "class/hwmon/hwmon0/temp1_crit_alarm": "0\n",
    "class/hwmon/hwmon0/temp2_input": "43000\n",
    "class/hwmon/hwmon0/temp2_label": "Core 0\n",
    "class/hwmon/hwmon0/temp2_crit": "100000\n",  # only critical: it is the high mark too
    "class/hwmon/hwmon10/name": "nvme\n",
    "class/hwmon/hwmon10/temp1_input": "38850\n",
    "class/hwmon/hwmon10/temp1_label": "Composite\n",
    "class/hwmon/hwmon10/temp1_max": "84850\n",
    "class/hwmon/hwmon10/temp1_crit": "84850\n",
    "class/hwmon/hwmon2/name": "acpitz\n",
    "class/hwmon/hwmon2/temp1_input": "27800\n",
    "class/hwmon/hwmon2/temp1_crit": "255000\n",  # absurd: dropped
    "class/hwmon/hwmon2/temp2_input": "29800\n",
    "class/hwmon/hwmon3/name": "broken\n",
    "class/hwmon/hwmon3/temp1_input": "N/A\n",
    "class/hwmon/hwmon4/temp1_input": "50000\n",  # no name file: skipped, as psutil does
    "class/hwmon/hwmon5/device/name": "it8728\n",
    "class/hwmon/hwmon5/device/temp1_input": "33000\n",
}

HWMON_EXPECTED = [
    Temperature(sensor="coretemp", label="Package id 0", celsius=45.0, high=80.0, critical=100.0),
    Temperature(sensor="coretemp", label="Core 0", celsius=43.0, high=100.0, critical=100.0),
    Temperature(sensor="nvme", label="Composite", celsius=38.85, high=84.85, critical=84.85),
    Temperature(sensor="acpitz", label="acpitz0", celsius=27.8, high=None, critical=None),
    Temperature(sensor="acpitz", label="acpitz1", celsius=29.8, high=None, critical=None),
    Temperature(sensor="it8728", label="it87280", celsius=33.0, high=None, critical=None),
]

ZONES = {
    "class/thermal/thermal_zone0/type": "acpitz\n",
    "class/thermal/thermal_zone0/temp": "27800\n",
    "class/thermal/thermal_zone0/trip_point_0_type": "critical\n",
    "class/thermal/thermal_zone0/trip_point_0_temp": "105000\n",
    "class/thermal/thermal_zone0/trip_point_1_type": "passive\n",
    "class/thermal/thermal_zone0/trip_point_1_temp": "95000\n",
    "class/thermal/thermal_zone1/type": "x86_pkg_temp\n",
    "class/thermal/thermal_zone1/temp": "41000\n",
    "class/thermal/thermal_zone1/trip_point_0_type": "high\n",
    "class/thermal/thermal_zone1/trip_point_0_temp": "90000\n",
    "class/thermal/thermal_zone1/trip_point_1_type": "critical\n",
    "class/thermal/thermal_zone1/trip_point_1_temp": "110000\n",
    "class/thermal/thermal_zone2/type": "gone\n",  # no temp file
}

ZONES_EXPECTED = [
    Temperature(sensor="acpitz", label="acpitz0", celsius=27.8, high=105.0, critical=105.0),
    Temperature(sensor="x86_pkg_temp", label="x86_pkg_temp0", celsius=41.0, high=90.0,
                critical=110.0),
]  # fmt: skip


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (HWMON, HWMON_EXPECTED),
        (ZONES, ZONES_EXPECTED),
        ({**HWMON, **ZONES}, HWMON_EXPECTED),  # thermal zones only on a host without hwmon
        ({"class/hwmon/hwmon0/name": "x\n", "class/hwmon/hwmon0/temp1_input": "bad"}, []),
        ({}, []),  # most VMs
    ],
    ids=["hwmon", "thermal-zones", "hwmon-first", "unreadable", "none"],
)
def test_sensors_from_sysfs(
    tmp_path: Path, files: dict[str, str], expected: list[Temperature]
) -> None:
    write(tmp_path, files)
    collector = SensorsCollector(str(tmp_path))
    assert collector.collect(0.0) == expected
    collector.close()


@pytest.mark.parametrize(
    ("data", "expected"),
    [(b"45000\n", 45.0), (b"-5500\n", -5.5), (b"N/A\n", None), (b"", None), (None, None)],
)
def test_millidegrees(data: bytes | None, expected: float | None) -> None:
    assert millidegrees(data) == expected


@pytest.mark.parametrize(
    ("high", "critical", "expected"),
    [
        (80.0, 100.0, (80.0, 100.0)),
        (None, 100.0, (100.0, 100.0)),
        (80.0, None, (80.0, 80.0)),
        (0.0, 100.0, (100.0, 100.0)),  # psutil treats 0 as unknown
        (None, None, (None, None)),
    ],
)
def test_thresholds(
    high: float | None, critical: float | None, expected: tuple[float | None, float | None]
) -> None:
    assert thresholds(high, critical) == expected


def test_sanity_rules() -> None:
    readings = {
        "dev": [
            Reading("", None, None, None),  # no value: left out
            Reading("a", 40.0, 0.0, 250.0),  # thresholds the driver does not know
            Reading("", 41.0, 90.0, 95.0),
        ]
    }
    assert temperatures_from(readings) == [
        Temperature(sensor="dev", label="a", celsius=40.0, high=None, critical=None),
        Temperature(sensor="dev", label="dev2", celsius=41.0, high=90.0, critical=95.0),
    ]


def test_values_are_reread_in_place_at_most_every_period(tmp_path: Path) -> None:
    write(tmp_path, HWMON)
    collector = SensorsCollector(str(tmp_path))
    assert collector.collect(100.0)[0].celsius == 45.0
    (tmp_path / "class/hwmon/hwmon0/temp1_input").write_text("47500\n")
    assert collector.collect(100.0 + MIN_PERIOD_S / 2)[0].celsius == 45.0  # not yet
    assert collector.collect(100.0 + MIN_PERIOD_S)[0].celsius == 47.5
    collector.close()


def test_new_sensors_are_found_at_the_next_scan(tmp_path: Path) -> None:
    write(tmp_path, ZONES)
    collector = SensorsCollector(str(tmp_path))
    assert collector.collect(0.0) == ZONES_EXPECTED
    write(tmp_path, HWMON)  # a driver loaded: hwmon sensors now, instead of the zones
    assert collector.collect(MIN_PERIOD_S) == ZONES_EXPECTED
    assert collector.collect(RESCAN_S) == HWMON_EXPECTED
    collector.close()


def test_files_kept_open_up_to_a_bound(tmp_path: Path) -> None:
    write(tmp_path, HWMON)
    sensors = find_sensors(str(tmp_path), keep_open=2)
    assert [s.value.is_open for s in sensors] == [True, True, False, False, False, False]
    assert sum(len(v) for v in read_sensors(sensors).values()) == len(sensors)
    for s in sensors:
        s.value.close()


def test_a_sensor_that_goes_away_is_left_out(tmp_path: Path) -> None:
    write(tmp_path, ZONES)
    sensors = find_sensors(str(tmp_path), keep_open=0)
    (tmp_path / "class/thermal/thermal_zone1/temp").unlink()
    assert list(read_sensors(sensors)) == ["acpitz"]


def test_collecting_does_not_import_psutil() -> None:
    code = (
        "import sys, vitals_agent.collectors as c;"
        "h = c.HostCollector('h', 1.0, gpu=False); h.collect(c.Tick(0.0, 0.0), 0); h.close();"
        "print('psutil' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# One trip point per kind: psutil converts every threshold again at each later trip point
# (105000 -> 105.0 -> 0.105), a slip this reader does not copy.
ONE_TRIP_ZONE = {
    "class/thermal/thermal_zone0/type": "acpitz\n",
    "class/thermal/thermal_zone0/temp": "27800\n",
    "class/thermal/thermal_zone0/trip_point_0_type": "critical\n",
    "class/thermal/thermal_zone0/trip_point_0_temp": "105000\n",
}


@pytest.mark.parametrize("files", [HWMON, ONE_TRIP_ZONE], ids=["hwmon", "thermal-zone"])
def test_same_answer_as_psutil(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]
) -> None:
    """psutil's own reader, pointed at the same fake tree, agrees."""
    import glob

    import psutil
    from psutil import _pslinux

    def moved(path: str) -> str:
        return str(tmp_path) + path.removeprefix("/sys") if path.startswith("/sys/") else path

    class Glob:
        @staticmethod
        def glob(pattern: str) -> list[str]:
            found = glob.glob(moved(pattern))
            return ["/sys" + p.removeprefix(str(tmp_path)) for p in found]

    real_cat, real_bcat = _pslinux.cat, _pslinux.bcat
    monkeypatch.setattr(_pslinux, "glob", Glob)
    monkeypatch.setattr(_pslinux, "cat", lambda p, *a, **k: real_cat(moved(p), *a, **k))
    monkeypatch.setattr(_pslinux, "bcat", lambda p, *a, **k: real_bcat(moved(p), *a, **k))
    write(tmp_path, files)
    ours = SensorsCollector(str(tmp_path))
    theirs = {unit: [Reading(*e) for e in v] for unit, v in psutil.sensors_temperatures().items()}
    assert ours.collect(0.0) == temperatures_from(theirs)
    ours.close()
