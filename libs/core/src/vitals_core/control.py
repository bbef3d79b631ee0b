"""Request/reply messages between the gateway and the alerter or notifier.

A request goes to `vitals.control.<service>.<verb>` (see `subjects.control`), served by a
queue group so any replica answers. Every reply is a `Reply`: `ok`, an `error` that says
what is wrong when not ok, and `data` (JSON) when ok.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from vitals_core import safedecode

ALERTER = "alerter"
NOTIFIER = "notifier"


class _Request(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


R = TypeVar("R", bound=_Request)


# --- alerter --------------------------------------------------------------------------------


class Matcher(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Matches an alert label (`host`, `rule`, `severity` or any label); regex with `~`."""

    name: str
    value: str
    op: str = "="  # "=", "!=", "=~", "!~"

    def __post_init__(self) -> None:
        if self.op not in ("=", "!=", "=~", "!~"):
            raise ValueError(f"matcher op must be one of =, !=, =~, !~ (got {self.op!r})")


class Acknowledge(_Request):
    alert_id: str
    by: str
    comment: str = ""


class CreateSilence(_Request):
    matchers: list[Matcher]
    starts_at: float
    ends_at: float
    by: str
    comment: str = ""


class DeleteSilence(_Request):
    id: str
    by: str


class ListSilences(_Request):
    include_expired: bool = False


class ListRules(_Request):
    pass


class AlertHistory(_Request):
    alert_id: str = ""
    host: str = ""
    since: float = 0.0
    limit: int = 200


class AlerterStats(_Request):
    """Every replica answers for itself (no queue group): gather replies to see them all."""


# --- notifier -------------------------------------------------------------------------------


class ListAttempts(_Request):
    receiver: str = ""
    since: float = 0.0
    limit: int = 200


class ListDeadLetters(_Request):
    limit: int = 200


class ReplayDeadLetter(_Request):
    id: str
    by: str


class AttemptRecord(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One delivery attempt, as `attempts_list` returns them (newest last).

    `result`: delivered, retry (another attempt at `next_at`), dead (moved to the dead
    letters), or refused (never sent: an address the notifier may not reach).
    """

    id: str
    receiver: str
    channel: str
    attempt: int
    at: float
    latency_ms: float
    result: str
    status: int | None = None
    error: str = ""
    next_at: float | None = None
    group_key: str = ""


class DeadLetterInfo(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A message the notifier gave up on, as `dead_list` returns them (newest first)."""

    id: str
    receiver: str
    channel: str
    reason: str
    dead_at: float
    created_at: float
    attempts: int
    group_key: str = ""
    alert_ids: list[str] = []
    status: int | None = None


ALERTER_VERBS: dict[str, type[_Request]] = {
    "acknowledge": Acknowledge,
    "silence_create": CreateSilence,
    "silence_delete": DeleteSilence,
    "silence_list": ListSilences,
    "rule_list": ListRules,
    "alert_history": AlertHistory,
    "stats": AlerterStats,
}
NOTIFIER_VERBS: dict[str, type[_Request]] = {
    "attempts_list": ListAttempts,
    "dead_list": ListDeadLetters,
    "dead_replay": ReplayDeadLetter,
}


class Reply(msgspec.Struct, kw_only=True, omit_defaults=True):
    ok: bool
    error: str = ""
    # 404-like answers set `not_found` so the gateway can map them to the right status.
    not_found: bool = False
    data: Any = None


def encode(message: msgspec.Struct) -> bytes:
    return msgspec.json.encode(message)


def decode_request(verb_type: type[R], data: bytes) -> R:
    """Decode a request of a known verb; raises `msgspec.ValidationError` naming the field."""
    # Any failure at all is a DecodeError: a hostile request must not kill the responder.
    result: R = safedecode.decode_as(data, verb_type)
    return result


_reply_decoder = msgspec.json.Decoder(Reply)


def decode_reply(data: bytes) -> Reply:
    return safedecode.decode(_reply_decoder, data)
