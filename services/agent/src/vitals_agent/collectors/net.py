"""Network: rates per interface from `/proc/net/dev`; connection counts by state.

Counting connections from `/proc/net/snmp` and `/proc/net/sockstat{,6}` costs a few
microseconds; the full per-state table from `/proc/net/tcp{,6}` walks the kernel's socket
hash (about half a millisecond per file even when empty), so it is opt-in
(`agent.connection_states`).
"""

from __future__ import annotations

from collections.abc import Callable

from vitals_agent.procfs import ProcFile
from vitals_agent.rates import AUTO, CounterTracker, Tick
from vitals_core.events import NetIO

SKIP_INTERFACES = ("lo",)
# Container peers come and go with every container; the bridge they hang off stays.
SKIP_PREFIXES = ("veth", "cali", "lxc")

TCP_STATES = {
    "01": "established", "02": "syn_sent", "03": "syn_recv", "04": "fin_wait1",
    "05": "fin_wait2", "06": "time_wait", "07": "close", "08": "close_wait",
    "09": "last_ack", "0A": "listen", "0B": "closing", "0C": "new_syn_recv",
}  # fmt: skip


def parse_net_dev(
    text: str, wanted: Callable[[str], bool] | None = None
) -> dict[str, tuple[int, ...]]:
    """Per interface (those `wanted`, before their numbers are converted: a host with many
    containers has hundreds of peers): rx bytes, rx packets, rx errs, rx drop, tx bytes,
    tx packets, tx errs, tx drop."""
    out: dict[str, tuple[int, ...]] = {}
    for line in text.splitlines()[2:]:
        name, sep, rest = line.partition(":")
        if not sep:
            continue
        name = name.strip()
        if wanted is not None and not wanted(name):
            continue
        f = rest.split()
        if len(f) < 12:
            continue
        out[name] = (
            int(f[0]), int(f[1]), int(f[2]), int(f[3]),
            int(f[8]), int(f[9]), int(f[10]), int(f[11]),
        )  # fmt: skip
    return out


def wanted_interface(name: str) -> bool:
    return name not in SKIP_INTERFACES and not name.startswith(SKIP_PREFIXES)


def netio_from(name: str, r: tuple[float, ...]) -> NetIO:
    rxb, rxp, rxe, rxd, txb, txp, txe, txd = (round(v, 2) for v in r)
    return NetIO(
        interface=name, rx_bytes_per_s=rxb, tx_bytes_per_s=txb,
        rx_packets_per_s=rxp, tx_packets_per_s=txp, rx_errors_per_s=rxe,
        tx_errors_per_s=txe, rx_drops_per_s=rxd, tx_drops_per_s=txd,
    )  # fmt: skip


def _pairs(text: str, prefix: str) -> dict[str, int]:
    """`Tcp: A B C` followed by `Tcp: 1 2 3` (snmp) or `TCP: inuse 1 orphan 0` (sockstat)."""
    out: dict[str, int] = {}
    lines = [line.split() for line in text.splitlines() if line.startswith(prefix + ":")]
    if len(lines) >= 2 and len(lines[0]) == len(lines[1]) and not lines[1][1].isalpha():
        return {k: int(v) for k, v in zip(lines[0][1:], lines[1][1:], strict=True)}
    for parts in lines:
        for key, value in zip(parts[1::2], parts[2::2], strict=False):
            if value.lstrip("-").isdigit():
                out[key] = int(value)
    return out


def connection_summary(snmp: str, sockstat: str, sockstat6: str) -> dict[str, int]:
    """Counts of TCP connections by the states the kernel keeps counters for, and UDP sockets."""
    tcp_mib = _pairs(snmp, "Tcp")
    tcp4 = _pairs(sockstat, "TCP")
    tcp6 = _pairs(sockstat6, "TCP6")
    udp = _pairs(sockstat, "UDP").get("inuse", 0) + _pairs(sockstat6, "UDP6").get("inuse", 0)
    established = tcp_mib.get("CurrEstab", 0)
    in_use = tcp4.get("inuse", 0) + tcp6.get("inuse", 0)
    return {
        "established": established,
        "time_wait": tcp4.get("tw", 0),
        "orphan": tcp4.get("orphan", 0),
        # Listening sockets and connections opening or closing.
        "other": max(0, in_use - established),
        "udp": udp,
    }


def count_tcp_states(*tables: str) -> dict[str, int]:
    """Counts by state from `/proc/net/tcp` and `/proc/net/tcp6` tables."""
    counts: dict[str, int] = {}
    for table in tables:
        for line in table.splitlines()[1:]:
            f = line.split(None, 4)
            if len(f) >= 4:
                state = TCP_STATES.get(f[3], "unknown")
                counts[state] = counts.get(state, 0) + 1
    return counts


class NetCollector:
    def __init__(self, proc: str = "/proc", connection_states: bool = False) -> None:
        self.proc = proc
        self.connection_states = connection_states
        # Drivers and 32-bit kernels may keep 32-bit counters.
        self._io = CounterTracker(bits=AUTO)
        self._dev = ProcFile(f"{proc}/net/dev")
        self._snmp = ProcFile(f"{proc}/net/snmp", one_piece=True)
        self._sockstat = ProcFile(f"{proc}/net/sockstat", one_piece=True)
        self._sockstat6 = ProcFile(f"{proc}/net/sockstat6", one_piece=True)
        self._tcp = (ProcFile(f"{proc}/net/tcp"), ProcFile(f"{proc}/net/tcp6"))

    def interfaces(self, tick: Tick) -> list[NetIO]:
        text = self._dev.read_text()
        if text is None:
            return []
        counters = parse_net_dev(text, wanted_interface)
        out = []
        for name, values in counters.items():
            r = self._io.rates(name, tick.mono, values)
            if r is not None:
                out.append(netio_from(name, r))
        self._io.keep_only(counters)
        return out

    def connections(self) -> dict[str, int]:
        if self.connection_states:
            tables = (f.read_text() for f in self._tcp)
            counts = count_tcp_states(*(t for t in tables if t))
            udp = self._sockstat.read_text() or ""
            udp6 = self._sockstat6.read_text() or ""
            counts["udp"] = _pairs(udp, "UDP").get("inuse", 0) + _pairs(udp6, "UDP6").get(
                "inuse", 0
            )
            return counts
        return connection_summary(
            self._snmp.read_text() or "",
            self._sockstat.read_text() or "",
            self._sockstat6.read_text() or "",
        )

    def close(self) -> None:
        for f in (self._dev, self._snmp, self._sockstat, self._sockstat6, *self._tcp):
            f.close()
