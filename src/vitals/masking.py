"""Secrets out of the settings that `vitals config` prints. Pure functions.

Masked: the value of every field named like a secret (password, passwd, pwd, passphrase,
secret, token, key, credential, auth, seed, password_hash), every value of a `headers`
table (any header may carry a credential), and inside every string: a URL's password
(`scheme://user:***@host`), its query values (all but a few known harmless ones, since
webhook tokens go by many names: `token`, `sig`, `code`, `key`), and whatever the agent's
command-line redaction finds (`--password=…`, `-pPW` for mysql, `redis-cli -a PW`,
`password=…` in a connection string, `Bearer …`). Paths to key files stay readable.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from vitals_agent.redact import redact_argv, redact_text

MASK = "***"

_SECRET_NAME = re.compile(
    r"(?i)(pass(word|wd|phrase)?|pwd|secret|token|credential|api_?key|private_?key|(^|_)key$"
    r"|seed$|^auth(orization)?$|password_hash)"
)
# Names that end in a secret-like word but hold a path or a duration.
_NOT_SECRET = re.compile(r"(?i)(_file|_path|_dir|_ttl|_timeout|_seconds)$")
_URL = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^\s\"'<>]+")
# Query parameters whose values are settings, not credentials.
_HARMLESS_QUERY = frozenset(
    {"starttls", "sslmode", "ssl", "tls", "timeout", "connect_timeout", "db", "database",
     "dbname", "page", "format", "application_name", "charset", "region", "protocol"}
)  # fmt: skip


def mask_settings(value: object, key: str = "") -> object:
    """`value` (plain data: dicts, lists, scalars) with every secret replaced by ***."""
    if isinstance(value, dict):
        if key == "headers":
            return {k: MASK if v else v for k, v in value.items()}
        if value.get("kind") == "command" and isinstance(value.get("target"), str):
            masked = {k: mask_settings(v, k) for k, v in value.items()}
            masked["target"] = redact_argv([mask_string(value["target"])], limit=10_000)
            return masked
        return {k: mask_settings(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_settings(v, key) for v in value]
    if isinstance(value, str):
        if value and _secret_name(key):
            return MASK
        return mask_string(value)
    return value


def _secret_name(key: str) -> bool:
    return bool(_SECRET_NAME.search(key)) and not _NOT_SECRET.search(key)


def mask_string(text: str) -> str:
    """URLs' passwords and query values, then the command-line rules."""
    return redact_text(_URL.sub(lambda m: _mask_url(m.group(0)), text))


def _mask_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return redact_text(url)
    netloc = parts.netloc
    if parts.password is not None:
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host
        netloc = f"{parts.username or ''}:{MASK}@{host}" + (f":{port}" if port else "")
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = "&".join(
            f"{quote(k, safe='')}=" + (v if k.lower() in _HARMLESS_QUERY else MASK)
            for k, v in pairs
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
