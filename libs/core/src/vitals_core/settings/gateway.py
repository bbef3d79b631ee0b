from __future__ import annotations

from typing import Literal

import msgspec


class HttpSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    host: str = "127.0.0.1"
    port: int = 8000
    # Proxies whose X-Forwarded-For is believed (the audit log's "from where").
    trusted_proxies: list[str] = []

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError("port must be between 0 and 65535")


class UserSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    password_hash: str
    role: Literal["admin", "viewer"] = "viewer"

    def __post_init__(self) -> None:
        if not self.password_hash.startswith("$argon2"):
            raise ValueError(f"user {self.name!r}: password_hash must be an argon2 hash")


class AuthSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # Empty: generated once and kept in Redis, shared by every gateway replica.
    jwt_secret: str = ""
    token_ttl: float = 3600.0
    # A token can be refreshed until this long after the login that started its session.
    session_max: float = 86400.0
    audience: str = "vitals"
    users: list[UserSettings] = []
    # Failed logins within `login_window` seconds: per (account, client address), and per
    # client address whatever the account. Never per account alone, so that failures from
    # elsewhere cannot lock a user out of their own address.
    login_attempts: int = 10
    login_attempts_per_address: int = 50
    login_window: float = 300.0
    # Requests per second (sustained) and burst per token, per gateway replica.
    api_rate: float = 50.0
    api_burst: int = 200

    def __post_init__(self) -> None:
        if self.jwt_secret and len(self.jwt_secret.encode()) < 32:
            raise ValueError("jwt_secret must be at least 32 bytes")
        if self.token_ttl <= 0:
            raise ValueError("token_ttl must be positive")
        if self.session_max < self.token_ttl:
            raise ValueError("session_max must be at least token_ttl")
        if self.login_attempts < 1 or self.login_window <= 0:
            raise ValueError("login_attempts and login_window must be positive")
        if self.login_attempts_per_address < self.login_attempts:
            raise ValueError("login_attempts_per_address must be at least login_attempts")
        if self.api_rate <= 0 or self.api_burst < 1:
            raise ValueError("api_rate and api_burst must be positive")


class GatewaySettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    cache_ttl: float = 30.0
    cors_origins: list[str] = []
    # Origins allowed to open the websocket besides the gateway's own.
    ws_origins: list[str] = []
    stale_after: float = 30.0
    # The durable JetStream consumers shared by every replica.
    consumer: str = "vitals-gateway"
    # Messages per fetch: a batch is handled without yielding, so it stays small.
    fetch_batch: int = 100
    ack_wait: float = 30.0
    max_series_per_host: int = 2000
    # Websocket clients: queued messages per client, seconds behind before being dropped.
    ws_queue: int = 256
    ws_max_lag: float = 10.0
    ws_ping_interval: float = 20.0
    ws_auth_timeout: float = 10.0
    # A separate token Prometheus may use for `/metrics` only (empty: none).
    scrape_token: str = ""
    audit_max: int = 10000
    alerts_history_max: int = 10000
    annotations_max: int = 10000
    # Seconds to wait for the alerter or the notifier to answer a request.
    control_timeout: float = 5.0
    # Seconds between the checks that the alerter answers (for `/healthz` and the header).
    health_interval: float = 10.0
    # The dashboard's built files; empty: services/gateway/web/dist when it exists.
    web_dir: str = ""

    def __post_init__(self) -> None:
        if self.cache_ttl < 0:
            raise ValueError("cache_ttl must not be negative")
        if "*" in self.cors_origins:
            raise ValueError("cors_origins must list origins, not '*'")
        if "*" in self.ws_origins:
            raise ValueError("ws_origins must list origins, not '*'")
        if self.scrape_token and len(self.scrape_token) < 16:
            raise ValueError("scrape_token must be at least 16 characters")
        for name in (
            "fetch_batch",
            "ws_queue",
            "audit_max",
            "alerts_history_max",
            "annotations_max",
            "max_series_per_host",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in (
            "ack_wait",
            "ws_max_lag",
            "ws_ping_interval",
            "ws_auth_timeout",
            "control_timeout",
            "health_interval",
            "stale_after",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
