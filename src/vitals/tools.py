"""Small commands: check the configuration, write the event schemas."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import msgspec

from vitals_core import events
from vitals_core.config import ConfigError, load_settings

SCHEMA_PATH = Path("docs") / "events.schema.json"
WEBHOOK_SCHEMA_PATH = Path("docs") / "webhook.schema.json"
SECRET_FIELDS = (
    "password",
    "secret",
    "secrets",
    "jwt_secret",
    "password_hash",
    "admin_password",
    "webhook_secret",
    "scrape_token",
)


def check_config() -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"vitals config: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(_redact(msgspec.to_builtins(settings)), indent=2))
    return 0


def _redact(value: object) -> object:
    if isinstance(value, dict):
        return {
            k: "***"
            if k in SECRET_FIELDS and v
            else _redact_url(v)
            if k.endswith("url")
            else _redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


def _redact_url(value: object) -> object:
    """A URL's password (smtp://user:pass@host) replaced by ***."""
    if isinstance(value, str) and "@" in value and "://" in value:
        scheme, _, rest = value.partition("://")
        userinfo, at, host = rest.rpartition("@")
        if ":" in userinfo:
            return f"{scheme}://{userinfo.split(':', 1)[0]}:***{at}{host}"
    return value


def schema_text() -> str:
    return json.dumps(events.json_schema(), indent=2, sort_keys=True) + "\n"


def webhook_schema_text() -> str:
    from vitals_notifier import payload

    return json.dumps(payload.json_schema(), indent=2, sort_keys=True) + "\n"


def write_schema(path: Path = SCHEMA_PATH, webhook_path: Path = WEBHOOK_SCHEMA_PATH) -> int:
    for where, text in ((path, schema_text()), (webhook_path, webhook_schema_text())):
        where.parent.mkdir(parents=True, exist_ok=True)
        where.write_text(text)
        print(f"wrote {where}")
    return 0
