from __future__ import annotations

from typing import Literal

import msgspec


class HttpSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    host: str = "127.0.0.1"
    port: int = 8000

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError("port must be between 0 and 65535")


class UserSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    password_hash: str
    role: Literal["admin", "viewer"] = "viewer"


class AuthSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # Empty: generated once and kept under the data directory.
    jwt_secret: str = ""
    token_ttl: float = 3600.0
    audience: str = "vitals"
    users: list[UserSettings] = []
    login_attempts: int = 10
    login_window: float = 300.0

    def __post_init__(self) -> None:
        if self.jwt_secret and len(self.jwt_secret.encode()) < 32:
            raise ValueError("jwt_secret must be at least 32 bytes")
        if self.token_ttl <= 0:
            raise ValueError("token_ttl must be positive")


class GatewaySettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    cache_ttl: float = 30.0
    cors_origins: list[str] = []
    ws_origins: list[str] = []
    stale_after: float = 30.0

    def __post_init__(self) -> None:
        if self.cache_ttl < 0:
            raise ValueError("cache_ttl must not be negative")
        if "*" in self.cors_origins:
            raise ValueError("cors_origins must list origins, not '*'")
