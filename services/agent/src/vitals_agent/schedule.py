"""When the next run of a periodic job is due; pure, the clock is passed in."""

from __future__ import annotations

import math


def next_due(start: float, interval: float, now: float) -> float:
    """The first time `start + k * interval` (k >= 1) strictly after `now`.

    A run that overran skips the slots it missed instead of bunching up to catch up.
    """
    if now < start:
        return start
    k = math.floor((now - start) / interval) + 1
    return start + k * interval


def skipped_slots(previous_due: float, due: float, interval: float) -> int:
    """Slots between two consecutive runs that went by without one."""
    return max(0, round((due - previous_due) / interval) - 1)
