"""The notifier's settings: receivers, routes, grouping, retries, and the quick setup.

Quick setup (no receivers in the file): `webhook_url` (+ `webhook_secret`) becomes a receiver
named `webhook`, `smtp_url` + `email_to` one named `email`; every alert event goes to them.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import ipaddress
import re
from collections.abc import Iterator
from typing import Literal, TypeAlias
from urllib.parse import urlsplit

import msgspec

from vitals_core import subjects
from vitals_core.control import Matcher

QUICK_WEBHOOK = "webhook"
QUICK_EMAIL = "email"

EVENT_KINDS = (
    "firing",
    "severity_changed",
    "reminder",
    "escalated",
    "acknowledged",
    "silenced",
    "unsilenced",
    "resolved",
    "annotation",
)
SEVERITIES = ("info", "warning", "critical")
# Headers a receiver's `headers` may not set: the signature, framing and routing are ours.
RESERVED_HEADERS = frozenset(
    {"webhook-id", "webhook-timestamp", "webhook-signature", "host", "content-length",
     "content-type", "transfer-encoding", "connection"}
)  # fmt: skip
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


class ReceiverSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Where a notification goes: one webhook endpoint or one list of mailboxes."""

    name: str
    kind: Literal["webhook", "email"]
    # webhook
    url: str = ""
    secrets: list[str] = []
    format: Literal["vitals", "alertmanager"] = "vitals"
    headers: dict[str, str] = {}
    # email: `smtp_url` empty means the notifier's `smtp_url`; `sender` empty, its `email_from`.
    smtp_url: str = ""
    to: list[str] = []
    sender: str = ""
    # both: a CA bundle to trust instead of the system's (a private CA).
    tls_ca_file: str = ""
    # both; 0 means the notifier's `timeout` and `concurrency`.
    timeout: float = 0.0
    concurrency: int = 0

    def __post_init__(self) -> None:
        subjects.token(self.name, "receiver name")
        if self.timeout < 0 or self.concurrency < 0:
            raise ValueError(
                f"receiver {self.name!r}: timeout and concurrency must not be negative"
            )
        if self.kind == "webhook":
            if not self.url:
                raise ValueError(f"receiver {self.name!r}: a webhook needs a `url`")
            with _setting(f"receiver {self.name!r}: url"):
                check_webhook_url(self.url)
            with _setting(f"receiver {self.name!r}: secret"):
                for secret in self.secrets:
                    check_secret(secret)
            for header in self.headers:
                if not _HEADER_NAME.match(header) or header.lower() in RESERVED_HEADERS:
                    raise ValueError(f"receiver {self.name!r}: header {header!r} cannot be set")
        else:
            if not self.to:
                raise ValueError(f"receiver {self.name!r}: an email receiver needs `to`")
            with _setting(f"receiver {self.name!r}: smtp_url"):
                if self.smtp_url:
                    check_smtp_url(self.smtp_url)


class RouteSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Events matching every given criterion go to `receivers`; empty criteria match all.

    Routes are tried in order; the first match stops the walk unless it sets `continue`.
    `hosts` and `rules` take shell-style globs (`gpu-*`); `labels` must be equal;
    `matchers` compare any field or label with =, !=, =~ or !~ (regex, whole value).
    Grouping settings left unset take the notifier's defaults.
    """

    receivers: list[str]
    name: str = ""
    events: list[str] = []
    severity: list[str] = []
    hosts: list[str] = []
    rules: list[str] = []
    labels: dict[str, str] = {}
    matchers: list[Matcher] = []
    continue_: bool = msgspec.field(default=False, name="continue")
    group_by: list[str] | None = None
    group_wait: float | None = None
    group_interval: float | None = None
    # Ignored, as the notifier's own: the alerter's repeat_interval owns reminders.
    repeat_interval: float | None = None

    def __post_init__(self) -> None:
        if not self.receivers:
            raise ValueError("a route needs at least one receiver")
        for kind in self.events:
            if kind not in EVENT_KINDS:
                raise ValueError(
                    f"unknown event kind {kind!r}: use one of {', '.join(EVENT_KINDS)}"
                )
        for severity in self.severity:
            if severity not in SEVERITIES:
                raise ValueError(
                    f"unknown severity {severity!r}: use one of {', '.join(SEVERITIES)}"
                )
        for m in self.matchers:
            if m.op in ("=~", "!~"):
                try:
                    re.compile(m.value)
                except re.error as exc:
                    raise ValueError(f"matcher {m.name}{m.op}{m.value!r}: {exc}") from None
        for name in ("group_wait", "group_interval", "repeat_interval"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative")


class NotifierSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # Quick setup without receivers in the file (DESIGN.md's VITALS_WEBHOOK_* and VITALS_SMTP_*).
    webhook_url: str = ""
    webhook_secret: str = ""
    smtp_url: str = ""
    email_to: list[str] = []
    email_from: str = "vitals@localhost"
    # Hosts or CIDRs a webhook may reach although they are loopback, private or link-local.
    allow_private: list[str] = []

    receivers: list[ReceiverSettings] = []
    routes: list[RouteSettings] = []
    # Where events no route matches go. Empty: every receiver when no routes are
    # configured, else the quick-setup receivers (none: the event is not sent).
    default_receivers: list[str] = []
    # The dashboard's address, for links in messages (Alertmanager's `externalURL`).
    external_url: str = ""

    # Grouping defaults (Alertmanager's meaning), overridable per route.
    group_by: list[str] = msgspec.field(default_factory=lambda: ["host"])
    group_wait: float = 10.0
    group_interval: float = 60.0
    # Ignored (a warning at start): the alerter's repeat_interval owns reminders, which the
    # notifier delivers within group_interval. Still accepted so existing files load.
    repeat_interval: float = 60.0
    max_groups: int = 10_000
    max_events_per_message: int = 100

    # Delivery: per-attempt timeout, workers and queue bound per receiver.
    timeout: float = 10.0
    concurrency: int = 4
    queue_size: int = 10_000
    # Retries: exponential backoff from `retry_base` doubling up to `retry_max_delay`, with
    # jitter, for at most `retry_for` seconds and `retry_max_attempts` attempts; a receiver's
    # Retry-After is honoured up to `retry_after_max`.
    retry_base: float = 5.0
    retry_max_delay: float = 3600.0
    retry_for: float = 86_400.0
    retry_max_attempts: int = 100
    retry_after_max: float = 3600.0
    retry_jitter: float = 0.5

    # The alert stream: how long an event may wait unacknowledged, how many at once, and
    # how far back a first start reads. A dead replica's held events come back after
    # ack_wait, so it bounds how long its groups take to move to another replica.
    ack_wait: float = 10.0
    max_ack_pending: int = 10_000
    first_start_backlog: float = 600.0
    # Stores: dead letters kept, attempts kept (count and age), and how many of the newest
    # attempts a listing filtered by receiver looks through.
    max_dead_letters: int = 10_000
    attempts_kept: int = 100_000
    attempts_max_age: float = 7 * 86_400.0
    attempts_listed: int = 10_000
    # Replicas share the groups through leases of this length (seconds): a dead replica's
    # groups and retries move to a live one within about a lease.
    lease: float = 5.0

    def __post_init__(self) -> None:
        with _setting("webhook_secret"):
            if self.webhook_secret:
                check_secret(self.webhook_secret)
        with _setting("webhook_url"):
            if self.webhook_url:
                check_webhook_url(self.webhook_url)
                check_reachable(self.webhook_url, self.allow_private)
        with _setting("smtp_url"):
            if self.smtp_url:
                check_smtp_url(self.smtp_url)
        with _setting("allow_private"):
            for entry in self.allow_private:
                check_allow_entry(entry)
        self._check_numbers()
        self._check_names()
        for receiver in self.receivers:
            with _setting(f"receiver {receiver.name!r}:"):
                if receiver.kind == "webhook":
                    check_reachable(receiver.url, self.allow_private)
                elif not (receiver.smtp_url or self.smtp_url):
                    raise ValueError("needs `smtp_url` (or notifier.smtp_url) to send email")

    def _check_numbers(self) -> None:
        positive = ("timeout", "retry_base", "retry_max_delay", "ack_wait", "retry_after_max",
                    "lease")  # fmt: skip
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        at_least_one = ("concurrency", "queue_size", "retry_max_attempts", "max_groups",
                        "max_events_per_message", "max_ack_pending", "max_dead_letters",
                        "attempts_kept", "attempts_listed")  # fmt: skip
        for name in at_least_one:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        non_negative = ("group_wait", "group_interval", "repeat_interval", "retry_for",
                        "first_start_backlog", "attempts_max_age")  # fmt: skip
        for name in non_negative:
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if not 0.0 <= self.retry_jitter <= 1.0:
            raise ValueError("retry_jitter must be between 0 and 1")

    def _check_names(self) -> None:
        names = [r.name for r in self.receivers]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"receiver names must be unique: {', '.join(duplicates)}")
        known = set(names) | set(self.quick_receivers())
        clash = set(names) & set(self.quick_receivers())
        if clash:
            raise ValueError(
                f"receiver name {sorted(clash)[0]!r} is taken by the quick setup; rename it"
            )
        for route in self.routes:
            for name in route.receivers:
                if name not in known:
                    raise ValueError(
                        f"route {route.name or route.receivers}: unknown receiver {name!r}"
                    )
        for name in self.default_receivers:
            if name not in known:
                raise ValueError(f"default_receivers: unknown receiver {name!r}")

    def quick_receivers(self) -> list[str]:
        """The receivers the quick-setup variables define, by name."""
        quick = []
        if self.webhook_url:
            quick.append(QUICK_WEBHOOK)
        if self.smtp_url and self.email_to:
            quick.append(QUICK_EMAIL)
        return quick


@contextlib.contextmanager
def _setting(name: str) -> Iterator[None]:
    """Prefix a validation error with the setting it is about."""
    try:
        yield
    except ValueError as exc:
        raise ValueError(f"{name} {exc}") from None


def check_secret(secret: str) -> None:
    if not secret.startswith("whsec_"):
        raise ValueError("must be a 'whsec_' secret")
    try:
        key = base64.b64decode(secret[6:], validate=True)
    except binascii.Error:
        raise ValueError("must be base64 after 'whsec_'") from None
    if not 24 <= len(key) <= 64:
        raise ValueError("must hold 24 to 64 bytes after 'whsec_'")


def check_webhook_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"must be http or https (got {parts.scheme or 'none'!r})")
    try:
        host = parts.hostname
        _ = parts.port
    except ValueError as exc:
        raise ValueError(f"is malformed: {exc}") from None
    if not host:
        raise ValueError("has no host")


def check_smtp_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("must start with smtp:// or smtps://")
    try:
        _ = parts.port
    except ValueError as exc:
        raise ValueError(f"is malformed: {exc}") from None
    if not parts.hostname:
        raise ValueError("has no host")


# --- which addresses a webhook may reach (checked at config time and again at send time) --

IP: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
# Cloud metadata services (AWS, GCP, Azure, Oracle: 169.254.169.254; AWS over IPv6; AWS
# ECS task metadata; Alibaba; Azure's wire server, a public address): no CIDR in
# allow_private opens these, in any IPv6 form that carries them; only the address itself.
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "169.254.170.2",
        "fd00:ec2::254",
        "100.100.100.200",
        "168.63.129.16",
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: any RFC 6052 layout
_V4_COMPATIBLE = ipaddress.ip_network("::/96")
_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$")


def check_allow_entry(entry: str) -> None:
    if "/" in entry:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(f"entry {entry!r} is not a CIDR") from None
    elif not (_parse_ip(entry) or _HOSTNAME.match(entry)):
        raise ValueError(f"entry {entry!r} is not a host, address or CIDR")


def refused_address(host: str, ip: IP, allow: list[str]) -> str:
    """Why `ip` (which `host` resolved to) may not be reached; empty when it may.

    An IPv6 address that carries an IPv4 one (mapped, compatible, NAT64, 6to4) is judged
    as that IPv4 address: `::/0` does not open `::ffff:10.0.0.1`, `10.0.0.0/8` does.
    """
    host = host.lower().rstrip(".")
    if host in (a.lower().rstrip(".") for a in allow):
        return ""
    inner = _embedded_v4(ip)
    listed = {_embedded_v4(p) for p in map(_parse_ip, allow) if p is not None}
    if inner in listed:  # the address itself, in any of its forms
        return ""
    if _carries_metadata(ip):
        shown = str(ip) if inner == ip else f"{ip} ({inner})"
        return f"{shown} is a cloud metadata address"
    for entry in allow:
        if "/" in entry and inner in ipaddress.ip_network(entry, strict=False):
            return ""
    if not (inner.is_global and not inner.is_multicast):
        what = (
            "loopback"
            if inner.is_loopback
            else "link-local"
            if inner.is_link_local
            else ("multicast" if inner.is_multicast else "private or reserved")
        )
        subject = str(ip) if host == str(ip) else f"{host} resolves to {ip}, which"
        return f"{subject} is a {what} address"
    return ""


def check_reachable(url: str, allow: list[str]) -> None:
    """Refuse at config time what a literal address or `localhost` shows is not public."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    hint = "; list it in allow_private (VITALS_NOTIFY_ALLOW_PRIVATE) to allow it"
    ip = _parse_ip(host)
    if ip is not None:
        reason = refused_address(host, ip, allow)
        if reason:
            raise ValueError(f"is refused: {reason}{hint}")
    elif (host == "localhost" or host.endswith(".localhost")) and host not in allow:
        raise ValueError(f"is refused: {host} is loopback{hint}")


def _parse_ip(text: str) -> IP | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def _embedded_v4(ip: IP) -> IP:
    """The IPv4 address an IPv6 one carries (mapped, compatible, 6to4, NAT64), else `ip`."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in _NAT64 or ip in _NAT64_LOCAL:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip in _V4_COMPATIBLE and int(ip) > 1:  # not :: nor ::1
            return ipaddress.IPv4Address(int(ip))
    return ip


def _nat64_layouts(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address RFC 6052 could place in `ip`, for each prefix length; bits 64-71
    (the `u` octet) are skipped."""
    n = int(ip)
    out = []
    for prefix in (32, 40, 48, 56, 64, 96):
        bits = [(127 - i) for i in range(prefix, prefix + 40) if not 64 <= i < 72][:32]
        v4 = 0
        for shift in bits:
            v4 = (v4 << 1) | ((n >> shift) & 1)
        out.append(ipaddress.IPv4Address(v4))
    return out


def _carries_metadata(ip: IP) -> bool:
    if ip in METADATA or _embedded_v4(ip) in METADATA:
        return True
    # The local-use NAT64 prefix may use any layout: refuse if any of them is metadata.
    return (
        isinstance(ip, ipaddress.IPv6Address)
        and ip in _NAT64_LOCAL
        and any(v4 in METADATA for v4 in _nat64_layouts(ip))
    )
