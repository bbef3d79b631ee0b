"""The typed settings tree: one section per concern, unknown keys rejected."""

from __future__ import annotations

import msgspec

from vitals_core.settings.agent import AgentSettings, CheckSettings, ScrapeSettings
from vitals_core.settings.alerter import AlerterSettings
from vitals_core.settings.analytics import AnalyticsSettings, ComponentGroup
from vitals_core.settings.gateway import AuthSettings, GatewaySettings, HttpSettings
from vitals_core.settings.notifier import NotifierSettings

__all__ = [
    "AgentSettings",
    "AlerterSettings",
    "AnalyticsSettings",
    "AuthSettings",
    "CheckSettings",
    "ComponentGroup",
    "GatewaySettings",
    "HttpSettings",
    "NatsSettings",
    "NotifierSettings",
    "RedisSettings",
    "ScrapeSettings",
    "Settings",
]


class NatsSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # Empty: `vitals up` starts an embedded server and fills this in for its children.
    url: str = ""
    user: str = ""
    password: str = ""
    nkey_seed_file: str = ""
    creds_file: str = ""
    connect_timeout: float = 5.0
    # TLS: the authorities to trust (else the system's), and a client certificate and key
    # for servers that require one. Any of them set: every connection uses TLS.
    tls_ca_file: str = ""
    tls_cert_file: str = ""
    tls_key_file: str = ""

    # JetStream replicas of every stream and KV bucket: 1 on a single server, 3 on a cluster.
    # At start a service raises what is lower and keeps (and logs) what is higher.
    replicas: int = 1
    # The telemetry stream holds `telemetry_hold_hours` of this fleet's samples (docs/cluster.md):
    # hosts, and the shortest agent interval among them, in seconds.
    fleet_hosts: int = 100
    fleet_interval: float = 1.0
    telemetry_hold_hours: float = 1.0
    # 0: derived from the fleet above; else the telemetry stream's cap in stored bytes.
    telemetry_max_bytes: int = 0
    # Stream compression on disk: "s2" or "none".
    compression: str = "s2"

    def __post_init__(self) -> None:
        if not 1 <= self.replicas <= 5:
            raise ValueError("replicas must be between 1 and 5")
        if self.fleet_hosts < 1:
            raise ValueError("fleet_hosts must be at least 1")
        if self.fleet_interval <= 0 or self.telemetry_hold_hours <= 0:
            raise ValueError("fleet_interval and telemetry_hold_hours must be positive")
        if self.telemetry_max_bytes < 0:
            raise ValueError("telemetry_max_bytes must not be negative")
        if self.compression not in ("s2", "none"):
            raise ValueError("compression must be 's2' or 'none'")
        _check_tls_pair(self.tls_cert_file, self.tls_key_file)


class RedisSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: str = ""
    # TLS (a rediss:// URL): as for NATS above.
    tls_ca_file: str = ""
    tls_cert_file: str = ""
    tls_key_file: str = ""

    def __post_init__(self) -> None:
        _check_tls_pair(self.tls_cert_file, self.tls_key_file)


def _check_tls_pair(cert: str, key: str) -> None:
    if bool(cert) != bool(key):
        raise ValueError("tls_cert_file and tls_key_file go together: set both or neither")


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    data_dir: str = ".vitals"
    admin_password: str = ""
    log_level: str = "info"
    http: HttpSettings = msgspec.field(default_factory=HttpSettings)
    nats: NatsSettings = msgspec.field(default_factory=NatsSettings)
    redis: RedisSettings = msgspec.field(default_factory=RedisSettings)
    agent: AgentSettings = msgspec.field(default_factory=AgentSettings)
    gateway: GatewaySettings = msgspec.field(default_factory=GatewaySettings)
    auth: AuthSettings = msgspec.field(default_factory=AuthSettings)
    alerter: AlerterSettings = msgspec.field(default_factory=AlerterSettings)
    notifier: NotifierSettings = msgspec.field(default_factory=NotifierSettings)
    analytics: AnalyticsSettings = msgspec.field(default_factory=AnalyticsSettings)

    def __post_init__(self) -> None:
        if self.log_level not in ("debug", "info", "warning", "error"):
            raise ValueError("must be one of debug, info, warning, error")
