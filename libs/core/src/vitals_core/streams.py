"""The JetStream streams every service relies on, in the JetStream API's own JSON form.

One definition serves both clients: the services' nats-py (`bus.stream_configs`) and the
agent's own small client, which sends these as they are to `$JS.API.STREAM.CREATE.<name>`.
Durations are in nanoseconds, as the API has them.
"""

from __future__ import annotations

from typing import Any

from vitals_core import subjects

NS = 1_000_000_000
# Long enough for an agent's whole backlog (15 min by default) to be deduplicated on resend.
DUPLICATE_WINDOW_S = 20 * 60


def _stream(name: str, on: list[str], max_age_s: int, max_bytes: int) -> dict[str, Any]:
    return {
        "name": name,
        "subjects": list(on),
        "retention": "limits",
        "storage": "file",
        "max_age": max_age_s * NS,
        "max_bytes": max_bytes,
        "discard": "old",
        "duplicate_window": DUPLICATE_WINDOW_S * NS,
    }


def definitions() -> list[dict[str, Any]]:
    return [
        _stream(subjects.STREAM_TELEMETRY, subjects.STREAM_TELEMETRY_SUBJECTS, 6 * 3600, 2 << 30),
        _stream(subjects.STREAM_EVENTS, subjects.STREAM_EVENTS_SUBJECTS, 30 * 86400, 1 << 30),
    ]


def create_subject(name: str) -> str:
    return f"$JS.API.STREAM.CREATE.{name}"


def update_subject(name: str) -> str:
    return f"$JS.API.STREAM.UPDATE.{name}"
