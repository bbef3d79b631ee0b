"""Parsers of /proc files, from the recordings of a 16-core H100 host (tests/conftest.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from vitals_agent.collectors.cpu import (
    CpuCollector,
    jiffy_deltas,
    parse_cpuinfo_mhz,
    parse_loadavg,
    parse_proc_stat,
    split_percent,
)
from vitals_agent.collectors.disks import (
    DisksCollector,
    Mount,
    is_disk,
    parse_diskstats,
    parse_mounts,
    usage_from,
)
from vitals_agent.collectors.hostinfo import cpu_count, cpu_model
from vitals_agent.collectors.memory import (
    MEMINFO_FIELDS,
    PAGE_SIZE,
    MemoryCollector,
    line_value,
    memory_from,
    parse_meminfo,
    parse_vmstat,
    swap_from,
)
from vitals_agent.collectors.net import (
    NetCollector,
    connection_summary,
    count_tcp_states,
    parse_net_dev,
    wanted_interface,
)
from vitals_agent.rates import Tick

# Recorded on a 2-core VM (`cat /proc/net/...`).
SNMP = """\
Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors
Tcp: 1 200 120000 -1 924 505 249 67 28 52035 43330 15 0 677 0
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
Udp: 188 0 0 300 0 0 0 0 0
"""  # noqa: E501
SOCKSTAT = """\
sockets: used 138
TCP: inuse 34 orphan 0 tw 163 alloc 35 mem 0
UDP: inuse 2 mem 0
UDPLITE: inuse 0
"""
SOCKSTAT6 = "TCP6: inuse 1\nUDP6: inuse 1\nUDPLITE6: inuse 0\n"
TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:ADE3 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 42042 1
   1: 0100007F:3FFB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 27340 1
   2: 0100007F:3FFB 0100007F:B2A4 01 00000000:00000000 00:00000000 00000000     0        0 27341 1
   3: 0100007F:B2A4 0100007F:3FFB 06 00000000:00000000 03:00000F9D 00000000     0        0 0 3
"""
TCP6 = """\
  sl  local_address                         remote_address                        st tx_queue
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000
"""


@pytest.fixture
def proc(h100_fixtures: Path) -> Path:
    return h100_fixtures / "proc"


@pytest.fixture
def recorded(h100_fixtures: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((h100_fixtures / "nvml-psutil-loaded.json").read_text())
    return data


def test_proc_stat(proc: Path, recorded: dict[str, Any]) -> None:
    stat = parse_proc_stat((proc / "stat").read_text())
    assert len(stat.cores) == recorded["psutil"]["cpu_count"][0] == 16
    assert stat.total[:4] == (1445, 0, 584, 76297)
    assert stat.cores["cpu15"][0] == 1057  # the core the loaded worker kept busy
    assert stat.ctxt == 29350
    assert stat.btime == 1795727506
    assert stat.procs_running == 2
    assert stat.forks == 508  # the `processes` line: forks since boot


def test_proc_stat_without_cpu_line_is_an_error() -> None:
    with pytest.raises(ValueError, match="no 'cpu' line"):
        parse_proc_stat("intr 1 2 3\nctxt 5\n")


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        ((0, 0, 0, 100, 0, 0, 0, 0), (0.0, 0.0, 0.0, 0.0, 0.0)),
        ((50, 0, 25, 25, 0, 0, 0, 0), (75.0, 50.0, 25.0, 0.0, 0.0)),
        ((10, 10, 10, 40, 20, 5, 5, 0), (40.0, 20.0, 20.0, 20.0, 0.0)),  # nice counts as user
        ((10, 0, 0, 80, 0, 0, 0, 10), (20.0, 10.0, 0.0, 0.0, 10.0)),  # steal is busy
        ((0, 0, 0, 0, 0, 0, 0, 0), (0.0, 0.0, 0.0, 0.0, 0.0)),  # no time passed
    ],
)
def test_split_percent(
    delta: tuple[int, ...], expected: tuple[float, float, float, float, float]
) -> None:
    assert split_percent(delta) == expected


@pytest.mark.parametrize(
    ("prev", "cur", "expected"),
    [
        (None, (1, 2, 3), None),  # the first reading
        ((1, 2, 3), (1, 2, 3, 4), None),  # another kernel's columns
        ((1, 2, 3), (4, 2, 10), (3, 0, 7)),
        ((100, 2, 3), (4, 5, 6), (0, 3, 3)),  # a column went back: no progress there
        ((2**64 - 10, 0), (5, 1), (15, 1)),  # a 64-bit wrap
    ],
)
def test_jiffy_deltas(
    prev: tuple[int, ...] | None, cur: tuple[int, ...], expected: tuple[int, ...] | None
) -> None:
    assert jiffy_deltas(prev, cur) == expected


def test_loadavg_and_frequency(proc: Path, recorded: dict[str, Any]) -> None:
    load = parse_loadavg((proc / "loadavg").read_text())
    assert load == pytest.approx(recorded["psutil"]["loadavg"], abs=0.01)
    freq = parse_cpuinfo_mhz((proc / "cpuinfo").read_text())
    assert freq == recorded["psutil"]["cpu_freq_percpu"][0]["current"]


def advance(copy: Path, stat_delta: dict[str, tuple[int, ...]]) -> None:
    """Move some counters of a copy of the recorded /proc on, in place (the collector keeps
    its files open)."""
    lines = []
    for line in (copy / "stat").read_text().splitlines():
        name, *cols = line.split()
        if name in stat_delta:
            moved = [int(c) + d for c, d in zip(cols, stat_delta[name], strict=False)]
            cols = [str(v) for v in moved] + cols[len(moved) :]
        lines.append(" ".join([name, *cols]))
    (copy / "stat").write_text("\n".join(lines) + "\n")


def test_cpu_collector_first_reading_has_no_spike(proc: Path, tmp_path: Path) -> None:
    copy = tmp_path / "proc"
    shutil.copytree(proc, copy)
    collector = CpuCollector(str(copy), sys=str(tmp_path / "no-sys"))
    first = collector.collect(Tick(0.0, 100.0))
    # Counters since boot are not a rate: the first reading reports nothing busy.
    assert first.percent == 0.0
    assert first.ctx_switches_per_s is None
    assert first.count == 16
    assert first.freq_mhz == 2100.0
    # One second later: cpu15 ran 100 jiffies of user time, the others idled.
    advance(copy, {"cpu": (100, 0, 0, 1500, 0, 0, 0, 0), "ctxt": (500,),
                   "cpu15": (100,), "cpu0": (0, 0, 0, 100)})  # fmt: skip
    second = collector.collect(Tick(1.0, 101.0))
    assert second.percent == pytest.approx(100 * 100 / 1600, abs=0.01)
    assert second.user == second.percent
    assert second.cores[15].percent == 100.0
    assert second.cores[0].percent == 0.0
    assert second.ctx_switches_per_s == 500.0


def test_meminfo_and_memory(proc: Path, recorded: dict[str, Any]) -> None:
    info = parse_meminfo((proc / "meminfo").read_text())
    assert info["MemTotal"] == 131981020 * 1024
    assert info["HugePages_Total"] == 0  # a count, not kB
    memory = memory_from(info)
    assert memory.total == info["MemTotal"]
    assert memory.used == memory.total - info["MemAvailable"]
    # psutil's figure from the same host, taken moments apart.
    assert memory.percent == pytest.approx(recorded["psutil"]["vm"]["percent"], abs=0.1)
    assert memory.cached == pytest.approx(recorded["psutil"]["vm"]["cached"], rel=0.01)


@pytest.mark.parametrize("source", ["recorded", "this host"])
def test_meminfo_fields_looked_up_as_a_full_parse_finds_them(proc: Path, source: str) -> None:
    text = (proc / "meminfo" if source == "recorded" else Path("/proc/meminfo")).read_text()
    full = parse_meminfo(text)
    assert parse_meminfo(text, MEMINFO_FIELDS) == {k: full[k] for k in MEMINFO_FIELDS if k in full}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SwapCached:  5 kB\nCached:  7 kB\n", {"Cached": 7 * 1024}),  # not SwapCached
        ("Cached:  7 kB", {"Cached": 7 * 1024}),  # the first line, no newline
        ("HugePages_Total:  3\n", {"HugePages_Total": 3}),  # a count, not kB
        ("MemTotal: lots kB\nCached:\n", {}),
        ("", {}),
    ],
)
def test_meminfo_lines(text: str, expected: dict[str, int]) -> None:
    assert parse_meminfo(text, ["Cached", "HugePages_Total", "MemTotal"]) == expected


@pytest.mark.parametrize(
    ("info", "total", "used", "percent"),
    [
        ({"SwapTotal": 0, "SwapFree": 0}, 0, 0, 0.0),
        ({"SwapTotal": 4096, "SwapFree": 1024}, 4096, 3072, 75.0),
        ({}, 0, 0, 0.0),
    ],
)
def test_swap(info: dict[str, int], total: int, used: int, percent: float) -> None:
    swap = swap_from(info)
    assert (swap.total, swap.used, swap.percent) == (total, used, percent)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pswpin 5\npswpout 7\n", {"pswpin": 5, "pswpout": 7}),  # the first line
        ("nr_free_pages 1\npswpin 5\npswpout 7", {"pswpin": 5, "pswpout": 7}),  # no newline
        ("xpswpin 9\npswpin 5\n", {"pswpin": 5}),  # a longer name is not the counter
        ("pswpin_x 9\npswpout 2\n", {"pswpout": 2}),
        ("pswpin many\n", {}),
        ("", {}),
    ],
)
def test_vmstat_swap_counters(text: str, expected: dict[str, int]) -> None:
    assert parse_vmstat(text) == expected


def test_vmstat_recorded(proc: Path) -> None:
    text = (proc / "vmstat").read_text()
    lines = dict(line.split() for line in text.splitlines())
    assert parse_vmstat(text) == {k: int(lines[k]) for k in ("pswpin", "pswpout")}
    assert line_value(text, "nr_free_pages") == lines["nr_free_pages"]
    assert line_value(text, "no_such_counter") is None


def with_swap(copy: Path) -> None:
    """The recorded host had no swap; give the copy 8 GiB of it, 1 GiB used."""
    meminfo = (copy / "meminfo").read_text()
    meminfo = meminfo.replace("SwapTotal:             0 kB", "SwapTotal:       8388608 kB")
    meminfo = meminfo.replace("SwapFree:              0 kB", "SwapFree:        7340032 kB")
    (copy / "meminfo").write_text(meminfo)


def test_memory_collector_swap_rates(proc: Path, tmp_path: Path) -> None:
    copy = tmp_path / "proc"
    shutil.copytree(proc, copy)
    with_swap(copy)
    collector = MemoryCollector(str(copy))
    _, swap = collector.collect(Tick(0.0, 10.0))
    assert (swap.in_per_s, swap.out_per_s) == (0.0, 0.0)
    vmstat = parse_vmstat((proc / "vmstat").read_text())
    text = (proc / "vmstat").read_text()
    text = text.replace(f"pswpin {vmstat['pswpin']}\n", f"pswpin {vmstat['pswpin'] + 20}\n")
    text = text.replace(f"pswpout {vmstat['pswpout']}\n", f"pswpout {vmstat['pswpout'] + 10}\n")
    (copy / "vmstat").write_text(text)
    _, swap = collector.collect(Tick(2.0, 12.0))
    assert swap.in_per_s == 10 * PAGE_SIZE
    assert swap.out_per_s == 5 * PAGE_SIZE
    assert (swap.total, swap.used) == (8 << 30, 1 << 30)


def test_without_swap_vmstat_is_not_read(proc: Path, tmp_path: Path) -> None:
    copy = tmp_path / "proc"
    shutil.copytree(proc, copy)
    collector = MemoryCollector(str(copy))
    for mono in (10.0, 12.0):
        memory, swap = collector.collect(Tick(mono, mono))
        assert (swap.total, swap.in_per_s, swap.out_per_s) == (0, 0.0, 0.0)
        assert memory.total > 0
    assert not collector._vmstat.is_open  # never opened, so never read
    with_swap(copy)
    collector.collect(Tick(14.0, 14.0))
    assert collector._vmstat.is_open


def test_mounts_keep_real_filesystems(proc: Path, recorded: dict[str, Any]) -> None:
    mounts = parse_mounts((proc / "mounts").read_text())
    assert mounts == [Mount("/dev/vda", "/", "ext4")]
    # psutil listed the squashfs image too; it is always full and not worth a series.
    assert {p["mountpoint"] for p in recorded["psutil"]["partitions"]} == {"/", "/usr/local/nvidia"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("overlay / overlay rw 0 0\n", [Mount("overlay", "/", "overlay")]),
        (
            "/dev/sda1 /data ext4 rw 0 0\n/dev/sda1 /data/bind ext4 rw 0 0\n",
            [Mount("/dev/sda1", "/data", "ext4")],
        ),
        ("/dev/sdb1 /mnt/my\\040disk xfs rw 0 0\n", [Mount("/dev/sdb1", "/mnt/my disk", "xfs")]),
        ("nas:/export /mnt/nas nfs4 rw 0 0\ntmpfs /run tmpfs rw 0 0\n", []),
        ("tank/home /home zfs rw 0 0\n", [Mount("tank/home", "/home", "zfs")]),
        ("garbage\n", []),
    ],
)
def test_mount_rules(text: str, expected: list[Mount]) -> None:
    assert parse_mounts(text) == expected


def test_usage_as_df_shows_it() -> None:
    m = Mount("/dev/vda", "/", "ext4")
    usage = usage_from(m, blocks=1000, bfree=300, bavail=250, frsize=4096)
    assert usage is not None
    assert (usage.total, usage.used, usage.free) == (4096000, 2867200, 1024000)
    assert usage.percent == pytest.approx(700 / 950 * 100, abs=0.01)
    assert usage_from(m, 0, 0, 0, 4096) is None


def test_diskstats(proc: Path, recorded: dict[str, Any]) -> None:
    stats = parse_diskstats((proc / "diskstats").read_text())
    assert set(stats) == set(recorded["psutil"]["diskio_perdisk_keys"])
    assert stats["vda"].reads == 5588
    assert stats["vda"].read_sectors == 3212346
    assert stats["vda"].io_ticks_ms == 2384
    disks = {n for n, s in stats.items() if is_disk(n, s, None)}
    assert disks == {"vda", "vdb"}  # loop devices and the unused zram are not disks
    assert not is_disk("vda1", stats["vda"], {"vda", "vdb"})  # a partition


def test_disk_io_rates(proc: Path, tmp_path: Path) -> None:
    copy = tmp_path / "proc"
    shutil.copytree(proc, copy)
    collector = DisksCollector(str(copy), sys=str(tmp_path / "no-sys"))
    assert collector.io(Tick(0.0, 50.0)) == []  # first reading: no rates yet
    text = (
        (proc / "diskstats")
        .read_text()
        .replace(
            "vda 5588 2968 3212346 4830 374 347 5856 81 0 2384",
            "vda 5688 2968 3214346 4830 394 347 5896 81 0 2884",
        )
    )
    (copy / "diskstats").write_text(text)
    (io,) = [d for d in collector.io(Tick(2.0, 52.0)) if d.device == "vda"]
    assert io.read_iops == 50.0
    assert io.write_iops == 10.0
    assert io.read_bytes_per_s == 1000 * 512
    assert io.write_bytes_per_s == 20 * 512
    assert io.busy_percent == 25.0  # 500 ms busy in 2 s


def test_whole_disks_listed_again_when_the_devices_change(proc: Path, tmp_path: Path) -> None:
    copy = tmp_path / "proc"
    shutil.copytree(proc, copy)
    block = tmp_path / "sys" / "block"
    (block / "vda").mkdir(parents=True)
    collector = DisksCollector(str(copy), sys=str(tmp_path / "sys"))
    collector.io(Tick(0.0, 0.0))
    assert [d.device for d in collector.io(Tick(1.0, 1.0))] == ["vda"]
    # A disk attached: it shows in diskstats and /sys/block together.
    (block / "sdz").mkdir()
    text = (copy / "diskstats").read_text()
    (copy / "diskstats").write_text(text + "   8       0 sdz 1 0 8 0 1 0 8 0 0 1 0 0 0 0 0 0 0\n")
    collector.io(Tick(2.0, 2.0))
    assert {d.device for d in collector.io(Tick(3.0, 3.0))} == {"vda", "sdz"}
    collector.close()


def test_net_dev(proc: Path, recorded: dict[str, Any]) -> None:
    counters = parse_net_dev((proc / "net" / "dev").read_text())
    assert set(counters) == set(recorded["psutil"]["net_pernic_keys"])
    assert counters["eth0"] == (625, 10, 0, 0, 1473, 18, 0, 0)
    assert [n for n in counters if wanted_interface(n)] == ["ifb0", "ifb1", "eth0"]
    wanted = parse_net_dev((proc / "net" / "dev").read_text(), wanted_interface)
    assert wanted == {n: c for n, c in counters.items() if wanted_interface(n)}
    assert not wanted_interface("veth12ab")


def test_net_rates_across_a_32_bit_wrap(proc: Path, tmp_path: Path) -> None:
    copy = tmp_path / "proc"
    (copy / "net").mkdir(parents=True)
    header = "".join((proc / "net" / "dev").read_text().splitlines(keepends=True)[:2])
    line = "  eth0: {rx} 10 0 0 0 0 0 0 {tx} 18 0 0 0 0 0 0\n"
    (copy / "net" / "dev").write_text(header + line.format(rx=2**32 - 1000, tx=5000))
    collector = NetCollector(str(copy))
    assert collector.interfaces(Tick(0.0, 0.0)) == []
    (copy / "net" / "dev").write_text(header + line.format(rx=3000, tx=7000))
    (eth0,) = collector.interfaces(Tick(1.0, 2.0))
    assert eth0.rx_bytes_per_s == 2000.0  # (1000 + 3000) bytes over 2 s, across the wrap
    assert eth0.tx_bytes_per_s == 1000.0


def test_connection_counts() -> None:
    summary = connection_summary(SNMP, SOCKSTAT, SOCKSTAT6)
    assert summary == {"established": 28, "time_wait": 163, "orphan": 0, "other": 7, "udp": 3}
    states = count_tcp_states(TCP, TCP6)
    assert states == {"listen": 3, "established": 1, "time_wait": 1}
    assert connection_summary("", "", "") == {
        "established": 0, "time_wait": 0, "orphan": 0, "other": 0, "udp": 0,
    }  # fmt: skip


def test_cpu_model_and_count(proc: Path, recorded: dict[str, Any]) -> None:
    cpuinfo = (proc / "cpuinfo").read_text()
    assert cpu_model(cpuinfo) == "Intel(R) Xeon(R) Processor"
    assert cpu_count(cpuinfo) == recorded["nproc"]
    assert cpu_model("processor : 0\nHardware : BCM2835\n") == "BCM2835"
    assert cpu_model("") == ""
