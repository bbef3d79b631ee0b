"""Every Redis key Vitals uses; nothing else builds one by hand."""

from __future__ import annotations

PREFIX = "vitals"

HOSTS = f"{PREFIX}:hosts"  # hash: host -> last seen (epoch seconds)
AUDIT = f"{PREFIX}:audit"  # capped list of audit entries
ANNOTATIONS = f"{PREFIX}:annotations"  # sorted set scored by time


def latest(host: str) -> str:
    """The latest metric sample of a host (JSON)."""
    return f"{PREFIX}:latest:{host}"


def host_info(host: str) -> str:
    return f"{PREFIX}:info:{host}"


def app_latest(host: str) -> str:
    """Hash: app name -> latest application metrics (JSON)."""
    return f"{PREFIX}:app:{host}"


def checks_latest(host: str) -> str:
    """Hash: check name -> latest check result (JSON)."""
    return f"{PREFIX}:checks:{host}"


def revoked_token(jti: str) -> str:
    return f"{PREFIX}:revoked:{jti}"


def api_tokens() -> str:
    return f"{PREFIX}:apitokens"


def refresh_token(token_id: str) -> str:
    """A browser session's refresh token (its hash, who, since when), until the session ends."""
    return f"{PREFIX}:refresh:{token_id}"


def refresh_tokens_of(user: str) -> str:
    """The ids of a user's refresh tokens, scored by creation time (to cap how many)."""
    return f"{PREFIX}:refresh-of:{user}"


def login_attempts(who: str) -> str:
    return f"{PREFIX}:login:{who}"


def admin_password_hash() -> str:
    return f"{PREFIX}:admin:password"


def jwt_signing_key() -> str:
    """Generated once when no `auth.jwt_secret` is configured; shared by gateway replicas."""
    return f"{PREFIX}:auth:jwt_key"


# Alerts as the gateway sees them, materialised from the alert stream.
ALERTS_ACTIVE = f"{PREFIX}:alerts:active"  # hash: alert_id -> latest AlertEvent (JSON)
ALERTS_HISTORY = f"{PREFIX}:alerts:history"  # sorted set of AlertEvent JSON scored by ts


# --- the gateway's rolling windows (see services/gateway: store.py) --------------------------

FLEET = f"{PREFIX}:fleet"  # hash: host -> compact summary of its latest sample (JSON)
ROLLUP_DUE = f"{PREFIX}:rollup:due"  # sorted set: "<resolution>|<bucket>|<host>" by due time
ROLLUP_CLAIMED = f"{PREFIX}:rollup:claimed"  # the same members, claimed by a roller until a time
ALERTS_SEEN = f"{PREFIX}:alerts:seen"  # sorted set: alert_id scored by its latest event's ts


def series_prefix(host: str, resolution: str) -> str:
    """What `series_chunk` starts with; the window store's Lua scripts append `name:chunk`."""
    return f"{PREFIX}:ts:{host}:{resolution}:"


def series_chunk(host: str, resolution: str, name: str, chunk: int) -> str:
    """One time-chunk (fixed-width slots) of one series at one resolution."""
    return f"{series_prefix(host, resolution)}{name}:{chunk}"


def series_names(host: str) -> str:
    """Sorted set: series name -> start of the latest raw chunk it was written in."""
    return f"{PREFIX}:names:{host}"


def latest_ts(host: str) -> str:
    """Hash: `metrics`, `app:<name>`, `check:<name>` -> ts of what the latest keys hold."""
    return f"{PREFIX}:latest_ts:{host}"
