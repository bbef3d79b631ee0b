"""Slow-changing facts about the host, sent at start and whenever one changes."""

from __future__ import annotations

import os
import platform

from vitals_agent import __version__
from vitals_agent.procfs import read_text
from vitals_core.events import HostInfo


def cpu_model(cpuinfo: str) -> str:
    """The CPU's model from `/proc/cpuinfo` (x86 `model name`, ARM `Hardware`/`Model`)."""
    for key in ("model name", "Hardware", "Model", "cpu model", "Processor"):
        for line in cpuinfo.splitlines():
            name, sep, value = line.partition(":")
            if sep and name.strip() == key and value.strip():
                return value.strip()
    return ""


def cpu_count(cpuinfo: str) -> int:
    return sum(1 for line in cpuinfo.splitlines() if line.startswith("processor"))


def os_name() -> str:
    try:
        release = platform.freedesktop_os_release()
    except OSError:
        return f"{platform.system()} {platform.release()}".strip()
    return release.get("PRETTY_NAME") or release.get("NAME", platform.system())


def same_facts(a: HostInfo, b: HostInfo) -> bool:
    """Equal but for the time each was taken."""
    return (a.host, a.os, a.kernel, a.cpu_model, a.cpu_count, a.boot_time, a.labels,
            a.agent_version, a.interval) == (b.host, b.os, b.kernel, b.cpu_model, b.cpu_count,
            b.boot_time, b.labels, b.agent_version, b.interval)  # fmt: skip


def should_send(
    info: HostInfo, last: HostInfo | None, last_sent_at: float, now: float, resend_s: float
) -> bool:
    """Send host facts the first time, when one changed, and again after `resend_s` so a
    reader that came late finds them."""
    return last is None or not same_facts(info, last) or now - last_sent_at >= resend_s


class HostInfoCollector:
    def __init__(
        self, host: str, labels: dict[str, str], interval: float, proc: str = "/proc"
    ) -> None:
        self.host = host
        self.labels = dict(labels)
        self.interval = interval
        self.proc = proc

    def collect(self, now: float, boot_time: float) -> HostInfo:
        cpuinfo = read_text(f"{self.proc}/cpuinfo") or ""
        return HostInfo(
            ts=now,
            host=self.host,
            os=os_name(),
            kernel=platform.release(),
            cpu_model=cpu_model(cpuinfo) or platform.processor() or platform.machine(),
            cpu_count=cpu_count(cpuinfo) or os.cpu_count() or 0,
            boot_time=boot_time,
            labels=self.labels,
            agent_version=__version__,
            interval=self.interval,
        )
