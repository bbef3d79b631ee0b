"""Bring a stream or KV bucket to the configuration at start, never lowering a limit silently.

An operator may raise a stream's replicas or size by hand (`nats stream edit`); a service that
restarts with an older or smaller configuration must not put them back down. So a service
applies every raise, keeps every limit that is already higher and logs both values, and
applies the few settings that are not limits (subjects added, compression) as configured.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Awaitable
from typing import Any, TypeVar

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StreamConfig, StreamInfo
from nats.js.errors import APIError, NotFoundError

from vitals_core.config import ConfigError
from vitals_core.kvread import Bucket

log = logging.getLogger("vitals.streams")

# Limits where more is more; None, -1 (and 0 for an age) mean unlimited.
T = TypeVar("T")
LIMITS = ("num_replicas", "max_bytes", "max_msgs", "max_age", "max_msgs_per_subject")


@dataclasses.dataclass(frozen=True)
class Plan:
    """What to change on an existing stream, and what to say about it."""

    changes: dict[str, Any]
    raised: list[str]
    kept: list[str]


def _limit(field: str, value: Any) -> float:
    if field == "num_replicas":
        return float(value or 1)
    if value is None or value < 0 or (field == "max_age" and value == 0):
        return math.inf
    return float(value)


def plan(current: StreamConfig, wanted: StreamConfig) -> Plan:
    """The changes that bring `current` up to `wanted` without lowering any limit."""
    changes: dict[str, Any] = {}
    raised: list[str] = []
    kept: list[str] = []
    for field in LIMITS:
        have, want = getattr(current, field), getattr(wanted, field)
        if want is None:
            continue
        if _limit(field, want) > _limit(field, have):
            changes[field] = want
            raised.append(f"{field} {_show(have)} -> {_show(want)}")
        elif _limit(field, want) < _limit(field, have):
            kept.append(f"{field} is {_show(have)}, configuration says {_show(want)}")
    missing = [s for s in wanted.subjects or [] if s not in (current.subjects or [])]
    if missing:
        changes["subjects"] = [*(current.subjects or []), *missing]
        raised.append(f"subjects + {', '.join(missing)}")
    if wanted.compression is not None and wanted.compression != current.compression:
        changes["compression"] = wanted.compression
        raised.append(f"compression {_show(current.compression)} -> {_show(wanted.compression)}")
    if wanted.duplicate_window and wanted.duplicate_window != current.duplicate_window:
        changes["duplicate_window"] = wanted.duplicate_window
        raised.append(f"duplicate_window {current.duplicate_window} -> {wanted.duplicate_window}")
    return Plan(changes, raised, kept)


def _show(value: Any) -> str:
    return str(getattr(value, "value", value))


async def ensure_stream(js: JetStreamContext, wanted: StreamConfig) -> StreamInfo:
    """Create the stream as configured, or reconcile an existing one (see `plan`)."""
    assert wanted.name is not None
    try:
        info = await js.stream_info(wanted.name)
    except NotFoundError:
        log.info("creating stream %s (%s replicas)", wanted.name, wanted.num_replicas or 1)
        return await _checked(js.add_stream(wanted), wanted)
    return await _reconcile(js, info, wanted)


async def ensure_bucket(js: JetStreamContext, wanted: KeyValueConfig) -> Bucket:
    """Create the KV bucket as configured, or reconcile its replicas and size; read from
    its stream leader (see `kvread`)."""
    stream = f"KV_{wanted.bucket}"
    try:
        info = await js.stream_info(stream)
    except NotFoundError:
        log.info("creating KV bucket %s (%s replicas)", wanted.bucket, wanted.replicas)
        await _checked(js.create_key_value(wanted), wanted)
        return Bucket(js, wanted.bucket)
    limits = StreamConfig(
        name=stream,
        num_replicas=wanted.replicas,
        max_bytes=wanted.max_bytes or None,
        max_msgs_per_subject=wanted.history,  # the bucket's history
    )
    await _reconcile(js, info, limits)
    return Bucket(js, wanted.bucket)


async def _reconcile(js: JetStreamContext, info: StreamInfo, wanted: StreamConfig) -> StreamInfo:
    todo = plan(info.config, wanted)
    for note in todo.kept:
        # Raised by hand on purpose, most likely: kept, and said so with both values.
        log.warning("stream %s: %s; kept (lower it by hand if you mean it)", wanted.name, note)
    if not todo.changes:
        return info
    log.warning("stream %s: updating %s", wanted.name, "; ".join(todo.raised))
    return await _checked(
        js.update_stream(dataclasses.replace(info.config, **todo.changes)), wanted
    )


async def _checked(call: Awaitable[T], wanted: StreamConfig | KeyValueConfig) -> T:
    """Await a create/update; a request the server cannot meet becomes a clear ConfigError."""
    try:
        return await call
    except APIError as exc:
        what = exc.description or str(exc)
        replicas = getattr(wanted, "num_replicas", None) or getattr(wanted, "replicas", 1)
        name = getattr(wanted, "name", None) or getattr(wanted, "bucket", "")
        if "replicas" in what.lower() or "no suitable peers" in what.lower():
            raise ConfigError(
                f"Config 'nats.replicas' is {replicas}, but NATS cannot place {name} on that "
                f"many servers ({what}): use 1 on a single server, at most the cluster's size."
            ) from None
        if "insufficient storage" in what.lower():
            raise ConfigError(
                f"NATS has no room for {name} ({what}): raise the server's "
                "jetstream max_file_store, or lower nats.fleet_hosts / nats.telemetry_max_bytes."
            ) from None
        raise
