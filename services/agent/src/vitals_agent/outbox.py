"""The bounded buffer between collecting and the bus.

Events wait here, oldest first, until JetStream acknowledges them. Each lane (samples,
check results, application metrics) has its own bound so one kind cannot crowd out
another; when a lane is full its oldest event is dropped and counted. Pure: no I/O.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import NamedTuple


class Entry(NamedTuple):
    order: int
    lane: str
    subject: str
    data: bytes
    msg_id: str
    # Earlier drops this event reports (a sample's `dropped`): if it is dropped in turn,
    # they are owed again by the next one.
    carried: int = 0


class Outbox:
    def __init__(self, limits: Mapping[str, int]) -> None:
        if not limits:
            raise ValueError("an outbox needs at least one lane")
        # A lane holds at least one event: the one being sent.
        self._limits = {lane: max(1, n) for lane, n in limits.items()}
        self._lanes: dict[str, deque[Entry]] = {lane: deque() for lane in limits}
        self._dropped = dict.fromkeys(limits, 0)
        self.dropped_total = dict.fromkeys(limits, 0)
        self._order = 0
        self._in_flight: Entry | None = None

    def put(self, lane: str, subject: str, data: bytes, msg_id: str, carried: int = 0) -> int:
        """Queue an event; returns how many the bound dropped to make room (0 or 1)."""
        queue = self._lanes[lane]
        dropped = 0
        if len(queue) >= self._limits[lane]:
            # The event on its way to the bus stays; the oldest of the others goes.
            if queue[0] is self._in_flight and len(queue) > 1:
                gone = queue[1]
                del queue[1]
            else:
                gone = queue.popleft()
            dropped = 1
            self._dropped[lane] += 1 + gone.carried
            self.dropped_total[lane] += 1
        self._order += 1
        queue.append(Entry(self._order, lane, subject, data, msg_id, carried))
        return dropped

    def peek(self) -> Entry | None:
        """The oldest event of all lanes, marked as being sent."""
        heads = [q[0] for q in self._lanes.values() if q]
        self._in_flight = min(heads, key=lambda e: e.order) if heads else None
        return self._in_flight

    def done(self, entry: Entry) -> None:
        """The bus has `entry` (or refused it for good): forget it."""
        queue = self._lanes[entry.lane]
        if queue and queue[0] is entry:
            queue.popleft()
        if self._in_flight is entry:
            self._in_flight = None

    def take_dropped(self, lane: str) -> int:
        """Events of `lane` dropped and not yet reported by an event still queued or sent."""
        n, self._dropped[lane] = self._dropped[lane], 0
        return n

    def lane_size(self, lane: str) -> int:
        return len(self._lanes[lane])

    def __len__(self) -> int:
        return sum(len(q) for q in self._lanes.values())
