"""Retry policy: exponential backoff with jitter, bounds, Retry-After."""

from __future__ import annotations

from email.utils import formatdate

import pytest

from vitals_notifier import retry
from vitals_notifier.retry import Policy

P = Policy(base=5.0, max_delay=3600.0, retry_for=86_400.0, max_attempts=10,
           retry_after_max=600.0, jitter=0.5)  # fmt: skip


@pytest.mark.parametrize(
    ("attempt", "rand", "delay"),
    [(1, 0.0, 5.0), (2, 0.0, 10.0), (3, 0.0, 20.0), (4, 0.999999, 20.000004),
     (1, 0.5, 3.75), (12, 0.0, 3600.0), (500, 0.0, 3600.0)],
)  # fmt: skip
def test_backoff_doubles_with_jitter_and_a_cap(attempt: int, rand: float, delay: float) -> None:
    assert retry.backoff(P, attempt, rand) == pytest.approx(delay)


@pytest.mark.parametrize(
    ("attempt", "first_at", "now", "retry_after", "retry_at", "reason"),
    [
        (1, 0.0, 0.0, None, 5.0, ""),
        (3, 0.0, 100.0, None, 120.0, ""),
        (1, 0.0, 0.0, 30.0, 30.0, ""),  # Retry-After longer than the backoff wins
        (3, 0.0, 0.0, 1.0, 20.0, ""),  # and shorter does not shorten it
        (1, 0.0, 0.0, 601.0, None, "Retry-After of 601s exceeds the limit"),
        (10, 0.0, 50.0, None, None, "gave up after 10 attempts"),
        (5, 0.0, 86_380.0, None, None, "still failing after 24.0 h of retries"),
    ],
)
def test_after_failure(
    attempt: int, first_at: float, now: float, retry_after: float | None,
    retry_at: float | None, reason: str,
) -> None:  # fmt: skip
    decision = retry.after_failure(P, attempt, first_at, now, 0.0, retry_after)
    assert decision.retry_at == retry_at
    assert decision.reason == reason


def test_default_policy_spans_a_day() -> None:
    policy, now, attempts = Policy(), 0.0, 0
    while True:
        attempts += 1
        decision = retry.after_failure(policy, attempts, 0.0, now, 0.0)
        if decision.retry_at is None:
            break
        now = decision.retry_at
    assert 20 < attempts < policy.max_attempts
    assert 86_400.0 - 3600.0 < now <= 86_400.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, None), ("", None), ("120", 120.0), (" 7 ", 7.0), ("soon", None), ("-5", None),
     (formatdate(1_000_090.0, usegmt=True), 90.0), (formatdate(999_000.0, usegmt=True), 0.0)],
)  # fmt: skip
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert retry.parse_retry_after(header, now=1_000_000.0) == expected
