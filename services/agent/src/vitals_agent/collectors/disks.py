"""Disk usage per mounted filesystem (`/proc/self/mounts` + statvfs) and IO per device
(`/proc/diskstats`)."""

from __future__ import annotations

import os
import re
from typing import NamedTuple

from vitals_agent.procfs import ProcFile, read_text
from vitals_agent.rates import CounterTracker, Tick
from vitals_core.events import DiskIO, DiskUsage

# Filesystems that hold no user data, or whose statvfs can hang (network mounts).
PSEUDO_FS = frozenset(
    {"proc", "sysfs", "devtmpfs", "devpts", "tmpfs", "cgroup", "cgroup2", "overlay", "squashfs",
     "securityfs", "pstore", "debugfs", "tracefs", "configfs", "fusectl", "mqueue", "hugetlbfs",
     "autofs", "binfmt_misc", "nsfs", "bpf", "rpc_pipefs", "ramfs", "efivarfs", "selinuxfs",
     "nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "glusterfs", "fuse.sshfs", "9p",
     "fuse.lxcfs", "fuse.gvfsd-fuse", "fuse.portal", "iso9660", "zram"}
)  # fmt: skip
SECTOR = 512
_OCTAL = re.compile(r"\\([0-7]{3})")
_NOT_DISKS = ("loop", "ram", "fd", "sr")
MOUNTS_TTL_S = 30.0


class Mount(NamedTuple):
    device: str
    mount: str
    fstype: str


def _unescape(field: str) -> str:
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)


def parse_mounts(text: str) -> list[Mount]:
    """Mounts worth reporting: real filesystems, each mount point once (the last one wins)."""
    by_mount: dict[str, Mount] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        device, mount, fstype = _unescape(parts[0]), _unescape(parts[1]), parts[2]
        # The root stays even on overlay (an agent in a container reports its root).
        if fstype in PSEUDO_FS and mount != "/":
            by_mount.pop(mount, None)
            continue
        by_mount[mount] = Mount(device, mount, fstype)
    # A device mounted at several places (bind mounts) is reported at its shortest path.
    seen: dict[str, Mount] = {}
    for m in sorted(by_mount.values(), key=lambda m: (len(m.mount), m.mount)):
        seen.setdefault(m.device if m.device.startswith("/dev/") else m.mount, m)
    return sorted(seen.values(), key=lambda m: m.mount)


def usage_from(m: Mount, blocks: int, bfree: int, bavail: int, frsize: int) -> DiskUsage | None:
    """Usage as `df` shows it: percent of the space a normal user may fill."""
    total = blocks * frsize
    if total <= 0:
        return None
    used = (blocks - bfree) * frsize
    free = bavail * frsize
    usable = used + free
    return DiskUsage(
        mount=m.mount, device=m.device, fstype=m.fstype, total=total, used=used, free=free,
        percent=round(used * 100.0 / usable, 2) if usable else 0.0,
    )  # fmt: skip


class DiskStat(NamedTuple):
    reads: int
    read_sectors: int
    writes: int
    write_sectors: int
    io_ticks_ms: int


def parse_diskstats(text: str) -> dict[str, DiskStat]:
    out: dict[str, DiskStat] = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) < 14:
            continue
        out[f[2]] = DiskStat(int(f[3]), int(f[5]), int(f[7]), int(f[9]), int(f[12]))
    return out


def is_disk(name: str, stat: DiskStat, whole_disks: set[str] | None) -> bool:
    """A whole disk (not a partition) that was ever used; loop and RAM devices are not."""
    if name.startswith(_NOT_DISKS) or (whole_disks is not None and name not in whole_disks):
        return False
    return stat.reads + stat.writes > 0


# io_ticks is printed as a 32-bit millisecond count; the others are 64-bit.
_DISK_BITS = (64, 64, 64, 64, 32)


def io_from(name: str, r: tuple[float, ...]) -> DiskIO:
    reads, read_sectors, writes, write_sectors, busy_ms = r
    return DiskIO(
        device=name,
        read_bytes_per_s=round(read_sectors * SECTOR, 1),
        write_bytes_per_s=round(write_sectors * SECTOR, 1),
        read_iops=round(reads, 2),
        write_iops=round(writes, 2),
        busy_percent=round(min(100.0, busy_ms / 10.0), 2),  # ms busy per s -> percent
    )


class DisksCollector:
    def __init__(self, proc: str = "/proc", sys: str = "/sys") -> None:
        self.proc = proc
        self.sys_block = f"{sys}/block"
        self._io = CounterTracker(bits=_DISK_BITS)
        self._mounts: list[Mount] = []
        self._mounts_read_at: float | None = None
        self._mounts_file = ProcFile(f"{proc}/self/mounts")
        self._diskstats = ProcFile(f"{proc}/diskstats")
        # Whole disks from /sys/block, listed again only when the devices in diskstats change.
        self._devices: list[str] = []
        self._whole: set[str] | None = None

    def usage(self, mono: float | None = None) -> list[DiskUsage]:
        # Mounts rarely change: the table is re-read now and then, the usage every time.
        if (
            mono is None
            or self._mounts_read_at is None
            or mono - self._mounts_read_at >= MOUNTS_TTL_S
        ):
            text = self._mounts_file.read_text() or read_text(f"{self.proc}/mounts") or ""
            self._mounts = parse_mounts(text)
            self._mounts_read_at = mono
        out = []
        for m in self._mounts:
            try:
                st = os.statvfs(m.mount)
            except OSError:
                continue
            usage = usage_from(m, st.f_blocks, st.f_bfree, st.f_bavail, st.f_frsize)
            if usage is not None:
                out.append(usage)
        return out

    def io(self, tick: Tick) -> list[DiskIO]:
        text = self._diskstats.read_text()
        if text is None:
            return []
        every = parse_diskstats(text)
        devices = list(every)
        if devices != self._devices:
            self._devices = devices
            try:
                self._whole = set(os.listdir(self.sys_block))
            except OSError:
                self._whole = None
        whole = self._whole
        stats = {n: s for n, s in every.items() if is_disk(n, s, whole)}
        out = []
        for name, stat in stats.items():
            r = self._io.rates(name, tick.mono, tuple(stat))
            if r is not None:
                out.append(io_from(name, r))
        self._io.keep_only(stats)
        return out

    def close(self) -> None:
        self._mounts_file.close()
        self._diskstats.close()
