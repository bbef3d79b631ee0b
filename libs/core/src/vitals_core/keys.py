"""Every Redis key Vitals uses; nothing else builds one by hand.

Redis Cluster: every key of one host carries the hash tag `{host}`, so one host's keys live
in one slot and a Lua script may touch them together. Fleet-wide structures (last seen,
the fleet summary, the rollup queue) are split into `PARTITIONS` partitions, each with its
own tag `{pNN}`; a fleet read asks every partition (one pipeline, sent per node).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

PREFIX = "vitals"
# Fixed for good: changing it would strand what the old partitions hold.
PARTITIONS = 16


def host_tag(host: str) -> str:
    """`{host}`: the hash tag of every key of one host."""
    return "{" + host + "}"


def partition(host: str) -> int:
    """The fleet partition a host's last-seen time, summary and due rollups live in."""
    return zlib.crc32(host.encode()) % PARTITIONS


def _part(name: str, part: int) -> str:
    return f"{PREFIX}:{name}:{{p{part:02d}}}"


def hosts(part: int) -> str:
    """Hash: host -> last seen (epoch seconds), for the hosts of one partition."""
    return _part("hosts", part)


def fleet(part: int) -> str:
    """Hash: host -> compact summary of its latest sample (JSON)."""
    return _part("fleet", part)


def fleet_ts(part: int) -> str:
    """Hash: host -> ts of the sample its fleet summary was made from."""
    return _part("fleet_ts", part)


def rollup_due(part: int) -> str:
    """Sorted set: `<resolution>|<bucket>|<host>` by the time it is due."""
    return _part("rollup:due", part)


def rollup_claimed(part: int) -> str:
    """The same members, claimed by a roller until a time."""
    return _part("rollup:claimed", part)


AUDIT = f"{PREFIX}:audit"  # capped list of audit entries
ANNOTATIONS = f"{PREFIX}:annotations"  # sorted set scored by time


def latest(host: str) -> str:
    """The latest metric sample of a host (JSON)."""
    return f"{PREFIX}:latest:{host_tag(host)}"


def host_info(host: str) -> str:
    return f"{PREFIX}:info:{host_tag(host)}"


def app_latest(host: str) -> str:
    """Hash: app name -> latest application metrics (JSON)."""
    return f"{PREFIX}:app:{host_tag(host)}"


def checks_latest(host: str) -> str:
    """Hash: check name -> latest check result (JSON)."""
    return f"{PREFIX}:checks:{host_tag(host)}"


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


# Alerts as the gateway sees them, materialised from the alert stream; one tag, as one
# Lua script updates them together.
ALERTS_ACTIVE = f"{PREFIX}:alerts:{{alerts}}:active"  # hash: alert_id -> latest AlertEvent
ALERTS_HISTORY = f"{PREFIX}:alerts:{{alerts}}:history"  # sorted set of AlertEvent JSON by ts


# --- the gateway's rolling windows (see services/gateway: store.py) --------------------------

ALERTS_SEEN = f"{PREFIX}:alerts:{{alerts}}:seen"  # sorted set: alert_id by its latest ts


def series_chunk(host: str, resolution: str, name: str, chunk: int) -> str:
    """One time-chunk (fixed-width slots) of one series at one resolution."""
    return f"{PREFIX}:ts:{host_tag(host)}:{resolution}:{name}:{chunk}"


def series_chunk_affixes(host: str, resolution: str, chunk: int) -> tuple[str, str]:
    """What every `series_chunk` of one host, resolution and chunk starts and ends with: the
    key is `head + name + tail` (the ingest script takes the name back out of the key)."""
    return f"{PREFIX}:ts:{host_tag(host)}:{resolution}:", f":{chunk}"


def series_chunks(host: str, resolution: str, names: Iterable[str], chunk: int) -> list[str]:
    """`series_chunk` of many series at once (on the ingest path: built without a call each)."""
    head, tail = series_chunk_affixes(host, resolution, chunk)
    return [head + name + tail for name in names]


def series_names(host: str) -> str:
    """Sorted set: series name -> start of the latest raw chunk it was written in."""
    return f"{PREFIX}:names:{host_tag(host)}"


def latest_ts(host: str) -> str:
    """Hash: `metrics`, `app:<name>`, `check:<name>` -> ts of what the latest keys hold."""
    return f"{PREFIX}:latest_ts:{host_tag(host)}"
