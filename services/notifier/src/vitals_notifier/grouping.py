"""Grouping a burst into one message (Alertmanager's group_wait / group_interval / group_by).

Pure: the clock is passed in. A group is per receiver and route, keyed by the values of
its `group_by` fields. The first event of a new group waits `group_wait` so the rest of a
burst joins it; once a group has sent, later events wait until `group_interval` has passed
since that send. A group that stays empty for `group_interval` is forgotten.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from vitals_notifier.routes import View

T = TypeVar("T")


def group_labels(v: View, group_by: Sequence[str]) -> dict[str, str]:
    """The values of the `group_by` fields (`...` groups per alert, like Alertmanager)."""
    names = ("alert_id",) if "..." in group_by else group_by
    return {name: v.value(name) for name in names}


def group_key(receiver: str, route: str, labels: dict[str, str]) -> str:
    """`receiver/route:{a="1",b="2"}`, close to Alertmanager's group keys."""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return f"{receiver}/{route}:{{{inner}}}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


@dataclass
class Group(Generic[T]):
    key: str
    wait: float
    interval: float
    items: list[T] = field(default_factory=list)
    due: float | None = None
    last_flush: float | None = None


@dataclass(frozen=True)
class Batch(Generic[T]):
    key: str
    items: list[T]


class Groups(Generic[T]):
    """Every open group; `add` what arrives, then `pop_due` at `next_due()`.

    A heap of (time, key) holds both flush times and forget times; stale entries are
    skipped when popped, so each call costs O(log n).
    """

    def __init__(self, max_groups: int) -> None:
        self.max_groups = max_groups
        self._groups: dict[str, Group[T]] = {}
        self._heap: list[tuple[float, str]] = []

    def __len__(self) -> int:
        return len(self._groups)

    def add(self, key: str, item: T, now: float, wait: float, interval: float) -> bool:
        """Add `item` to its group; False when the bound on groups leaves no room for it."""
        group = self._groups.get(key)
        if group is None:
            if len(self._groups) >= self.max_groups:
                return False
            group = self._groups[key] = Group(key, wait, interval)
        group.items.append(item)
        if group.due is None:
            group.due = (
                now + group.wait
                if group.last_flush is None
                else max(now, group.last_flush + group.interval)
            )
            heapq.heappush(self._heap, (group.due, key))
        return True

    def next_due(self) -> float | None:
        while self._heap and not self._live(*self._heap[0]):
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def _live(self, at: float, key: str) -> bool:
        group = self._groups.get(key)
        if group is None:
            return False
        if group.due is not None:
            return group.due == at
        return group.last_flush is not None and at == group.last_flush + group.interval

    def pop_due(self, now: float) -> list[Batch[T]]:
        out = []
        while self._heap and self._heap[0][0] <= now:
            at, key = heapq.heappop(self._heap)
            group = self._groups.get(key)
            if group is None:
                continue
            if group.due == at:
                out.append(Batch(group.key, group.items))
                group.items, group.due, group.last_flush = [], None, now
                heapq.heappush(self._heap, (now + group.interval, key))
            elif (
                group.due is None
                and group.last_flush is not None
                and now - group.last_flush >= group.interval
            ):
                # Nothing arrived for a whole interval: the next event starts a new group.
                del self._groups[key]
        return out

    def has(self, key: str) -> bool:
        return key in self._groups

    def pending(self) -> Iterable[T]:
        for group in self._groups.values():
            yield from group.items
