"""Small commands: check the configuration, write the event schemas."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import msgspec

from vitals_core import events
from vitals_core.config import ConfigError, load_settings

SCHEMA_PATH = Path("docs") / "events.schema.json"
SECRET_FIELDS = (
    "password",
    "secret",
    "jwt_secret",
    "password_hash",
    "admin_password",
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
        return {k: ("***" if k in SECRET_FIELDS and v else _redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


def schema_text() -> str:
    return json.dumps(events.json_schema(), indent=2, sort_keys=True) + "\n"


def write_schema(path: Path = SCHEMA_PATH) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(schema_text())
    print(f"wrote {path}")
    return 0
