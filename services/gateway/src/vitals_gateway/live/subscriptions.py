"""The live stream's protocol and per-client queue. Pure: the clock is passed in.

A client's first message carries its token and what it subscribes to; later messages may
change the subscription, renew the token, or ping. Each client has a bounded queue: a
newer value of the same series (a host's metrics, one app, one check) replaces the one
waiting, so a slow client gets the latest values; alerts and annotations are never
replaced, and a client whose queue overflows, or whose oldest message has waited too
long, is disconnected.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, Literal

import msgspec

from vitals_core import subjects

METRIC_FAMILIES = (
    "cpu",
    "memory",
    "swap",
    "disks",
    "disk_io",
    "net",
    "connections",
    "processes",
    "uptime_s",
    "gpus",
    "temperatures",
)
# Fields every metrics event keeps, whatever families are asked for.
_ALWAYS = ("kind", "v", "ts", "host", "seq", "interval", "dropped")
MAX_HOSTS = 1000

# Subject family -> the subscription flag that wants it.
FAMILIES = ("metrics", "app", "health", "alerts", "annotations", "info")


class Subscription(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What a client receives. `hosts` empty: every host; `metrics`: families or ["*"]."""

    hosts: list[str] = []
    metrics: list[str] = []
    apps: bool = False
    checks: bool = False
    alerts: bool = False
    annotations: bool = False
    info: bool = False

    def __post_init__(self) -> None:
        unknown = [f for f in self.metrics if f != "*" and f not in METRIC_FAMILIES]
        if unknown:
            raise ValueError(
                f"unknown metric families {unknown}: use {', '.join(METRIC_FAMILIES)} or '*'"
            )
        if len(self.hosts) > MAX_HOSTS:
            raise ValueError(f"at most {MAX_HOSTS} hosts per subscription")
        for host in self.hosts:
            subjects.token(host, "host")

    def families(self) -> frozenset[str] | None:
        """The metric families to keep; None: the whole event."""
        return None if "*" in self.metrics else frozenset(self.metrics)


class ClientMessage(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    token: str | None = None
    subscribe: Subscription | None = None
    type: Literal["ping"] | None = None


_client_decoder = msgspec.json.Decoder(ClientMessage)


class BadMessage(ValueError):
    pass


def parse_client_message(data: str | bytes) -> ClientMessage:
    try:
        return _client_decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise BadMessage(str(exc)) from None


def wanted_families(sub: Subscription) -> set[str]:
    out = set()
    if sub.metrics:
        out.add("metrics")
    for flag, family in (
        ("apps", "app"),
        ("checks", "health"),
        ("alerts", "alerts"),
        ("annotations", "annotations"),
        ("info", "info"),
    ):
        if getattr(sub, flag):
            out.add(family)
    return out


def nats_subjects(subs: Iterable[Subscription]) -> set[str]:
    """The fewest core NATS subjects that carry everything the clients want."""
    wildcard: set[str] = set()
    per_host: set[tuple[str, str]] = set()
    for sub in subs:
        for family in wanted_families(sub):
            if family == "annotations" or not sub.hosts:
                wildcard.add(family)
            else:
                per_host.update((family, h) for h in sub.hosts)
    out = {_subject(f, "*") for f in wildcard}
    out |= {_subject(f, h) for f, h in per_host if f not in wildcard}
    return out


def _subject(family: str, host: str) -> str:
    if family == "annotations":
        return subjects.ANNOTATIONS
    if family in ("app", "health"):
        return f"{subjects.PREFIX}.{family}.{host}.*"
    return f"{subjects.PREFIX}.{family}.{host}"


def route(subject: str) -> tuple[str, str, str] | None:
    """(family, host, name) of a live-stream subject; host '' for annotations."""
    parts = subject.split(".")
    if subject == subjects.ANNOTATIONS:
        return "annotations", "", ""
    if len(parts) < 3 or parts[0] != subjects.PREFIX or parts[1] not in FAMILIES:
        return None
    return parts[1], parts[2], parts[3] if len(parts) > 3 else ""


def coalesce_key(family: str, host: str, name: str) -> str | None:
    """Messages with the same key replace each other in a queue; None: never replaced."""
    if family in ("alerts", "annotations"):
        return None
    return f"{family}|{host}|{name}"


def trim_metrics(event: dict[str, Any], families: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k in _ALWAYS or k in families}


class Verdict(enum.Enum):
    QUEUED = "queued"
    COALESCED = "coalesced"
    OVERFLOW = "overflow"


class ClientQueue:
    def __init__(self, bound: int) -> None:
        self.bound = bound
        self.items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self.seq = 0

    def put(self, key: str | None, payload: bytes, now: float) -> Verdict:
        if key is not None and key in self.items:
            queued_at, _ = self.items[key]
            self.items[key] = (queued_at, payload)  # keeps its place and its age
            return Verdict.COALESCED
        if len(self.items) >= self.bound:
            return Verdict.OVERFLOW
        if key is None:
            self.seq += 1
            key = f"#{self.seq}"
        self.items[key] = (now, payload)
        return Verdict.QUEUED

    def take(self) -> bytes | None:
        if not self.items:
            return None
        _, (_, payload) = self.items.popitem(last=False)
        return payload

    def lag(self, now: float) -> float:
        """How long the oldest waiting message has waited."""
        if not self.items:
            return 0.0
        queued_at, _ = next(iter(self.items.values()))
        return now - queued_at

    def __len__(self) -> int:
        return len(self.items)


def origin_allowed(origin: str | None, host: str | None, allowed: Iterable[str]) -> bool:
    """A browser's `Origin` must be the gateway's own or one configured; none: not a browser."""
    if origin is None:
        return True
    origin = origin.rstrip("/").lower()
    if origin in {a.rstrip("/").lower() for a in allowed}:
        return True
    if host is None:
        return False
    _, sep, rest = origin.partition("://")
    return bool(sep) and rest == host.lower()
