"""Delivery channels behind one small interface: send a notification, say how it went."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from vitals_notifier.records import Notification


@dataclass(frozen=True)
class Outcome:
    """How one attempt went.

    `retry`: a failure worth trying again; `gone`: the endpoint asked never to be called
    again (410); `refused`: not sent at all (an address the notifier may not reach).
    """

    ok: bool
    retry: bool = False
    status: int | None = None
    error: str = ""
    retry_after: float | None = None
    gone: bool = False
    refused: bool = False


class Channel(Protocol):
    kind: str

    async def send(self, n: Notification, now: float) -> Outcome: ...

    async def close(self) -> None: ...
