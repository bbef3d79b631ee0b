"""The alerter's own counters (served by the `stats` control verb) and a quiet logger."""

from __future__ import annotations

import logging
import time
from collections import Counter


class Counters:
    def __init__(self) -> None:
        self.values: Counter[str] = Counter()

    def inc(self, name: str, by: int = 1) -> None:
        self.values[name] += by

    def get(self, name: str) -> int:
        return self.values[name]


class RateLimitedLog:
    """Logs at most one line per `every` seconds, saying how many were held back."""

    def __init__(self, logger: logging.Logger, every: float) -> None:
        self.logger = logger
        self.every = every
        self._last = -float("inf")
        self._held = 0

    def warning(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last < self.every:
            self._held += 1
            return
        if self._held:
            message += f" (and {self._held} more since the last report)"
        self._last, self._held = now, 0
        self.logger.warning(message, *args)
