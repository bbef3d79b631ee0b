"""The bounded buffer between collecting and the bus.

Events wait here, oldest first, until JetStream acknowledges them. Each lane (samples,
check results, application metrics) has its own bound so one kind cannot crowd out
another; when a lane is full its oldest waiting event is dropped and counted. Events taken
to be sent leave their lane (the publisher's window bounds how many) and come back to its
front, in order, when their send fails. Pure: no I/O.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
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
        self._limits = {lane: max(1, n) for lane, n in limits.items()}
        self._lanes: dict[str, deque[Entry]] = {lane: deque() for lane in limits}
        self._dropped = dict.fromkeys(limits, 0)
        self.dropped_total = dict.fromkeys(limits, 0)
        self._order = 0
        self._taken = 0  # events out for sending, not yet done or put back

    def put(self, lane: str, subject: str, data: bytes, msg_id: str, carried: int = 0) -> int:
        """Queue an event; returns how many the bound dropped to make room."""
        queue = self._lanes[lane]
        dropped = self._trim(queue, lane, self._limits[lane] - 1)
        self._order += 1
        queue.append(Entry(self._order, lane, subject, data, msg_id, carried))
        return dropped

    def _trim(self, queue: deque[Entry], lane: str, keep: int) -> int:
        # Only waiting events are dropped: those out for sending are not in the lane.
        dropped = 0
        while len(queue) > keep:
            gone = queue.popleft()
            dropped += 1
            self._dropped[lane] += 1 + gone.carried
            self.dropped_total[lane] += 1
        return dropped

    def take(self) -> Entry | None:
        """The oldest waiting event of all lanes, taken out to be sent."""
        oldest: deque[Entry] | None = None
        for queue in self._lanes.values():
            if queue and (oldest is None or queue[0].order < oldest[0].order):
                oldest = queue
        if oldest is None:
            return None
        self._taken += 1
        return oldest.popleft()

    def done(self, entry: Entry) -> None:
        """The bus has a taken `entry` (or refused it for good): forget it."""
        self._taken -= 1

    def put_back(self, entries: Iterable[Entry]) -> None:
        """Taken entries whose send failed: back to the front of their lanes, in order.

        A lane then holds more than its bound for a while; its next `put` drops the excess.
        """
        for entry in sorted(entries, key=lambda e: e.order, reverse=True):
            self._lanes[entry.lane].appendleft(entry)
            self._taken -= 1

    def take_dropped(self, lane: str) -> int:
        """Events of `lane` dropped and not yet reported by an event still queued or sent."""
        n, self._dropped[lane] = self._dropped[lane], 0
        return n

    def lane_size(self, lane: str) -> int:
        return len(self._lanes[lane])

    @property
    def waiting(self) -> int:
        """Events not taken for sending."""
        return sum(len(q) for q in self._lanes.values())

    def __len__(self) -> int:
        """Events not yet on the bus: waiting, and out for sending."""
        return self.waiting + self._taken
