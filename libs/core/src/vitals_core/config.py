"""Load the settings: a TOML file, then `VITALS_<SECTION>_<KEY>` variables, then the seed's names.

A bad file or value raises `ConfigError` whose message names the setting and what is wrong;
services print it and exit at start.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from typing import Any

import msgspec

from vitals_core.settings import Settings

DEFAULT_CONFIG = "vitals.toml"

# The seed's variable names and DESIGN.md's short names, mapped onto the tree.
ALIASES: dict[str, tuple[str, ...]] = {
    "PERFORMANCE_MONITORING_ENABLED": ("agent", "enabled"),
    "METRICS_COLLECTION_INTERVAL": ("agent", "interval"),
    "ALERT_THRESHOLDS_CPU": ("alerter", "cpu_warning"),
    "ALERT_THRESHOLDS_MEMORY": ("alerter", "memory_warning"),
    "ALERT_THRESHOLDS_DISK": ("alerter", "disk_warning"),
    "CACHE_METRICS_TIMEOUT": ("gateway", "cache_ttl"),
    "VITALS_WEBHOOK_URL": ("notifier", "webhook_url"),
    "VITALS_WEBHOOK_SECRET": ("notifier", "webhook_secret"),
    "VITALS_SMTP_URL": ("notifier", "smtp_url"),
    "VITALS_ALERT_EMAIL_TO": ("notifier", "email_to"),
    "VITALS_NOTIFY_ALLOW_PRIVATE": ("notifier", "allow_private"),
}


class ConfigError(Exception):
    """The configuration cannot be used; the message says which setting and why."""


def load_settings(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    env = os.environ if env is None else env
    raw = _read_file(path, env)
    sources: dict[tuple[str, ...], str] = {}
    for var, where in _env_settings(env):
        _set(raw, where, env[var])
        sources[where] = var
    try:
        return msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(_describe(str(exc), sources)) from None


def _read_file(path: str | os.PathLike[str] | None, env: Mapping[str, str]) -> dict[str, Any]:
    explicit = path is not None or "VITALS_CONFIG" in env
    file = os.fspath(path if path is not None else env.get("VITALS_CONFIG", DEFAULT_CONFIG))
    if not os.path.exists(file):
        if explicit:
            raise ConfigError(f"Config file '{file}' (VITALS_CONFIG) does not exist.")
        return {}
    try:
        with open(file, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Config file '{file}' is not valid TOML: {exc}.") from None
    except OSError as exc:
        raise ConfigError(f"Config file '{file}' cannot be read: {exc.strerror}.") from None


def _env_settings(env: Mapping[str, str]) -> list[tuple[str, tuple[str, ...]]]:
    """Every (variable, setting path) pair set in `env`; explicit names win over aliases."""
    found: dict[tuple[str, ...], str] = {}
    for var, where in ALIASES.items():
        if var in env:
            found[where] = var
    for field in msgspec.structs.fields(Settings):
        if isinstance(field.default_factory, type) and issubclass(
            field.default_factory, msgspec.Struct
        ):
            for sub in msgspec.structs.fields(field.default_factory):
                var = f"VITALS_{field.name}_{sub.name}".upper()
                if var in env:
                    found[(field.name, sub.name)] = var
        else:
            var = f"VITALS_{field.name}".upper()
            if var in env:
                found[(field.name,)] = var
    return [(var, where) for where, var in found.items()]


def _set(raw: dict[str, Any], where: tuple[str, ...], value: str) -> None:
    node = raw
    for part in where[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"Config '{part}' must be a table.")
        node = child
    node[where[-1]] = _parse_env_value(where, value)


def _parse_env_value(where: tuple[str, ...], value: str) -> Any:
    """Strings stay strings for msgspec to coerce; lists and tables get a simple syntax."""
    kind = _field_type(where)
    if kind == "list":
        return [item.strip() for item in value.split(",") if item.strip()]
    if kind == "dict":
        pairs = [item.split("=", 1) for item in value.split(",") if item.strip()]
        return {k.strip(): v.strip() for k, v in (p if len(p) == 2 else (p[0], "") for p in pairs)}
    return value


def _field_type(where: tuple[str, ...]) -> str:
    info: Any = msgspec.inspect.type_info(Settings)
    for part in where:
        field = next((f for f in info.fields if f.name == part), None)
        if field is None:
            return "scalar"
        info = field.type
    if isinstance(info, msgspec.inspect.ListType):
        return "list"
    if isinstance(info, msgspec.inspect.DictType):
        return "dict"
    return "scalar"


def _describe(message: str, sources: dict[tuple[str, ...], str]) -> str:
    """Turn msgspec's `... - at `$.agent.interval`` into a sentence naming the setting."""
    text, sep, path = message.rpartition(" - at `$.")
    if not sep:
        return f"Config is invalid: {message}"
    setting = path.rstrip("`")
    where = tuple(setting.split("."))
    origin = f" (from {sources[where]})" if where in sources else ""
    return f"Config '{setting}'{origin} is invalid: {text}"
