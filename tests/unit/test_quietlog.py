"""Repeated warnings are held back and counted, not dropped silently."""

from __future__ import annotations

import logging

import pytest

from vitals_core.quietlog import Hold, RateLimitedLog, RepeatFilter, admit
from vitals_core.runtime import setup_logging


@pytest.mark.parametrize(
    ("hold", "now", "expected"),
    [
        (None, 100.0, (Hold(100.0), 0)),  # the first of its kind passes
        (Hold(100.0), 110.0, (Hold(100.0, 1), None)),  # a repeat within the window: held
        (Hold(100.0, 4), 129.9, (Hold(100.0, 5), None)),
        (Hold(100.0, 5), 130.0, (Hold(130.0), 5)),  # the window is over: passes with the count
    ],
)
def test_admit(hold: Hold | None, now: float, expected: tuple[Hold, int | None]) -> None:
    assert admit(hold, now, 30.0) == expected


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def records(logger: logging.Logger, every: float, clock: Clock) -> list[str]:
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    handler = Keep()
    handler.addFilter(RepeatFilter(every, clock))
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return seen


def test_a_failing_retry_loop_logs_once_per_window_with_the_count() -> None:
    clock = Clock()
    log = logging.getLogger("test.quietlog.loop")
    seen = records(log, 30.0, clock)
    for second in range(65):  # a server down for a minute, retried every second
        clock.now = float(second)
        log.warning("NATS error: %s", f"Connect call failed ('127.0.0.1', {14000 + second})")
        log.info("still trying")  # below WARNING: never held
    warnings = [line for line in seen if line.startswith("NATS error")]
    assert warnings == [
        "NATS error: Connect call failed ('127.0.0.1', 14000)",
        "NATS error: Connect call failed ('127.0.0.1', 14030) "
        "(29 more like this in the last 30s were not logged)",
        "NATS error: Connect call failed ('127.0.0.1', 14060) "
        "(29 more like this in the last 30s were not logged)",
    ]
    assert seen.count("still trying") == 65


def test_different_kinds_are_held_separately() -> None:
    clock = Clock()
    log = logging.getLogger("test.quietlog.kinds")
    seen = records(log, 30.0, clock)
    log.warning("rolling up failed: %s", "connection refused")
    log.warning("fetching failed: %s", "connection refused")
    log.warning("rolling up failed: %s", "connection refused")  # a repeat
    log.warning("rolling up failed: %s", "timeout")  # another reason: passes
    log.warning("dropped a malformed event (stream seq %d): %s", 4, "not JSON")
    log.warning("dropped a malformed event (stream seq %d): %s", 5, "missing required field")
    log.warning("dropped a malformed event (stream seq %d): %s", 6, "not JSON")  # a repeat
    assert seen == [
        "rolling up failed: connection refused",
        "fetching failed: connection refused",
        "rolling up failed: timeout",
        "dropped a malformed event (stream seq 4): not JSON",
        "dropped a malformed event (stream seq 5): missing required field",
    ]


def test_rate_limited_log_counts_what_it_held() -> None:
    clock = Clock()
    log = logging.getLogger("test.quietlog.site")
    seen = records(log, 1e9, clock)  # the filter passes everything of a new kind once...
    log.handlers[0].filters.clear()  # ...so drop it: this tests the call-site limiter alone
    quiet = RateLimitedLog(log, 10.0, clock)
    for second in range(12):
        clock.now = float(second)
        quiet.warning("skipped a malformed event on %s", "vitals.metrics.x")
    assert seen == [
        "skipped a malformed event on vitals.metrics.x",
        "skipped a malformed event on vitals.metrics.x (and 9 more since the last report)",
    ]


def test_every_service_logs_through_the_filter() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        setup_logging("agent")
        assert any(isinstance(f, RepeatFilter) for f in root.handlers[0].filters)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
