"""Silences: matchers with a start and an end that mute the alerts they match.

A silence is never removed by a delete: it ends there, keeping who created and who
deleted it, for the audit trail. Expired silences are purged after `RETAIN_S`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Literal

import msgspec

from vitals_alerter.rules import Matcher, matches_all
from vitals_core import control

RETAIN_S = 7 * 86400.0
MAX_MATCHERS = 32
MAX_COMMENT = 1000
SilenceStatus = Literal["pending", "active", "expired"]


class Silence(msgspec.Struct, kw_only=True):
    id: str
    matchers: list[control.Matcher]
    starts_at: float
    ends_at: float
    created_by: str
    created_at: float
    comment: str = ""
    deleted_by: str = ""
    deleted_at: float | None = None

    def status(self, now: float) -> SilenceStatus:
        if now >= self.ends_at:
            return "expired"
        return "active" if now >= self.starts_at else "pending"

    def view(self, now: float) -> dict[str, object]:
        """The silence as `silence_list` shows it."""
        return {**msgspec.to_builtins(self), "status": self.status(now)}


def create(request: control.CreateSilence, silence_id: str, now: float) -> Silence:
    """A new silence from a request; ValueError says what is wrong with it."""
    if not request.matchers:
        raise ValueError("a silence needs at least one matcher")
    if len(request.matchers) > MAX_MATCHERS:
        raise ValueError(f"a silence takes at most {MAX_MATCHERS} matchers")
    for m in request.matchers:
        if not m.name:
            raise ValueError("a matcher needs a label name")
        if m.op in ("=~", "!~"):
            try:
                re.compile(m.value)
            except re.error as exc:
                raise ValueError(
                    f"matcher {m.name}{m.op}{m.value} has a bad regex: {exc}"
                ) from None
    if request.ends_at <= request.starts_at:
        raise ValueError("ends_at must be after starts_at")
    if request.ends_at <= now:
        raise ValueError("ends_at is in the past: the silence would never apply")
    if not request.by:
        raise ValueError("by (who creates the silence) is required")
    if len(request.comment) > MAX_COMMENT:
        raise ValueError(f"comment is longer than {MAX_COMMENT} characters")
    return Silence(
        id=silence_id,
        matchers=request.matchers,
        starts_at=request.starts_at,
        ends_at=request.ends_at,
        created_by=request.by,
        created_at=now,
        comment=request.comment,
    )


def end(silence: Silence, by: str, now: float) -> Silence:
    """The silence, deleted: it ends now (or keeps its earlier end) and records who did it."""
    return msgspec.structs.replace(
        silence, ends_at=min(silence.ends_at, now), deleted_by=by, deleted_at=now
    )


def compile_matchers(silence: Silence) -> tuple[Matcher, ...]:
    return tuple(
        Matcher(m.name, m.op, m.value, re.compile(m.value) if m.op in ("=~", "!~") else None)
        for m in silence.matchers
    )


class SilenceSet:
    """The silences in force, with their matchers compiled once."""

    def __init__(self) -> None:
        self.silences: dict[str, Silence] = {}
        self._compiled: dict[str, tuple[Matcher, ...]] = {}

    def put(self, silence: Silence) -> None:
        self.silences[silence.id] = silence
        self._compiled[silence.id] = compile_matchers(silence)

    def remove(self, silence_id: str) -> None:
        self.silences.pop(silence_id, None)
        self._compiled.pop(silence_id, None)

    def matching(self, labels: Mapping[str, str], now: float) -> str:
        """The id of an active silence matching `labels` (the oldest first), or ''."""
        for silence in sorted(self.silences.values(), key=lambda s: (s.starts_at, s.id)):
            if silence.status(now) == "active" and matches_all(self._compiled[silence.id], labels):
                return silence.id
        return ""

    def purgeable(self, now: float) -> Iterable[str]:
        return [s.id for s in self.silences.values() if now - s.ends_at > RETAIN_S]
