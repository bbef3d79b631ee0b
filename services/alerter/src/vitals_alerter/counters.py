"""The alerter's own counters (served by the `stats` control verb)."""

from __future__ import annotations

from collections import Counter

from vitals_core.quietlog import RateLimitedLog

__all__ = ["Counters", "RateLimitedLog"]


class Counters:
    def __init__(self) -> None:
        self.values: Counter[str] = Counter()

    def inc(self, name: str, by: int = 1) -> None:
        self.values[name] += by

    def get(self, name: str) -> int:
        return self.values[name]
