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


def check_config() -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"vitals config: {exc}", file=sys.stderr)
        return 2
    from vitals.masking import mask_settings

    print(json.dumps(mask_settings(msgspec.to_builtins(settings)), indent=2))
    return 0


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
