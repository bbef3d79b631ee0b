"""Token buckets and the login verdict."""

from __future__ import annotations

import pytest

from vitals_gateway.ratelimit import TokenBucket, login_verdict, retry_after


def test_bucket_allows_a_burst_then_the_sustained_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=3)
    assert [bucket.take("t", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take("t", 0.0) == pytest.approx(0.5)  # one token every 0.5 s
    assert bucket.take("t", 0.5) == 0.0
    assert bucket.take("t", 0.5) == pytest.approx(0.5)
    assert bucket.take("other", 0.5) == 0.0  # per key
    assert bucket.take("t", 10.0) == 0.0  # refilled, capped at the burst
    assert [bucket.take("t", 10.0) for _ in range(3)][-1] > 0


def test_bucket_keeps_a_bounded_number_of_keys() -> None:
    bucket = TokenBucket(rate=1.0, burst=1, max_keys=10)
    for i in range(100):
        bucket.take(f"k{i}", 0.0)
    assert len(bucket.state) == 10


VERDICTS = [
    # (failures, seconds left) per key, limit -> wait
    ([(0, -2), (0, -2)], 5, None),
    ([(4, 100), (1, 100)], 5, None),
    ([(5, 100), (1, 100)], 5, 100),
    ([(1, 10), (9, 250)], 5, 250),
    ([(5, 0), (0, -2)], 5, 1),
]


@pytest.mark.parametrize(("failures", "limit", "wait"), VERDICTS)
def test_login_verdict(failures: list[tuple[int, int]], limit: int, wait: int | None) -> None:
    assert login_verdict(failures, limit) == wait


@pytest.mark.parametrize(("seconds", "header"), [(0.01, "1"), (1.0, "1"), (1.2, "2"), (59.9, "60")])
def test_retry_after_is_whole_seconds(seconds: float, header: str) -> None:
    assert retry_after(seconds) == header
