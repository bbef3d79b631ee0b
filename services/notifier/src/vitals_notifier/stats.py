"""The notifier's own counters: what it sent, retried, dropped and refused."""

from __future__ import annotations

from collections import Counter


class Counters(Counter[str]):
    def inc(self, name: str, by: int = 1) -> None:
        self[name] += by

    def snapshot(self) -> dict[str, int]:
        return dict(sorted(self.items()))
