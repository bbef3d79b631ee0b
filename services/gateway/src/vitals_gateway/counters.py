"""The gateway's own counters, shown on `/metrics`."""

from __future__ import annotations

from collections import Counter


class Counters:
    def __init__(self) -> None:
        self.values: Counter[str] = Counter()

    def inc(self, name: str, by: int = 1) -> None:
        self.values[name] += by

    def get(self, name: str) -> int:
        return self.values[name]
