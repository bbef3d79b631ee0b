"""Logging that stays readable while something is down.

A retry loop against a dead server fails every second; one line per failure buries
everything else. `RepeatFilter` (installed on every service's log handler) lets the first
warning of a kind through, holds back the repeats for `every` seconds, then lets one
through saying how many were held. `RateLimitedLog` does the same for one call site.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

REPEAT_EVERY_S = 30.0
MAX_KINDS = 1024  # distinct message kinds tracked; beyond it the oldest is forgotten
KEY_CHARS = 200
_DIGITS = re.compile(r"\d+")


@dataclass
class Hold:
    """When a kind of line was last let through, and how many were held back since."""

    last: float
    held: int = 0


def admit(hold: Hold | None, now: float, every: float) -> tuple[Hold, int | None]:
    """The new state, and `None` to hold this line back or the count held before it."""
    if hold is None:
        return Hold(now), 0
    if now - hold.last < every:
        return Hold(hold.last, hold.held + 1), None
    return Hold(now), hold.held


def held_note(held: int, every: float) -> str:
    return f" ({held} more like this in the last {every:.0f}s were not logged)" if held else ""


class RateLimitedLog:
    """Logs at most one line per `every` seconds, saying how many were held back."""

    def __init__(
        self,
        logger: logging.Logger,
        every: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.every = every
        self.clock = clock
        self._hold: Hold | None = None

    def warning(self, message: str, *args: object) -> None:
        self._hold, held = admit(self._hold, self.clock(), self.every)
        if held is None:
            return
        if held:
            message += f" (and {held} more since the last report)"
        self.logger.warning(message, *args)


class RepeatFilter(logging.Filter):
    """Holds back warnings and errors that repeat one already logged within `every` seconds.

    A kind is the logger and the message with its numbers blanked out: the same failure
    against another port, or on its 5th try, is a repeat; a different reason is not. Lines
    below WARNING always pass.
    """

    def __init__(self, every: float = REPEAT_EVERY_S, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.every = every
        self.clock = clock
        self._holds: dict[tuple[str, str], Hold] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, _DIGITS.sub("#", record.getMessage())[:KEY_CHARS])
        hold, held = admit(self._holds.pop(key, None), self.clock(), self.every)
        self._holds[key] = hold  # re-inserted: the dict stays in least-recently-seen order
        if len(self._holds) > MAX_KINDS:
            del self._holds[next(iter(self._holds))]
        if held is None:
            return False
        if held:
            record.msg = f"{record.msg}{held_note(held, self.every)}"
        return True
