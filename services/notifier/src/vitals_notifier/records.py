"""What the notifier keeps: a notification, its delivery state, and a dead letter."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from typing import TypeAlias

import msgspec

from vitals_core.events import AlertEvent, Annotation

Item: TypeAlias = AlertEvent | Annotation


class Notification(msgspec.Struct, kw_only=True):
    """One message to one receiver: what changed in one group at one flush.

    `id` is the `webhook-id` (and the email's Message-ID); it never changes across retries
    and replays, and the same events flushed to the same receiver give the same id.
    """

    id: str
    receiver: str
    route: str
    group_key: str
    group_labels: dict[str, str]
    events: list[Item]
    created_at: float
    truncated: int = 0
    # For formats that send the whole group (Alertmanager's): its firing alerts and those
    # just resolved, at most `max_events_per_message`, the rest counted.
    group: list[Item] = []
    group_truncated: int = 0


class Delivery(msgspec.Struct, kw_only=True):
    """A notification still to be delivered, as kept in the outbox."""

    notification: Notification
    attempts: int = 0
    # Start of the retry window (creation, or the replay that reopened it).
    first_at: float
    next_at: float
    last_error: str = ""


class DeadLetter(msgspec.Struct, kw_only=True):
    delivery: Delivery
    reason: str
    dead_at: float
    status: int | None = None


def notification_id(receiver: str, group_key: str, event_ids: Iterable[str]) -> str:
    """A Standard Webhooks style id (`msg_…`), derived so a redelivered batch keeps it."""
    digest = hashlib.sha256("\0".join([receiver, group_key, *sorted(event_ids)]).encode())
    return "msg_" + base64.b32encode(digest.digest()[:20]).decode().lower().rstrip("=")


def latest_per_alert(events: Iterable[Item]) -> list[Item]:
    """One entry per alert (its latest event), in the order the alerts first appeared."""
    latest: dict[str, Item] = {}
    for event in events:
        key = event.alert_id if isinstance(event, AlertEvent) else event.id
        seen = latest.get(key)
        if seen is None or event.ts >= seen.ts:
            latest[key] = event
    return list(latest.values())


def is_resolved(event: Item) -> bool:
    return isinstance(event, AlertEvent) and event.event == "resolved"


def status(events: Iterable[Item]) -> str:
    """`resolved` when every alert in the message is resolved, else `firing`."""
    return "resolved" if all(is_resolved(e) for e in events) else "firing"


_encoder = msgspec.json.Encoder()
_delivery = msgspec.json.Decoder(Delivery)
_dead = msgspec.json.Decoder(DeadLetter)


def encode(record: Delivery | DeadLetter) -> bytes:
    return _encoder.encode(record)


def decode_delivery(data: bytes) -> Delivery:
    return _delivery.decode(data)


def decode_dead(data: bytes) -> DeadLetter:
    return _dead.decode(data)
