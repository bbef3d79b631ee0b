"""Counters to per-second rates: wrap of 32- and 64-bit counters, resets, first samples.

A counter read twice gives a rate; a counter read once gives none (no spike at start). A
counter that went down either wrapped (it was near the top of its range) or was reset
(the device or process restarted): a wrap is followed, a reset counts as no progress for
that one interval, since under-reporting one interval beats reporting a spike.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import NamedTuple

# `bits` of a counter: 32 or 64 when known, AUTO when the kernel or driver decides.
AUTO = 0
_TOP_32 = 1 << 32
_TOP_64 = 1 << 64


class Tick(NamedTuple):
    """One collection instant: wall clock for the sample, monotonic clock for rates."""

    wall: float
    mono: float


def counter_delta(prev: int, cur: int, bits: int = 64) -> int:
    """How far a counter moved from `prev` to `cur`."""
    if cur >= prev:
        return cur - prev
    top = _TOP_32 if bits == 32 or (bits == AUTO and prev < _TOP_32) else _TOP_64
    if prev >= top:
        return 0
    wrapped = top - prev + cur
    # A wrap leaves the counter near zero after being near the top; anything else is a reset.
    return wrapped if wrapped < top // 2 else 0


def rate(prev: int, cur: int, seconds: float, bits: int = 64) -> float:
    """Per-second rate of a counter over `seconds`; 0 when no time passed."""
    if seconds <= 0:
        return 0.0
    return counter_delta(prev, cur, bits) / seconds


class CounterTracker:
    """Remembers the last reading of many keyed counter tuples and turns readings into rates."""

    def __init__(self, bits: int | tuple[int, ...] = 64) -> None:
        self._bits = bits
        self._prev: dict[Hashable, tuple[float, tuple[int, ...]]] = {}

    def rates(
        self, key: Hashable, mono: float, values: tuple[int, ...]
    ) -> tuple[float, ...] | None:
        """Per-second rates since this key's last reading; None on its first reading."""
        prev = self._prev.get(key)
        self._prev[key] = (mono, values)
        if prev is None or len(prev[1]) != len(values):
            return None
        elapsed = mono - prev[0]
        if elapsed <= 0:
            return None
        bits = self._bits
        if isinstance(bits, int):
            return tuple(
                counter_delta(p, c, bits) / elapsed for p, c in zip(prev[1], values, strict=True)
            )
        return tuple(
            counter_delta(p, c, b) / elapsed for p, c, b in zip(prev[1], values, bits, strict=True)
        )

    def deltas(self, key: Hashable, values: tuple[int, ...]) -> tuple[int, ...] | None:
        """Progress since this key's last reading (no clock); None on its first reading."""
        prev = self._prev.get(key)
        self._prev[key] = (0.0, values)
        if prev is None or len(prev[1]) != len(values):
            return None
        bits = self._bits
        widths = (bits,) * len(values) if isinstance(bits, int) else bits
        return tuple(
            counter_delta(p, c, b) for p, c, b in zip(prev[1], values, widths, strict=True)
        )

    def keep_only(self, keys: Iterable[Hashable]) -> None:
        """Forget keys not seen any more (an interface or disk that went away)."""
        alive = set(keys)
        for key in [k for k in self._prev if k not in alive]:
            del self._prev[key]

    def __len__(self) -> int:
        return len(self._prev)
