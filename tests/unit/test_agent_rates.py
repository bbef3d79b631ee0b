"""Counters to rates: wrap, reset, first reading; and the collection schedule."""

from __future__ import annotations

import pytest

from vitals_agent.rates import AUTO, CounterTracker, counter_delta, rate
from vitals_agent.schedule import next_due, skipped_slots

TOP32 = 2**32
TOP64 = 2**64


@pytest.mark.parametrize(
    ("prev", "cur", "bits", "expected"),
    [
        (100, 250, 64, 150),  # plain progress
        (5, 5, 64, 0),  # no progress
        (TOP32 - 100, 50, 32, 150),  # 32-bit wrap
        (TOP32 - 100, 50, AUTO, 150),  # unknown width, looks like a 32-bit wrap
        (TOP64 - 10, 5, 64, 15),  # 64-bit wrap
        (TOP64 - 10, 5, AUTO, 15),  # unknown width above 2**32: a 64-bit wrap
        (1_000, 10, 64, 0),  # reset of a 64-bit counter: no spike
        (1_000, 10, 32, 0),  # reset: the wrap would be implausibly large
        (1_000, 10, AUTO, 0),
        (5_000_000_000, 10, AUTO, 0),  # above 2**32 and far from 2**64: reset
        (TOP32 + 5, 3, 32, 0),  # a "32-bit" counter above its range: reset
    ],
)
def test_counter_delta(prev: int, cur: int, bits: int, expected: int) -> None:
    assert counter_delta(prev, cur, bits) == expected


@pytest.mark.parametrize(
    ("prev", "cur", "seconds", "expected"),
    [(0, 1000, 2.0, 500.0), (10, 10, 1.0, 0.0), (0, 100, 0.0, 0.0), (100, 0, 1.0, 0.0)],
)
def test_rate(prev: int, cur: int, seconds: float, expected: float) -> None:
    assert rate(prev, cur, seconds) == expected


def test_first_reading_gives_no_rate_then_rates_follow() -> None:
    tracker = CounterTracker(bits=64)
    assert tracker.rates("eth0", 10.0, (1_000_000, 5)) is None
    assert tracker.rates("eth0", 12.0, (1_004_000, 9)) == (2000.0, 2.0)
    # A reset (the interface was re-created) gives no spike, then rates resume.
    assert tracker.rates("eth0", 13.0, (100, 1)) == (0.0, 0.0)
    assert tracker.rates("eth0", 14.0, (400, 3)) == (300.0, 2.0)


def test_per_column_widths_and_time_going_nowhere() -> None:
    tracker = CounterTracker(bits=(64, 32))
    assert tracker.rates("vda", 1.0, (TOP64 - 1, TOP32 - 1)) is None
    assert tracker.rates("vda", 2.0, (1, 1)) == (2.0, 2.0)
    assert tracker.rates("vda", 2.0, (5, 5)) is None  # no time passed


def test_deltas_and_forgetting() -> None:
    tracker = CounterTracker()
    assert tracker.deltas("cpu", (10, 20)) is None
    assert tracker.deltas("cpu", (15, 20)) == (5, 0)
    assert tracker.deltas("cpu", (15, 20, 1)) is None  # a column appeared
    tracker.rates("gone", 1.0, (1,))
    tracker.keep_only(["cpu"])
    assert len(tracker) == 1
    assert tracker.rates("gone", 2.0, (2,)) is None


@pytest.mark.parametrize(
    ("start", "interval", "now", "expected"),
    [
        (100.0, 5.0, 99.0, 100.0),  # not started yet
        (100.0, 5.0, 100.0, 105.0),
        (100.0, 5.0, 101.2, 105.0),
        (100.0, 5.0, 105.0, 110.0),
        (100.0, 1.0, 103.5, 104.0),  # a run that overran skips to the next slot
    ],
)
def test_next_due(start: float, interval: float, now: float, expected: float) -> None:
    assert next_due(start, interval, now) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("previous", "due", "interval", "skipped"),
    [(100.0, 101.0, 1.0, 0), (100.0, 104.0, 1.0, 3), (100.0, 110.0, 5.0, 1)],
)
def test_skipped_slots(previous: float, due: float, interval: float, skipped: int) -> None:
    assert skipped_slots(previous, due, interval) == skipped
